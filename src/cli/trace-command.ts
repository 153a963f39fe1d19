// `knetsim trace --rules DUMP ...` / `--nft DUMP`: one packet (or a batch) through a node built from dumps.
import {
  type DnsLookupWalk,
  type NodeDumps,
  nodeFromDumps,
  type SampleResult,
  type SetLookup,
  type SimNode,
  samplePackets,
  type TraceRequest,
  tracePacket,
} from '../engine';
import { listServices, parseIpvsadmSave, type VirtualService } from '../ipvs';
import { ICMP_ECHO_REQUEST, isLoopback, type L4Protocol, lookupRoute } from '../net';
import { parseMac } from '../netfilter';
import { expectationFailure, parseExpectedOutcome, unmetOutcome, unmetOutcomeCounts } from './expect-outcome';
import { parseAddressArg, parseDestinationArg, parseIcmpTypeArg, parseProtocolArg } from './parse-endpoint';
import { readInput } from './read-input';
import { dnsWalkJson, renderDnsWalk } from './render-dns-walk';
import { renderTrace, styleFor } from './render-trace';
import { UserError } from './user-error';

export interface TraceOptions {
  rules?: string;
  nft?: string;
  ipset?: string;
  ipvs?: string;
  routes?: string;
  ipRules?: string;
  conntrack?: string;
  nodeIp?: string;
  from?: string;
  to?: string;
  proto?: string;
  /** The ICMP message of a --proto icmp packet: a name or TYPE[/CODE] (default echo-request). */
  icmpType?: string;
  sport?: string;
  json?: boolean;
  batch?: string;
  node?: string;
  sample?: string;
  seed?: string;
  mode?: string;
  across?: boolean;
  reply?: boolean;
  length?: string;
  /** The IP header's TTL and TOS byte. */
  ttl?: string;
  tos?: string;
  /** The wall-clock time of the packet (-m time), ISO 8601. */
  at?: string;
  /** The source MAC of the frame (-m mac). */
  srcMac?: string;
  /** The payload as text, with C escapes (\r, \n, \t, \\, \xHH). */
  payload?: string;
  /** false with --no-df. */
  df?: boolean;
  /** The outcome every way the packet may go must end in (exit status 1 otherwise). */
  expect?: string;
  /** The user and group owning the sending socket of a packet made on the node (-m owner). */
  uid?: string;
  gid?: string;
}

/** An id --uid or --gid gives (0 to 4294967294, as the tools take them). */
function ownerId(text: string, flag: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 4294967294) throw new UserError(`${flag}: "${text}" is not a user or group id`);
  return n;
}

/** A header byte --ttl or --tos gives: 0-255, in decimal or 0x hex. */
function headerByte(text: string, flag: string, what: string): number {
  const n = /^(?:\d+|0x[0-9a-f]+)$/i.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 0 && n <= 255)) throw new UserError(`${flag}: "${text}" is not ${what} (0-255)`);
  return n;
}

