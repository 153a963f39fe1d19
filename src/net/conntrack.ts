// Connection tracking: tuples in both directions, the NAT bindings made on a
// connection's first packet, and the states `-m conntrack` / `-m state` test.
import { formatIPv4, type IPv4 } from './ipv4';
import { icmpCounterpart, type L4Protocol, type Packet } from './packet';

export interface ConnTuple {
  readonly src: IPv4;
  readonly dst: IPv4;
  readonly protocol: L4Protocol;
  readonly sport: number;
  readonly dport: number;
}

export type CtState = 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID' | 'UNTRACKED';
export type CtDirection = 'ORIGINAL' | 'REPLY';

export interface ConntrackEntry {
  readonly original: ConnTuple;
  /** The tuple a reply carries: NAT bindings are written here (DNAT changes its source, SNAT its destination). */
  readonly reply: ConnTuple;
  readonly seenReply: boolean;
  readonly assured: boolean;
  readonly confirmed: boolean;
  readonly mark: number;
  /** Seconds the entry lives without traffic, from the kernel's default sysctls. */
  readonly timeout: number;
  /** A TCP connection's state as conntrack lists it (ESTABLISHED, TIME_WAIT...), when read from a listing. */
  readonly tcpState?: string;
  /** Read from the node's `conntrack -L` (a trace then shows the entry as listed). */
  readonly listed?: true;
  /**
   * Packets and bytes each way so far (nf_conn_acct), when the connection has accounting: a listing
   * with counters, or a connection a trace made and kept. Absent: none (-m connbytes never matches).
   */
  readonly counters?: ConnCounters;
  /** The conntrack zone (CT --zone): a connection is found only by packets of its zone. Absent: zone 0. */
  readonly zone?: number;
  /** The conntrack helper attached to the connection (CT --helper, ct helper set): ftp, sip, ... */
  readonly helper?: string;
}

/** A connection's packets and bytes, in the original direction and the reply's. */
export interface ConnCounters {
  readonly original: { readonly packets: number; readonly bytes: number };
  readonly reply: { readonly packets: number; readonly bytes: number };
}

/**
 * TCP states in which a SYN reopens the connection (nf_conntrack_proto_tcp: from TIME_WAIT or CLOSE
 * the old entry is killed and the SYN looked up again, as a new connection).
 */
export const TCP_REOPENABLE_STATES: ReadonlySet<string> = new Set(['TIME_WAIT', 'CLOSE']);

export function tupleOf(packet: Packet): ConnTuple {
  return { src: packet.src, dst: packet.dst, protocol: packet.protocol, sport: packet.sport, dport: packet.dport };
}

/**
 * The tuple of the other direction. ICMP's has the answering type (an echo request's reply is an
 * echo reply) and the same code; a type with no counterpart keeps its own.
 */
export function invertTuple(t: ConnTuple): ConnTuple {
  if (t.protocol === 'icmp')
    return { src: t.dst, dst: t.src, protocol: 'icmp', sport: icmpCounterpart(t.sport) ?? t.sport, dport: t.dport };
  return { src: t.dst, dst: t.src, protocol: t.protocol, sport: t.dport, dport: t.sport };
}

export function tupleKey(t: ConnTuple, zone = 0): string {
  const key = `${t.protocol} ${t.src}:${t.sport}>${t.dst}:${t.dport}`;
  return zone === 0 ? key : `${key}@${zone}`;
}

export function formatTuple(t: ConnTuple): string {
  const ports = t.protocol === 'icmp' ? `type=${t.sport} code=${t.dport}` : `sport=${t.sport} dport=${t.dport}`;
  return `${t.protocol} src=${formatIPv4(t.src)} dst=${formatIPv4(t.dst)} ${ports}`;
}

/** Timeouts of a connection that has not been answered yet (nf_conntrack_*_timeout_* defaults). */
const UNREPLIED_TIMEOUT: Readonly<Record<L4Protocol, number>> = { tcp: 120, udp: 30, sctp: 3, icmp: 30 };
const REPLIED_TIMEOUT: Readonly<Record<L4Protocol, number>> = { tcp: 432000, udp: 120, sctp: 210, icmp: 30 };

export function newEntry(original: ConnTuple, mark = 0): ConntrackEntry {
  return {
    original,
    reply: invertTuple(original),
    seenReply: false,
    assured: false,
    confirmed: false,
    mark,
    timeout: UNREPLIED_TIMEOUT[original.protocol],
  };
}

// ICMP has no ports to map: its NAT changes addresses only (the kernel may change an echo's
// identifier on a clash, which knetsim does not model), so ICMP bindings leave type and code alone.

export function isDnat(entry: ConntrackEntry): boolean {
  if (entry.reply.src !== entry.original.dst) return true;
  return entry.original.protocol !== 'icmp' && entry.reply.sport !== entry.original.dport;
}

export function isSnat(entry: ConntrackEntry): boolean {
  if (entry.reply.dst !== entry.original.src) return true;
  return entry.original.protocol !== 'icmp' && entry.reply.dport !== entry.original.sport;
}

