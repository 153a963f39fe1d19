// The connections a node already tracks, as `conntrack -L` (or /proc/net/nf_conntrack,
// or `conntrack -L -o extended`) lists them: a trace of a packet of one of them meets
// its entry, with the NAT bound when its first packet passed (a stale UDP entry still
// sending DNS to a deleted pod, say).
import type { ConnTuple, ConntrackEntry } from './conntrack';
import { type IPv4, parseIPv4 } from './ipv4';
import type { L4Protocol } from './packet';

const TRACED_PROTOCOLS: ReadonlyMap<string, L4Protocol> = new Map([
  ['tcp', 'tcp'],
  ['udp', 'udp'],
  ['sctp', 'sctp'],
  ['icmp', 'icmp'],
]);

/** Protocols conntrack lists that no traced packet (TCP, UDP, SCTP, ICMP) can belong to. */
const OTHER_PROTOCOLS = new Set(['icmpv6', 'gre', 'dccp', 'udplite', 'unknown']);

export type ConntrackListResult =
  | { ok: true; entries: ConntrackEntry[]; skipped: number }
  | { ok: false; line: number; message: string };

/**
 * Reads `conntrack -L` output: `PROTO NUM TIMEOUT [STATE] src= dst= sport= dport= [UNREPLIED]
 * src= dst= sport= dport= [ASSURED] mark= ...` (an `ipv4 2` prefix, zones, counters, labels and ids
 * allowed; ICMP's tuples have type= code= id= where others have ports, read as a trace's ICMP
 * packet holds them, the identifier left out). IPv6 entries and protocols no trace carries (GRE,
 * ...) are counted as skipped.
 */
export function parseConntrackList(text: string): ConntrackListResult {
  const entries: ConntrackEntry[] = [];
  let skipped = 0;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    // conntrack's own summary line ("conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.").
    if (!line || line.startsWith('#') || line.startsWith('conntrack v')) continue;
    const words = line.split(/\s+/);
    if (words[0] === 'ipv6') {
      skipped++;
      continue;
    }
    if (words[0] === 'ipv4') words.splice(0, 2);
    const name = words[0]!;
    const protocol = TRACED_PROTOCOLS.get(name);
    if (protocol === undefined) {
      if (OTHER_PROTOCOLS.has(name)) {
        skipped++;
        continue;
      }
      return { ok: false, line: n + 1, message: `"${name}" is not a protocol conntrack lists` };
    }
    const entry = entryOf(words, protocol);
    if (entry === null) {
      skipped++;
      continue;
    }
    if (typeof entry === 'string') return { ok: false, line: n + 1, message: entry };
    entries.push(entry);
  }
  return { ok: true, entries, skipped };
}

/** One line's entry (words from the protocol name on); null for an IPv6 one, a message when unreadable. */
function entryOf(words: readonly string[], protocol: L4Protocol): ConntrackEntry | null | string {
  const timeout = Number(words[2]);
  if (!/^\d+$/.test(words[1] ?? '') || !Number.isInteger(timeout))
    return `"${words.slice(0, 3).join(' ')}" does not start as conntrack's lines do (PROTOCOL NUMBER TIMEOUT)`;
  const tuples: Partial<Record<'src' | 'dst' | 'sport' | 'dport', string>>[] = [{}, {}];
  let t = 0;
  let unreplied = false;
  let assured = false;
  let mark = 0;
  let zone = 0;
  let helper: string | undefined;
  let tcpState: string | undefined;
  // Each tuple's packets= and bytes= (conntrack lists them when accounting is on).
  const counts: { packets?: number; bytes?: number }[] = [{}, {}];
  for (let i = 3; i < words.length; i++) {
    const word = words[i]!;
    if (i === 3 && protocol !== 'udp' && /^[A-Z_0-9]+$/.test(word)) tcpState = word;
    if (word === '[UNREPLIED]') unreplied = true;
    else if (word === '[ASSURED]') assured = true;
    const eq = word.indexOf('=');
    if (eq < 0) continue; // the TCP state, [OFFLOAD], ...
    const written = word.slice(0, eq);
    // An ICMP tuple's type and code stand where ports do (see ICMP_ECHO_REQUEST).
    const key = protocol !== 'icmp' ? written : written === 'type' ? 'sport' : written === 'code' ? 'dport' : written;
    const value = word.slice(eq + 1);
    if (key === 'src' || key === 'dst' || key === 'sport' || key === 'dport') {
      // The reply tuple starts at the second src=.
      if (key === 'src' && tuples[t]!.src !== undefined) t++;
      if (t > 1) return `more than two tuples in "${words.join(' ')}"`;
      tuples[t]![key] = value;
    } else if (key === 'packets' || key === 'bytes') {
      const n = Number(value);
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) return `"${value}" is not a count (${key}=)`;
      counts[t]![key] = n;
    } else if (key === 'helper') {
      helper = value;
    } else if (key === 'zone') {
      const z = Number(value);
      if (!/^\d+$/.test(value) || z > 65535) return `"${value}" is not a conntrack zone (zone=)`;
      zone = z;
    } else if (key === 'mark') {
      const m = Number(value);
      if (!Number.isInteger(m) || m < 0 || m > 0xffffffff) return `"${value}" is not a connection mark`;
      mark = m;
    }
  }
  if (tuples.some((x) => x.src?.includes(':') || x.dst?.includes(':'))) return null;
  const original = tupleOf(tuples[0]!, protocol);
  const reply = tupleOf(tuples[1]!, protocol);
  if (typeof original === 'string') return original;
  if (typeof reply === 'string') return reply;
  const counted = (c: { packets?: number; bytes?: number }) =>
    c.packets === undefined || c.bytes === undefined ? null : { packets: c.packets, bytes: c.bytes };
  const originalCount = counted(counts[0]!);
  const replyCount = counted(counts[1]!);
  return {
    original,
    reply,
    seenReply: !unreplied,
    assured,
    confirmed: true,
    mark,
    timeout,
    listed: true,
    ...(protocol === 'tcp' && tcpState !== undefined ? { tcpState } : {}),
    ...(originalCount && replyCount ? { counters: { original: originalCount, reply: replyCount } } : {}),
    ...(zone !== 0 ? { zone } : {}),
    ...(helper !== undefined ? { helper } : {}),
  };
}

function tupleOf(
  fields: Partial<Record<'src' | 'dst' | 'sport' | 'dport', string>>,
  protocol: L4Protocol,
): ConnTuple | string {
  const address = (key: 'src' | 'dst'): IPv4 | string => {
    const text = fields[key];
    if (text === undefined) return `a tuple without ${key}=`;
    return parseIPv4(text) ?? `"${text}" is not an IPv4 address (${key}=)`;
  };
  const port = (key: 'sport' | 'dport'): number | string => {
    const text = fields[key];
    const icmp = protocol === 'icmp';
    const written = icmp ? (key === 'sport' ? 'type' : 'code') : key;
    if (text === undefined) return `a tuple without ${written}=`;
    const p = Number(text);
    if (/^\d+$/.test(text) && p <= (icmp ? 255 : 65535)) return p;
    return `"${text}" is not ${icmp ? `an ICMP ${written}` : 'a port'} (${written}=)`;
  };
  const src = address('src');
  const dst = address('dst');
  const sport = port('sport');
  const dport = port('dport');
  for (const v of [src, dst, sport, dport]) if (typeof v === 'string') return v;
  return { src: src as IPv4, dst: dst as IPv4, protocol, sport: sport as number, dport: dport as number };
}
