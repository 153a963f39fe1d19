// A rule as `nft list ruleset` prints it: the kernel's canonical form (meta
// keywords spelled out, marks as 32-bit hex, a one-element anonymous set as its element).
import type { Expr, NftElement, NftRuleBody, SetRef, Stmt } from './expression';

const BARE_IN_LIST = new Set(['iifname', 'oifname', 'iif', 'oif']);
const BITWISE_SYMBOL = { and: '&', or: '|', xor: '^' } as const;

function hex32(value: string): string {
  const n = Number(value);
  return Number.isInteger(n) ? `0x${(n >>> 0).toString(16).padStart(8, '0')}` : value;
}

function isMark(e: Expr): boolean {
  return (e.kind === 'meta' && e.key === 'mark') || (e.kind === 'ct' && e.key === 'mark');
}

export function formatExpr(e: Expr): string {
  switch (e.kind) {
    case 'payload':
      return `${e.proto} ${e.field}`;
    case 'meta':
      return BARE_IN_LIST.has(e.key) ? e.key : `meta ${e.key}`;
    case 'fib':
      return `fib ${e.flag}${e.mark ? ' . mark' : ''}${e.iif ? ' . iif' : ''}${e.oif ? ' . oif' : ''} ${e.result}`;
    case 'ct':
      return `ct ${e.key}`;
    case 'numgen':
      return `numgen ${e.mode} mod ${e.mod}${e.offset ? ` offset ${e.offset}` : ''}`;
    case 'hash':
      return `${e.mode}${e.input ? ` ${formatExpr(e.input)}` : ''} mod ${e.mod}${e.seed !== null ? ` seed ${e.seed}` : ''}${e.offset ? ` offset ${e.offset}` : ''}`;
    case 'concat':
      return e.parts.map(formatExpr).join(' . ');
    case 'bitwise':
      return `${formatExpr(e.left)} ${BITWISE_SYMBOL[e.op]} ${isMark(e.left) ? hex32(e.value) : flagList(e.value)}`;
  }
}

export function formatElement(e: NftElement): string {
  let s = e.key.join(' . ');
  if (e.timeout !== undefined) s += ` timeout ${e.timeout}`;
  if (e.comment !== undefined) s += ` comment "${e.comment}"`;
  if (e.value !== undefined) s += ` : ${e.value}`;
  return s;
}

export function formatElements(elements: readonly NftElement[], style: 'list' | 'transaction'): string {
  const sep = style === 'list' ? ', ' : ' , ';
  return `{ ${elements.map(formatElement).join(sep)} }`;
}

/** The first address of an IPv4 address, prefix or range element, or null for anything else. */
function startAddress(text: string): number | null {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)(?:[/-].*)?$/.exec(text);
  return m ? ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0 : null;
}

function formatSetRef(ref: SetRef): string {
  if (ref.kind === 'named') return `@${ref.name}`;
  if (ref.elements.length === 1 && ref.elements[0]!.value === undefined) return formatElement(ref.elements[0]!);
  // The kernel keeps an anonymous address set as intervals, and lists them in address order.
  const starts = ref.elements.map((e) => (e.key.length === 1 ? startAddress(e.key[0]!) : null));
  if (starts.every((x) => x !== null)) {
    const order = ref.elements.map((e, i) => ({ e, at: starts[i]! })).sort((a, b) => a.at - b.at);
    return formatElements(
      order.map((x) => x.e),
      'list',
    );
  }
  return formatElements(ref.elements, 'list');
}

function comparedValue(left: Expr, right: string): string {
  return left.kind === 'bitwise' && isMark(left.left) ? hex32(right) : isMark(left) ? hex32(right) : right;
}

export function formatStmt(s: Stmt): string {
  switch (s.kind) {
    case 'match': {
      const op = s.op === '==' ? (s.left.kind === 'bitwise' ? '== ' : '') : `${s.op} `;
      return `${formatExpr(s.left)} ${op}${comparedValue(s.left, s.right)}`;
    }
    case 'lookup':
      return `${formatExpr(s.left)} ${s.op === '!=' ? '!= ' : ''}${formatSetRef(s.set)}`;
    case 'vmap':
      return `${formatExpr(s.key)} vmap ${formatSetRef(s.map)}`;
    case 'verdict':
      return s.chain === undefined ? s.verdict : `${s.verdict} ${s.chain}`;
    case 'reject':
      return s.with === undefined ? 'reject' : `reject with ${s.with}`;
    case 'counter':
      return `counter packets ${s.packets ?? 0} bytes ${s.bytes ?? 0}`;
    case 'dnat':
    case 'snat': {
      // A map as nft lists it: `to KEY map {...}`, or `to ADDR:KEY map {...}` for ports.
      const to = s.map
        ? `${s.map.address !== null ? `${s.map.address}:` : ''}${formatExpr(s.map.key)} map ${formatSetRef(s.map.ref)}`
        : s.to;
      return `${s.kind}${s.family ? ` ${s.family}` : ''} to ${to}${s.flags.length ? ` ${s.flags.join(',')}` : ''}`;
    }
    case 'masquerade':
    case 'redirect': {
      const ports =
        s.ports === null ? '' : ` to :${s.ports.min}${s.ports.max !== s.ports.min ? `-${s.ports.max}` : ''}`;
      return `${s.kind}${ports}${s.flags.length ? ` ${s.flags.join(',')}` : ''}`;
    }
    case 'mark-set': {
      const target = s.target === 'ct' ? 'ct mark' : 'meta mark';
      return `${target} set ${typeof s.value === 'string' ? hex32(s.value) : formatExpr(s.value)}`;
    }
    case 'set-update':
      return `${s.op} @${s.set} { ${formatExpr(s.key)} }`;
    case 'nftrace':
      return 'meta nftrace set 1';
    case 'notrack':
      return 'notrack';
    case 'zone-set':
      return `ct zone set ${s.zone}`;
    case 'helper-set':
      return s.name !== null
        ? `ct helper set "${s.name}"`
        : `ct helper set ${formatExpr(s.map!.key)} map ${formatSetRef(s.map!.ref)}`;
    case 'queue': {
      const to = s.first === s.last ? `${s.first}` : `${s.first}-${s.last}`;
      // queue_stmt_print: the flags in its own order.
      const flags = ['bypass', 'fanout'].filter((f) => s.flags.includes(f));
      return `queue${flags.length ? ` flags ${flags.join(',')}` : ''} to ${to}`;
    }
    case 'log':
      return `log${s.prefix === undefined ? '' : ` prefix "${s.prefix}"`}${s.options?.length ? ` ${s.options.join(' ')}` : ''}`;
    case 'limit':
      return `limit rate ${s.over ? 'over ' : ''}${s.rate}`;
    case 'xt':
      return `xt ${s.what} ${s.name}`;
  }
}

/** The rule line inside `chain X { ... }` of `nft list ruleset`. */
export function formatRuleForList(body: NftRuleBody): string {
  const parts = body.stmts.map(formatStmt);
  if (body.comment !== undefined) parts.push(`comment "${body.comment}"`);
  return parts.join(' ');
}

/** A mask of TCP flag names as nft prints one after `&`: "(fin|syn|rst|ack)"; a number as written. */
function flagList(value: string): string {
  if (!/^[a-z]+(,[a-z]+)*$/.test(value)) return value;
  return `(${value.split(',').join('|')})`;
}
