// The Corefile (Caddyfile syntax) as plain data: server blocks with their zones and
// port, each holding plugin directives with arguments and optional nested blocks.
import { fqdn } from './domain-name';

export interface Directive {
  readonly name: string;
  readonly args: readonly string[];
  /** 1-based line in the Corefile. */
  readonly line: number;
  readonly block: readonly Directive[];
}

export interface ServerZone {
  /** Fully qualified, lower case (`.` for the root). */
  readonly zone: string;
  readonly port: number;
}

export interface ServerBlock {
  readonly keys: readonly string[];
  readonly zones: readonly ServerZone[];
  readonly line: number;
  readonly directives: readonly Directive[];
}

export interface Corefile {
  readonly blocks: readonly ServerBlock[];
}

export class CorefileError extends Error {}

interface Token {
  readonly text: string;
  readonly line: number;
  /** A quoted token is never a brace. */
  readonly quoted: boolean;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '"') {
      const start = line;
      let value = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) i++;
        if (text[i] === '\n') line++;
        value += text[i];
        i++;
      }
      if (i >= text.length) throw new CorefileError(`line ${start}: unterminated quoted string`);
      i++;
      tokens.push({ text: value, line: start, quoted: true });
    } else {
      let value = '';
      while (i < text.length && !/[\s#"]/.test(text[i]!)) value += text[i++];
      tokens.push({ text: value, line, quoted: false });
    }
  }
  return tokens;
}

const isOpen = (t: Token | undefined) => t !== undefined && !t.quoted && t.text === '{';
const isClose = (t: Token | undefined) => t !== undefined && !t.quoted && t.text === '}';

/** Parses a server block key (`cluster.local:53`, `.:53`, `dns://.`, `10.0.0.0/24`). */
function parseZoneKey(key: string, line: number): ServerZone[] {
  let rest = key;
  const scheme = /^([a-z+]+):\/\//.exec(rest);
  if (scheme) {
    if (scheme[1] !== 'dns') throw new CorefileError(`line ${line}: server "${key}": only dns:// servers are modelled`);
    rest = rest.slice(scheme[0].length);
  }
  let port = 53;
  const portMatch = /:(\d+)$/.exec(rest);
  if (portMatch) {
    port = Number(portMatch[1]);
    rest = rest.slice(0, -portMatch[0].length);
    if (port < 1 || port > 65535) throw new CorefileError(`line ${line}: server "${key}": ${port} is not a port`);
  }
  if (rest === '') rest = '.';
  const cidr = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(rest);
  if (cidr) return reverseZonesOfCIDR(cidr[1]!, Number(cidr[2]), key, line).map((zone) => ({ zone, port }));
  return [{ zone: fqdn(rest).toLowerCase(), port }];
}

/** An IPv4 CIDR as the in-addr.arpa zones covering it, octet-aligned as CoreDNS splits it. */
function reverseZonesOfCIDR(address: string, bits: number, key: string, line: number): string[] {
  const octets = address.split('.').map(Number);
  if (bits > 32 || octets.some((o) => o > 255)) throw new CorefileError(`line ${line}: "${key}" is not a CIDR`);
  const whole = Math.floor(bits / 8);
  const spare = bits % 8;
  const fixed = octets.slice(0, whole);
  if (spare === 0) return [`${[...fixed].reverse().join('.')}${fixed.length ? '.' : ''}in-addr.arpa.`];
  const base = octets[whole]! & (0xff << (8 - spare));
  const zones: string[] = [];
  for (let v = base; v < base + (1 << (8 - spare)); v++)
    zones.push(`${[v, ...[...fixed].reverse()].join('.')}.in-addr.arpa.`);
  return zones;
}

/** Parses a Corefile; a syntax problem is a CorefileError naming the line. */
export function parseCorefile(text: string): Corefile {
  const tokens = tokenize(text);
  let pos = 0;

  function directives(closing: boolean): Directive[] {
    const out: Directive[] = [];
    for (;;) {
      const t = tokens[pos];
      if (t === undefined) {
        if (closing) throw new CorefileError(`line ${tokens[pos - 1]?.line ?? 1}: missing "}"`);
        return out;
      }
      if (isClose(t)) {
        if (!closing) throw new CorefileError(`line ${t.line}: unexpected "}"`);
        pos++;
        return out;
      }
      if (isOpen(t)) throw new CorefileError(`line ${t.line}: unexpected "{"`);
      pos++;
      const args: string[] = [];
      while (tokens[pos] !== undefined && tokens[pos]!.line === t.line && !isOpen(tokens[pos]) && !isClose(tokens[pos]))
        args.push(tokens[pos++]!.text);
      let block: Directive[] = [];
      if (isOpen(tokens[pos]) && tokens[pos]!.line === t.line) {
        pos++;
        block = directives(true);
      }
      out.push({ name: t.text, args, line: t.line, block });
    }
  }

  const blocks: ServerBlock[] = [];
  while (pos < tokens.length) {
    const first = tokens[pos]!;
    const keys: string[] = [];
    while (pos < tokens.length && !isOpen(tokens[pos])) {
      if (isClose(tokens[pos])) throw new CorefileError(`line ${tokens[pos]!.line}: unexpected "}"`);
      for (const k of tokens[pos++]!.text.split(',')) if (k !== '') keys.push(k);
    }
    if (pos >= tokens.length)
      throw new CorefileError(`line ${first.line}: server block "${keys.join(' ')}" has no "{"`);
    pos++;
    const zones = keys.flatMap((k) => parseZoneKey(k, first.line));
    blocks.push({ keys, zones, line: first.line, directives: directives(true) });
  }
  if (blocks.length === 0) throw new CorefileError('line 1: no server block');
  return { blocks };
}

/** Normalises zone arguments of a plugin the way CoreDNS does (fully qualified, lower case). */
export function normalizeZoneArgs(args: readonly string[], line: number): string[] {
  return args.flatMap((a) => parseZoneKey(a, line).map((z) => z.zone));
}