/** Binds a destination NAT: replies will come from the new destination. */
export function bindDnat(entry: ConntrackEntry, address: IPv4, port: number): ConntrackEntry {
  if (entry.reply.protocol === 'icmp') return { ...entry, reply: { ...entry.reply, src: address } };
  return { ...entry, reply: { ...entry.reply, src: address, sport: port } };
}

/** Binds a source NAT: replies will be addressed to the new source. */
export function bindSnat(entry: ConntrackEntry, address: IPv4, port: number): ConntrackEntry {
  if (entry.reply.protocol === 'icmp') return { ...entry, reply: { ...entry.reply, dst: address } };
  return { ...entry, reply: { ...entry.reply, dst: address, dport: port } };
}

export function markSeenReply(entry: ConntrackEntry): ConntrackEntry {
  return {
    ...entry,
    seenReply: true,
    // UDP becomes assured only when it sees more traffic both ways; ICMP never does (a query and its answer).
    assured: entry.original.protocol === 'udp' || entry.original.protocol === 'icmp' ? entry.assured : true,
    timeout: REPLIED_TIMEOUT[entry.original.protocol],
  };
}

/** The state a packet of this entry has in the given direction, as xt_conntrack reports it. */
export function stateOf(entry: ConntrackEntry | null, direction: CtDirection): CtState {
  if (!entry) return 'INVALID';
  if (direction === 'REPLY' || entry.seenReply) return 'ESTABLISHED';
  return 'NEW';
}

/**
 * Rewrites a packet of a tracked connection as NAT does for later packets: the
 * original direction takes the reply tuple's inverse, the reply direction the
 * original's inverse.
 */
export function translate(packet: Packet, entry: ConntrackEntry, direction: CtDirection): Packet {
  const target = direction === 'ORIGINAL' ? invertTuple(entry.reply) : invertTuple(entry.original);
  return { ...packet, src: target.src, dst: target.dst, sport: target.sport, dport: target.dport };
}

/** The table of tracked connections, looked up by either direction's tuple. */
export class ConntrackTable {
  private readonly byTuple = new Map<string, { entry: ConntrackEntry; direction: CtDirection }>();
  lookups = 0;

  lookup(tuple: ConnTuple, zone = 0): { entry: ConntrackEntry; direction: CtDirection } | null {
    this.lookups++;
    // An empty table (every trace that commits nothing) answers without making the key.
    if (this.byTuple.size === 0) return null;
    return this.byTuple.get(tupleKey(tuple, zone)) ?? null;
  }

  /** Confirms an entry (its first packet left the node or was delivered): both tuples become findable. */
  confirm(entry: ConntrackEntry): ConntrackEntry {
    const confirmed = { ...entry, confirmed: true };
    this.byTuple.set(tupleKey(confirmed.original, entry.zone), { entry: confirmed, direction: 'ORIGINAL' });
    this.byTuple.set(tupleKey(confirmed.reply, entry.zone), { entry: confirmed, direction: 'REPLY' });
    return confirmed;
  }

  update(entry: ConntrackEntry): void {
    this.byTuple.set(tupleKey(entry.original, entry.zone), { entry, direction: 'ORIGINAL' });
    this.byTuple.set(tupleKey(entry.reply, entry.zone), { entry, direction: 'REPLY' });
  }

  /** Whether a tuple is already used by another connection (a NAT binding must not clash). */
  inUse(tuple: ConnTuple): boolean {
    return this.byTuple.has(tupleKey(tuple));
  }

  entries(): ConntrackEntry[] {
    const seen = new Set<ConntrackEntry>();
    for (const { entry } of this.byTuple.values()) seen.add(entry);
    return [...seen];
  }

  get size(): number {
    return this.byTuple.size / 2;
  }
}

/** `conntrack -L` style line. */
export function formatEntry(entry: ConntrackEntry): string {
  // conntrack's order: each tuple with its counters (with accounting on), then mark, zone, helper.
  const count = (c: { packets: number; bytes: number } | undefined) =>
    c === undefined ? '' : ` packets=${c.packets} bytes=${c.bytes}`;
  // An ICMP tuple as conntrack lists it, less the echo identifier (id=), which knetsim does not model.
  const t = (x: ConnTuple) =>
    `src=${formatIPv4(x.src)} dst=${formatIPv4(x.dst)} ${x.protocol === 'icmp' ? `type=${x.sport} code=${x.dport}` : `sport=${x.sport} dport=${x.dport}`}`;
  const proto = entry.original.protocol;
  const num = { tcp: 6, udp: 17, sctp: 132, icmp: 1 }[proto];
  const state = proto === 'tcp' ? ` ${entry.tcpState ?? (entry.seenReply ? 'ESTABLISHED' : 'SYN_SENT')}` : '';
  return `${proto.padEnd(8)} ${num} ${entry.timeout}${state} ${t(entry.original)}${count(entry.counters?.original)}${entry.seenReply ? '' : ' [UNREPLIED]'} ${t(entry.reply)}${count(entry.counters?.reply)}${entry.assured ? ' [ASSURED]' : ''} mark=${entry.mark}${entry.zone ? ` zone=${entry.zone}` : ''}${entry.helper ? ` helper=${entry.helper}` : ''} use=1`;
}
