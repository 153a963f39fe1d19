// -m connbytes: how many packets or bytes (or bytes a packet) the packet's
// connection has carried, this packet included, one way or both (xt_connbytes over
// nf_conn_acct). A connection conntrack counts nothing for (no accounting: listed
// without counters), and a packet without a connection, never match.

import { parseCBigInt } from '../../net';
import { type MatchExtension, type NfPacket, optionOf, type ParsedOption } from '../extension';

const DIRECTIONS = ['original', 'reply', 'both'] as const;
const MODES = ['packets', 'bytes', 'avgpkt'] as const;

export interface ConnbytesSpec {
  /** The range as the kernel keeps it: from > to when negated (then outside [to, from] matches). */
  readonly from: bigint;
  readonly to: bigint;
  readonly direction: (typeof DIRECTIONS)[number];
  readonly mode: (typeof MODES)[number];
}

/** An unbounded end (UINT64_MAX): iptables-save leaves it out. */
const NO_END = 0xffffffffffffffffn;

/** "FROM[:TO]" (numbers as strtoull base 0 reads them; an empty end is 0 or unbounded), as libxt_connbytes reads it. */
function parseRange(text: string): { from: bigint; to: bigint } | string {
  const colon = text.indexOf(':');
  const read = (t: string, empty: bigint) => (t === '' ? empty : parseCBigInt(t));
  const from = read(colon < 0 ? text : text.slice(0, colon), 0n);
  const to = colon < 0 ? NO_END : read(text.slice(colon + 1), NO_END);
  if (from === null || to === null)
    return `bad value for option "--connbytes" near "${text}", or out of range (0-18446744073709551615).`;
  if (from > to) return `${from} should be less than ${to}`;
  return { from, to };
}

export function connbytesSpec(options: readonly ParsedOption[]): ConnbytesSpec | string {
  const range = optionOf(options, '--connbytes');
  const dir = optionOf(options, '--connbytes-dir');
  const mode = optionOf(options, '--connbytes-mode');
  if (!range) return 'option "--connbytes" must be specified';
  if (!dir) return 'option "--connbytes-dir" must be specified';
  if (!mode) return 'option "--connbytes-mode" must be specified';
  const r = parseRange(range.args[0] ?? '');
  if (typeof r === 'string') return r;
  const direction = DIRECTIONS.find((d) => d === dir.args[0]);
  if (!direction) return `Unknown --connbytes-dir \`${dir.args[0]}'`;
  const m = MODES.find((x) => x === mode.args[0]);
  if (!m) return `Unknown --connbytes-mode \`${mode.args[0]}'`;
  // "!" swaps the ends (libxt_connbytes), which the kernel reads as "outside".
  return range.negated ? { from: r.to, to: r.from, direction, mode: m } : { ...r, direction, mode: m };
}

/** The count the rule compares, this packet included; null without a connection or its accounting. */
export function connectionCount(spec: ConnbytesSpec, p: NfPacket): number | null {
  const ct = p.ct;
  if (ct === null) return null;
  // A connection this packet opens has counted only it; one met again counts only with accounting.
  const before = ct.counters ?? (ct.confirmed ? null : ZERO);
  if (before === null) return null;
  const mine = ct.direction === 'ORIGINAL';
  const original = {
    packets: before.original.packets + (mine ? 1 : 0),
    bytes: before.original.bytes + (mine ? p.length : 0),
  };
  const reply = { packets: before.reply.packets + (mine ? 0 : 1), bytes: before.reply.bytes + (mine ? 0 : p.length) };
  const packets =
    spec.direction === 'original'
      ? original.packets
      : spec.direction === 'reply'
        ? reply.packets
        : original.packets + reply.packets;
  const bytes =
    spec.direction === 'original'
      ? original.bytes
      : spec.direction === 'reply'
        ? reply.bytes
        : original.bytes + reply.bytes;
  if (spec.mode === 'packets') return packets;
  if (spec.mode === 'bytes') return bytes;
  return packets === 0 ? 0 : Math.floor(bytes / packets);
}

const ZERO = { original: { packets: 0, bytes: 0 }, reply: { packets: 0, bytes: 0 } };

export const connbytesMatch: MatchExtension = {
  name: 'connbytes',
  options: [
    { name: '--connbytes', args: 1, negatable: true },
    { name: '--connbytes-dir', args: 1 },
    { name: '--connbytes-mode', args: 1 },
  ],
  compile(options) {
    const spec = connbytesSpec(options);
    if (typeof spec === 'string') return spec;
    return {
      test: (p) => {
        const what = connectionCount(spec, p);
        if (what === null) return false;
        // Counts and bounds compare as numbers and bigints do (exactly, whatever their size).
        return spec.to >= spec.from ? what >= spec.from && what <= spec.to : what < spec.to || what > spec.from;
      },
    };
  },
};

/** The match as libxt_connbytes prints it: "!" when the ends are swapped, the range, then mode and direction. */
export function connbytesText(spec: ConnbytesSpec): string {
  const negated = spec.from > spec.to;
  const [from, to] = negated ? [spec.to, spec.from] : [spec.from, spec.to];
  // print_from_to: the upper end only when it is neither 0 nor unbounded.
  return `${negated ? ' !' : ''} --connbytes ${from}${to === NO_END || to === 0n ? '' : `:${to}`} --connbytes-mode ${spec.mode} --connbytes-dir ${spec.direction}`;
}
