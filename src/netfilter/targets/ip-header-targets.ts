// TTL, TOS and DSCP rewrite the IP header's time to live and TOS byte (xt_HL,
// xt_DSCP's tos_tg and dscp_tg), so later rules and hops see the new values; the
// kernel registers them for the mangle table only. CLASSIFY sets the priority a
// qdisc sorts the packet by, in any table, where the packet is on its way out.
import type { Hook, ParsedOption, TargetExtension } from '../extension';
import { dscpValue, parseTosValue } from '../matches/ip-header-matches';
import { hexByte, outOfRange, parseCNumber } from '../values';

/** The words libxt_TTL and libxt_TOS give for a second action: the first one named first (unlike a match's). */
function exclusive(options: readonly ParsedOption[]): string | null {
  return options.length > 1 ? `option "${options[0]!.name}" cannot be used together with "${options[1]!.name}".` : null;
}

/** What TTL does to a TTL: set it, or move it within 0-255 (xt_HL saturates). */
export function ttlOperation(option: ParsedOption): ((ttl: number) => number) | string {
  const min = option.name === '--ttl-set' ? 0 : 1;
  const value = parseCNumber(option.args[0] ?? '', 255);
  if (value === null || value < min) return outOfRange(option.name, min, 255);
  if (option.name === '--ttl-set') return () => value;
  if (option.name === '--ttl-dec') return (ttl) => Math.max(0, ttl - value);
  return (ttl) => Math.min(255, ttl + value);
}

export const ttlTarget: TargetExtension = {
  name: 'TTL',
  options: [
    { name: '--ttl-set', args: 1 },
    { name: '--ttl-dec', args: 1 },
    { name: '--ttl-inc', args: 1 },
  ],
  tables: ['mangle'],
  compile(options) {
    if (options.length === 0) return 'You must specify an action';
    const clash = exclusive(options);
    if (clash) return clash;
    const op = ttlOperation(options[0]!);
    if (typeof op === 'string') return op;
    return {
      kind: 'CONTINUE',
      apply: (p) => {
        const before = p.ttl;
        p.ttl = op(before);
        return `TTL ${before} -> ${p.ttl}`;
      },
    };
  },
};

/**
 * The one operation libxt_TOS stores for each option (xt_tos_target_info: new = (old & ~mask) ^
 * value): --set-tos VALUE[/MASK] or a name, --and-tos, --or-tos, --xor-tos.
 */
export function tosOperation(option: ParsedOption): { value: number; mask: number } | string {
  const arg = option.args[0] ?? '';
  if (option.name === '--set-tos') return parseTosValue(arg);
  const bits = parseCNumber(arg, 0xff);
  if (bits === null) return outOfRange(option.name, 0, 255);
  if (option.name === '--and-tos') return { value: 0, mask: ~bits & 0xff };
  if (option.name === '--or-tos') return { value: bits, mask: bits };
  return { value: bits, mask: 0 };
}

export const tosTarget: TargetExtension = {
  name: 'TOS',
  options: [
    { name: '--set-tos', args: 1 },
    { name: '--and-tos', args: 1 },
    { name: '--or-tos', args: 1 },
    { name: '--xor-tos', args: 1 },
  ],
  tables: ['mangle'],
  compile(options) {
    if (options.length === 0) return 'An action is required';
    const clash = exclusive(options);
    if (clash) return clash;
    const op = tosOperation(options[0]!);
    if (typeof op === 'string') return op;
    return {
      kind: 'CONTINUE',
      apply: (p) => {
        const before = p.tos;
        p.tos = ((before & ~op.mask) ^ op.value) & 0xff;
        return `TOS ${hexByte(before)} -> ${hexByte(p.tos)}`;
      },
    };
  },
};

export const dscpTarget: TargetExtension = {
  name: 'DSCP',
  options: [
    { name: '--set-dscp', args: 1 },
    { name: '--set-dscp-class', args: 1 },
  ],
  tables: ['mangle'],
  compile(options) {
    const dscp = dscpValue(options, '--set-dscp', '--set-dscp-class');
    if (typeof dscp === 'string') return dscp;
    return {
      kind: 'CONTINUE',
      apply: (p) => {
        const before = p.tos;
        // The ECN bits stay (ipv4_change_dsfield under the mask ~0xfc).
        p.tos = (before & 0x03) | (dscp.value << 2);
        return `DSCP ${hexByte(before >>> 2)} -> ${hexByte(dscp.value)} (TOS ${hexByte(before)} -> ${hexByte(p.tos)})`;
      },
    };
  },
};

/** A class "MAJOR:MINOR" in hex, as libxt_CLASSIFY reads it (sscanf "%x:%x": each kept to 16 bits); null when bad. */
export function parseClass(text: string): { major: number; minor: number } | null {
  const m = /^\s*(?:0[xX])?([0-9a-fA-F]{1,8}):\s*(?:0[xX])?([0-9a-fA-F]{1,8})/.exec(text);
  if (!m) return null;
  return { major: Number.parseInt(m[1]!, 16) & 0xffff, minor: Number.parseInt(m[2]!, 16) & 0xffff };
}

export function classText(c: { major: number; minor: number }): string {
  const four = (n: number) => n.toString(16).padStart(4, '0');
  return `${four(c.major)}:${four(c.minor)}`;
}

/** xt_CLASSIFY is reached only where the packet is on its way out. */
const CLASSIFY_HOOKS: readonly Hook[] = ['FORWARD', 'OUTPUT', 'POSTROUTING'];

export const classifyTarget: TargetExtension = {
  name: 'CLASSIFY',
  options: [{ name: '--set-class', args: 1 }],
  hooks: CLASSIFY_HOOKS,
  compile(options) {
    const o = options[0];
    if (!o) return 'option "--set-class" must be specified';
    const c = parseClass(o.args[0] ?? '');
    if (c === null) return `Bad class value "${o.args[0]}"`;
    const text = `priority ${c.major.toString(16)}:${c.minor.toString(16)}`;
    return { kind: 'CONTINUE', apply: () => `${text} (the class a qdisc puts it in; knetsim models no queueing)` };
  },
};