/** --payload's text as bytes: UTF-8, with the escapes \r \n \t \0 \\ and \xHH. */
export function payloadBytes(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\') {
      out.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const next = text[i + 1];
    const simple: Record<string, number> = { r: 13, n: 10, t: 9, '0': 0, '\\': 92 };
    if (next !== undefined && Object.hasOwn(simple, next)) {
      out.push(simple[next]!);
      i++;
    } else if (next === 'x' && /^[0-9a-f]{2}$/i.test(text.slice(i + 2, i + 4))) {
      out.push(Number.parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else throw new UserError(`--payload: "\\${next ?? ''}" is not an escape (\\r, \\n, \\t, \\0, \\\\, \\xHH)`);
  }
  return Uint8Array.from(out);
}

/** --length, --ttl, --tos, --payload, --no-df, --uid and --gid applied to a request. */
export function withPacketShape(
  request: TraceRequest,
  o: TraceOptions,
  /** A --batch line: options that cannot apply to this line's packet (--src-mac on a packet made here) are passed over. */
  batchLine = false,
): TraceRequest {
  let shaped = request;
  if (o.icmpType !== undefined && request.protocol !== 'icmp')
    throw new UserError('--icmp-type: goes with --proto icmp');
  if (request.protocol === 'icmp') {
    // An ICMP packet's type and code stand where ports do (ICMP_ECHO_REQUEST).
    const { type, code } = o.icmpType === undefined ? ECHO_REQUEST : parseIcmpTypeArg(o.icmpType);
    shaped = { ...shaped, sport: type, dport: code };
  }
  if (o.uid !== undefined || o.gid !== undefined) {
    const uid = o.uid === undefined ? 0 : ownerId(o.uid, '--uid');
    const gid = o.gid === undefined ? 0 : ownerId(o.gid, '--gid');
    if (request.origin.kind === 'local') shaped = { ...shaped, socket: { uid, gid, groups: [gid] } };
    else if (!batchLine)
      throw new UserError(
        '--uid/--gid: only a packet made on the node has a socket (--from one of its addresses or 127.0.0.1)',
      );
  }
  if (o.length !== undefined) {
    const length = Number(o.length);
    if (!(Number.isInteger(length) && length >= 20 && length <= 65535))
      throw new UserError(`--length: "${o.length}" is not an IPv4 packet length (20-65535)`);
    shaped = { ...shaped, length };
  }
  if (o.payload !== undefined) {
    if (o.length !== undefined)
      throw new UserError("--payload: the packet's length follows from it; give --length or --payload, not both");
    shaped = { ...shaped, payload: payloadBytes(o.payload) };
  }
  if (o.at !== undefined) {
    // A date and time without a zone is UTC (as -m time reads its rules).
    const text = /T\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(o.at) ? `${o.at}Z` : o.at;
    const ms = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : Number.NaN;
    if (Number.isNaN(ms))
      throw new UserError(
        `--at: "${o.at}" is not a date and time (YYYY-MM-DDThh:mm[:ss][Z|+hh:mm], UTC unless a zone is given)`,
      );
    shaped = { ...shaped, at: Math.floor(ms / 1000) };
  }
  if (o.srcMac !== undefined) {
    const mac = parseMac(o.srcMac);
    if (mac === null) throw new UserError(`--src-mac: "${o.srcMac}" is not a MAC address (aa:bb:cc:dd:ee:ff)`);
    if (request.origin.kind === 'interface') shaped = { ...shaped, srcMac: mac };
    else if (!batchLine)
      throw new UserError(
        '--src-mac: only a packet arriving on an interface came in a frame (not one made on the node)',
      );
  }
  if (o.ttl !== undefined) shaped = { ...shaped, ttl: headerByte(o.ttl, '--ttl', 'a TTL') };
  if (o.tos !== undefined) shaped = { ...shaped, tos: headerByte(o.tos, '--tos', 'a TOS byte') };
  return o.df === false ? { ...shaped, df: false } : shaped;
}

const ECHO_REQUEST = { type: ICMP_ECHO_REQUEST, code: 0 };

/** --sport as a number: a port from 1 to 65535; an ICMP packet has none. */
export function sourcePortArg(o: TraceOptions, proto: L4Protocol): number | undefined {
  if (o.sport === undefined) return undefined;
  if (proto === 'icmp') throw new UserError('--sport: an ICMP packet has no ports (--icmp-type says which message)');
  const sport = Number(o.sport);
  if (!(Number.isInteger(sport) && sport >= 1 && sport <= 65535))
    throw new UserError(`--sport: "${o.sport}" is not a port (1-65535)`);
  return sport;
}

export type SetLoader = (text: string, file: string) => SetLookup;

export function buildDumpNode(o: TraceOptions, loadSets: SetLoader | null): SimNode {
  if (!o.rules && !o.nft)
    throw new UserError(
      'trace: give a scenario file, or --rules DUMP (an iptables-save dump) and/or --nft DUMP (nft list ruleset)',
    );
  const nodeAddresses = (o.nodeIp ?? '')
    .split(',')
    .filter(Boolean)
    .map((a) => parseAddressArg(a, '--node-ip'));
  let sets: SetLookup | null = null;
  if (o.ipset) {
    if (!loadSets) throw new UserError('--ipset: ipset dumps are not supported');
    sets = loadSets(readInput(o.ipset), o.ipset);
  }
  let ipvs: VirtualService[] = [];
  if (o.ipvs) {
    const parsed = parseIpvsadmSave(readInput(o.ipvs), o.ipvs);
    if (!parsed.ok) throw new UserError(parsed.error.message);
    ipvs = listServices(parsed.value);
  }
  const dumps: NodeDumps = {
    name: o.node ?? 'node',
    ...(o.rules ? { iptables: { text: readInput(o.rules), file: o.rules } } : {}),
    ...(o.nft ? { nft: { text: readInput(o.nft), file: o.nft } } : {}),
    ...(o.routes ? { routes: { text: readInput(o.routes), file: o.routes } } : {}),
    ...(o.ipRules ? { ipRules: { text: readInput(o.ipRules), file: o.ipRules } } : {}),
    ...(o.conntrack ? { conntrack: { text: readInput(o.conntrack), file: o.conntrack } } : {}),
    nodeAddresses,
    sets,
    ipvs,
  };
  const built = nodeFromDumps(dumps);
  if (!built.ok) throw new UserError(built.message);
  return built.node;
}

/** Where a packet from this source enters: a local process, or the interface its address lives behind. */
export function requestFor(node: SimNode, from: string, to: string, proto: L4Protocol, sport?: number): TraceRequest {
  const src = parseAddressArg(from, '--from');
  const { address: dst, port } = parseDestinationArg(to, proto, '--to');
  const local = isLoopback(src) || node.interfaces.some((i) => i.addresses.some((a) => a.address === src));
  let iface = node.defaultInterface;
  if (!local) {
    const back = lookupRoute(node.routes, src);
    const onLink = node.interfaces.find((i) =>
      i.addresses.some((a) => a.prefixLength < 32 && (a.address ^ src) >>> (32 - a.prefixLength) === 0),
    );
    iface = back?.dev ?? onLink?.name ?? node.defaultInterface;
  }
  return {
    src,
    dst,
    protocol: proto,
    dport: port,
    ...(sport !== undefined ? { sport } : {}),
    origin: local ? { kind: 'local' } : { kind: 'interface', iface },
  };
}

interface BatchLine {
  from?: unknown;
  to?: unknown;
  proto?: unknown;
  expect?: unknown;
}

/** Turns one packet's --from/--to into the node to trace on and the request. */
export type PacketResolver = (
  from: string,
  to: string,
  proto: L4Protocol,
  sport?: number,
) => { node: SimNode; request: TraceRequest; dns?: DnsLookupWalk };

export function dumpResolver(node: SimNode): PacketResolver {
  return (from, to, proto, sport) => ({ node, request: requestFor(node, from, to, proto, sport) });
}

export function runTrace(o: TraceOptions, resolve: PacketResolver, out: NodeJS.WriteStream): void {
  const expected = o.expect === undefined ? undefined : parseExpectedOutcome(o.expect, '--expect');
  if (o.batch) {
    const lines = readInput(o.batch).split('\n');
    const results: string[] = [];
    const unmet: string[] = [];
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      let item: BatchLine;
      try {
        item = JSON.parse(line) as BatchLine;
      } catch {
        throw new UserError(`${o.batch}: line ${i + 1}: not a JSON object`);
      }
      if (typeof item.from !== 'string' || typeof item.to !== 'string')
        throw new UserError(`${o.batch}: line ${i + 1}: "from" and "to" must be strings`);
      try {
        const proto = parseProtocolArg(typeof item.proto === 'string' ? item.proto : undefined);
        const expect = item.expect === undefined ? expected : parseExpectedOutcome(item.expect, '"expect"');
        const { node, request, dns } = resolve(item.from, item.to, proto);
        // The packet options (--length, --ttl, --payload, ...) shape every line's packet.
        const traced = tracePacket(node, withPacketShape(request, o, true));
        results.push(JSON.stringify(dns ? { ...traced, dns: dnsWalkJson(dns) } : traced));
        const why = expect === undefined ? null : unmetOutcome(expect, traced.branches);
        if (why !== null) unmet.push(`${o.batch}: line ${i + 1} (${item.from} -> ${item.to}): ${why}`);
      } catch (e) {
        if (e instanceof UserError) throw new UserError(`${o.batch}: line ${i + 1}: ${e.message}`);
        throw e;
      }
    });
    out.write(results.map((r) => `${r}\n`).join(''));
    if (unmet.length > 0) throw expectationFailure(unmet);
    return;
  }
  if (!o.from || !o.to) throw new UserError('trace: --from and --to are required (or --batch FILE)');
  const proto = parseProtocolArg(o.proto);
  const sport = sourcePortArg(o, proto);
  const resolved = resolve(o.from, o.to, proto, sport);
  const node = resolved.node;
  const request = withPacketShape(resolved.request, o);
  if (o.sample !== undefined) {
    const n = Number(o.sample);
    const seed = o.seed === undefined ? 1 : Number(o.seed);
    if (!(Number.isInteger(n) && n >= 1 && n <= 10_000_000))
      throw new UserError(`--sample: "${o.sample}" is not a number of packets (1-10000000)`);
    if (!Number.isInteger(seed)) throw new UserError(`--seed: "${o.seed}" is not an integer`);
    const s = samplePackets(node, request, n, seed);
    out.write(o.json ? `${JSON.stringify(s, null, 2)}\n` : renderSamples(s));
    const why = expected === undefined ? null : unmetOutcomeCounts(expected, s.outcomes);
    if (why !== null) throw expectationFailure([why]);
    return;
  }
  const result = tracePacket(node, request);
  const dns = resolved.dns;
  if (o.json) out.write(`${JSON.stringify(dns ? { ...result, dns: dnsWalkJson(dns) } : result, null, 2)}\n`);
  else out.write(`${dns ? renderDnsWalk(dns, o.from) : ''}${renderTrace(result, styleFor(out))}`);
  const why = expected === undefined ? null : unmetOutcome(expected, result.branches);
  if (why !== null) throw expectationFailure([why]);
}

function renderSamples(s: SampleResult): string {
  const lines = [
    `${s.samples} connections from one client (seed ${s.seed}), one after another, each on one random path:`,
  ];
  for (const [outcome, count] of Object.entries(s.outcomes)) lines.push(`  ${outcome.padEnd(9)} ${count}`);
  for (const e of s.endpoints)
    lines.push(`  -> ${e.address.padEnd(21)} ${e.count} (${((100 * e.count) / s.samples).toFixed(1)}%)`);
  lines.push(`  masqueraded ${s.masqueraded}`);
  return `${lines.join('\n')}\n`;
}
