// -m string: a byte pattern searched for in the packet (xt_string through the
// kernel's textsearch, Boyer-Moore or Knuth-Morris-Pratt: both find the same
// first occurrence), between --from and --to, offsets counted from the start of
// the IP header. knetsim knows a packet's payload only when the trace gives it
// (`trace --payload`); headers are not searched, so a pattern that lies in the
// payload is found where the kernel finds it, and a packet whose payload is not
// given is taken not to contain the pattern.
import { type MatchExtension, type NfPacket, optionOf, type ParsedOption } from '../extension';
import { excludeEachOther, parseCNumber } from '../values';

/** XT_STRING_MAX_PATTERN_SIZE. */
const MAX_PATTERN = 128;
/** The textsearch algorithms knetsim searches with; fsm is a pattern language of its own (not modelled). */
const ALGORITHMS: ReadonlySet<string> = new Set(['bm', 'kmp']);
const DEFAULT_TO = 65535;

/** The bytes of an argument as iptables gets it (the file's UTF-8). */
function bytesOf(text: string): number[] {
  return [...Buffer.from(text, 'utf8')];
}

/**
 * A --hex-string pattern as libxt_string's parse_hex_string reads it: text with |hex| blocks (spaces
 * allowed between the pairs) and \-escaped literal characters; a message when it is bad.
 */
export function parseHexPattern(text: string): number[] | string {
  if (text.length === 0) return 'STRING must contain at least one char';
  const s = bytesOf(text);
  const out: number[] = [];
  const isHex = (c: number | undefined) =>
    c !== undefined && ((c >= 48 && c <= 57) || ((c | 0x20) >= 97 && (c | 0x20) <= 102));
  let hex = false;
  let literal = false;
  let i = 0;
  while (i < s.length) {
    if (s[i] === 0x5c && !hex) literal = true;
    else if (s[i] === 0x5c) return 'Cannot include literals in hex data';
    else if (s[i] === 0x7c) {
      if (hex) hex = false;
      else {
        hex = true;
        while (s[i + 1] === 0x20) i++;
      }
      if (i + 1 >= s.length) break;
      i++;
    }
    if (literal) {
      if (i + 1 >= s.length) return 'Bad literal placement at end of string';
      out.push(s[i + 1]!);
      i += 2;
      literal = false;
    } else if (hex) {
      if (i + 1 >= s.length) return 'Odd number of hex digits';
      if (i + 2 >= s.length) return 'Invalid hex block';
      if (!isHex(s[i])) return `Invalid hex char '${String.fromCharCode(s[i]!)}'`;
      if (!isHex(s[i + 1])) return `Invalid hex char '${String.fromCharCode(s[i + 1]!)}'`;
      out.push(Number.parseInt(String.fromCharCode(s[i]!, s[i + 1]!), 16));
      i += s[i + 2] === 0x20 ? 3 : 2;
    } else {
      out.push(s[i]!);
      i++;
    }
    if (out.length > MAX_PATTERN + 1) return `STRING too long "${text}"`;
  }
  return out;
}

export interface StringSpec {
  readonly pattern: readonly number[];
  readonly negated: boolean;
  readonly algo: string;
  readonly from: number;
  readonly to: number;
  readonly icase: boolean;
}

/** The match's pattern, window and flags, or the message iptables (or the kernel) gives. */
export function stringSpec(options: readonly ParsedOption[]): StringSpec | string {
  const algo = optionOf(options, '--algo');
  if (!algo) return 'option "--algo" must be specified';
  const text = optionOf(options, '--string');
  const hex = optionOf(options, '--hex-string');
  const both = excludeEachOther(options, '--string', '--hex-string');
  if (both) return both;
  if (!text && !hex) return "You must specify `--string' or `--hex-string'";
  let pattern: number[];
  if (text) {
    pattern = bytesOf(text.args[0] ?? '');
    if (pattern.length > MAX_PATTERN) return `STRING too long "${text.args[0]}"`;
  } else {
    const parsed = parseHexPattern(hex!.args[0] ?? '');
    if (typeof parsed === 'string') return parsed;
    pattern = parsed;
  }
  const offset = (name: string, fallback: number): number | string => {
    const o = optionOf(options, name);
    if (!o) return fallback;
    const n = parseCNumber(o.args[0] ?? '', 65535);
    return n === null ? `bad value for option "${name}", or out of range (0-65535).` : n;
  };
  const from = offset('--from', 0);
  if (typeof from === 'string') return from;
  const to = offset('--to', DEFAULT_TO);
  if (typeof to === 'string') return to;
  const name = algo.args[0] ?? '';
  if (!ALGORITHMS.has(name))
    return name === 'fsm'
      ? 'algorithm fsm (a pattern language of its own) is not modelled'
      : `algorithm "${name}": the kernel has no such text search`;
  // xt_string's checkentry: an empty window and an empty pattern are refused.
  if (from > to) return `--from ${from} is beyond --to ${to}`;
  if (pattern.length === 0) return 'STRING must contain at least one char';
  return {
    pattern,
    negated: (text ?? hex)!.negated,
    algo: name,
    from,
    to,
    icase: optionOf(options, '--icase') !== undefined,
  };
}

/** Where the payload starts, counted from the IP header: after the transport header Linux writes. */
export function payloadOffset(p: NfPacket): number {
  switch (p.protocol) {
    case 'tcp':
      // Linux's SYN carries 20 bytes of options (MSS, SACK permitted, timestamps, window scale), later segments 12.
      return 20 + (p.tcpFlags?.syn ? 40 : 32);
    case 'udp':
      return 28;
    case 'sctp':
      return 32;
    case 'icmp':
      return 28;
  }
}

const upper = (b: number) => (b >= 97 && b <= 122 ? b - 32 : b);

/** Whether the pattern lies wholly within the window, in the payload's bytes. */
export function findsPattern(spec: StringSpec, p: NfPacket): boolean {
  const payload = p.payload;
  if (!payload) return false;
  const start = payloadOffset(p);
  const end = Math.min(spec.to, start + payload.length);
  const pattern = spec.pattern;
  const n = pattern.length;
  for (let at = Math.max(spec.from, start); at + n <= end; at++) {
    let k = 0;
    for (; k < n; k++) {
      const a = payload[at - start + k]!;
      const b = pattern[k]!;
      if (a !== b && !(spec.icase && upper(a) === upper(b))) break;
    }
    if (k === n) return true;
  }
  return false;
}

export const stringMatch: MatchExtension = {
  name: 'string',
  options: [
    { name: '--from', args: 1 },
    { name: '--to', args: 1 },
    { name: '--algo', args: 1 },
    { name: '--icase', args: 0 },
    { name: '--string', args: 1, negatable: true },
    { name: '--hex-string', args: 1, negatable: true },
  ],
  compile(options) {
    const spec = stringSpec(options);
    if (typeof spec === 'string') return spec;
    return { test: (p) => findsPattern(spec, p) !== spec.negated };
  },
};

/** The pattern as libxt_string's save prints it: --hex-string when a byte is not printable or it ends in "\". */
export function stringPatternText(spec: StringSpec): string {
  const bytes = spec.pattern;
  const hex = bytes.some((b) => b < 0x20 || b > 0x7e) || bytes[bytes.length - 1] === 0x5c;
  if (hex) return ` --hex-string "|${bytes.map((b) => b.toString(16).padStart(2, '0')).join('')}|"`;
  // print_string escapes quotes and backslashes.
  const text = bytes
    .map((b) => (b === 0x22 || b === 0x5c ? `\\${String.fromCharCode(b)}` : String.fromCharCode(b)))
    .join('');
  return ` --string "${text}"`;
}
