// What a match or target extension is: its options (as iptables' getopt knows
// them) and how its parsed options compile into a test or an action.
import type { ConnCounters, ConnTuple, CtDirection, CtState, IPv4, L4Protocol, TcpFlags } from '../net';

export type TableName = 'raw' | 'mangle' | 'nat' | 'filter' | 'security';
export type Hook = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';

export interface OptionSpec {
  readonly name: string;
  /** Number of argument tokens that follow the option. */
  readonly args: number;
  readonly negatable?: boolean;
  /** May be given more than once in one match or target (-m policy's per-element options); others may not. */
  readonly repeatable?: boolean;
}

export interface ParsedOption {
  readonly name: string;
  readonly negated: boolean;
  readonly args: readonly string[];
}

/** The conntrack facts a match may read. */
export interface PacketConntrack {
  readonly state: CtState;
  readonly direction: CtDirection;
  readonly original: ConnTuple;
  readonly reply: ConnTuple;
  readonly seenReply: boolean;
  readonly assured: boolean;
  readonly confirmed: boolean;
  readonly mark: number;
  /** Packets and bytes each way before this packet, when the connection has accounting (-m connbytes). */
  readonly counters?: ConnCounters | undefined;
}

/** The packet as one table's rules see it at one hook. */
export interface NfPacket {
  src: IPv4;
  dst: IPv4;
  protocol: L4Protocol;
  sport: number;
  dport: number;
  length: number;
  tcpFlags: TcpFlags | null;
  fragment: boolean;
  /** The don't-fragment bit (unset means set: TCP and PMTU-discovering UDP sockets set it). */
  df?: boolean;
  /** Time to live: ip_forward takes one off before FORWARD (and drops the packet at 1); TTL rewrites it. */
  ttl: number;
  /** The TOS byte: the DSCP in its upper six bits, ECN in the lower two (-m tos/-m dscp; TOS/DSCP rewrite it). */
  tos: number;
  /** The Ethernet source address of the frame it came in ("aa:bb:cc:dd:ee:ff"), when the trace gives it (-m mac). */
  srcMac?: string;
  /** The conntrack zone CT --zone put it in (absent: zone 0): its connection is looked up there. */
  ctZone?: number;
  /** The conntrack helper CT --helper attaches to the connection it opens (absent: none). */
  ctHelper?: string;
  /** The payload's bytes when the trace gives them (-m string searches them); absent: not known. */
  payload?: Uint8Array;
  inIface: string | null;
  outIface: string | null;
  /** Bridge ports, for -m physdev (null when the packet did not cross a bridge). */
  physIn: string | null;
  physOut: string | null;
  mark: number;
  ct: PacketConntrack | null;
  /**
   * NOTRACK in raw: the packet has no connection (ct is null), and conntrack reports its state as
   * UNTRACKED rather than INVALID.
   */
  untracked?: boolean;
  /** The IPVS virtual service the packet's connection belongs to (after IPVS took it), for -m ipvs. */
  ipvs: { readonly protocol: L4Protocol; readonly address: IPv4; readonly port: number } | null;
  /** The local socket that sent it (a packet made on this node), for -m owner; none (absent or null) otherwise. */
  socket?: PacketSocket | null;
  /** The transparent proxy's socket TPROXY assigned it (its listening address, 0 for any, and port). */
  assignedSocket?: { readonly address: IPv4; readonly port: number } | null;
}

/** Who owns a local socket: its file's user and group, and the process's supplementary groups. */
export interface PacketSocket {
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
}

export type AddrType =
  | 'UNSPEC'
  | 'UNICAST'
  | 'LOCAL'
  | 'BROADCAST'
  | 'ANYCAST'
  | 'MULTICAST'
  | 'BLACKHOLE'
  | 'UNREACHABLE'
  | 'PROHIBIT'
  | 'THROW'
  | 'NAT'
  | 'XRESOLVE';

/** Per-flow state some matches keep (xt_recent lists): copied on write so branches stay apart. */
export interface FlowState {
  recent: ReadonlyMap<string, ReadonlyMap<IPv4, readonly number[]>>;
  /** nfacct object name -> packets counted on this flow. */
  nfacct: ReadonlyMap<string, number>;
  /** What SET targets added to and deleted from ipsets so far, in order (later -m set matches see them). */
  setEdits: readonly SetEdit[];
}

/** One SET target's change: the element the packet gives (by the flags) added to or deleted from a set. */
export interface SetEdit {
  readonly set: string;
  readonly add: boolean;
  readonly flags: readonly ('src' | 'dst')[];
  /** The packet as it was then (NAT may change it afterwards). */
  readonly packet: NfPacket;
}

/** What the node offers the rules: address types, ipsets, the clock. */
export interface MatchEnv {
  readonly hook: Hook;
  readonly table: TableName;
  /** Seconds since boot, for xt_recent. */
  readonly now: number;
  /** The wall clock the packet is seen at, seconds since 1970 UTC (-m time); null: the current time. */
  readonly clock: number | null;
  addrType(address: IPv4, limitIface: string | null): AddrType;
  /**
   * -m set: whether the set holds the element taken from the packet by the direction flags, once the
   * flow's SET edits are applied to it.
   */
  setTest(name: string, flags: readonly ('src' | 'dst')[], packet: NfPacket, edits?: readonly SetEdit[]): boolean;
  hasSet(name: string): boolean;
  /**
   * The route back to an address (what -m rpfilter looks up): its type (unicast, local, ...) and the
   * device it leaves by; null when there is none. `from` and `mark` are the look-up's source and
   * mark, which policy rules may select on.
   */
  routeTo(
    address: IPv4,
    from?: { readonly src: IPv4; readonly mark: number },
  ): {
    readonly type: string;
    readonly dev: string | null;
    /** A multipath route's paths (the first is `dev`). */
    readonly nexthops?: readonly { readonly dev: string | null }[];
  } | null;
  /**
   * Sampled packets only: what matches keep per rule between packets (nth counters, quotas left,
   * connlimit's connections), by table, rule row and match. Absent in a full trace, which shows the
   * node as loaded (the long-run share for nth).
   */
  ruleStates?: Map<string, unknown> | undefined;
}

export type MatchTest = (packet: NfPacket, env: MatchEnv, flow: FlowState) => boolean;

export interface CompiledMatch {
  /** Deterministic part; absent when the match always passes (comment, nfacct). */
  readonly test?: MatchTest;
  /** A random match (statistic): the probability that it passes. */
  readonly probability?: number;
  /**
   * --mode nth: the kernel counts the packets the rule sees and passes one in `every`; a full
   * trace shows the long-run share (`probability`), a sampled packet runs the rule's counter.
   */
  readonly nth?: { readonly every: number; readonly packet: number; readonly invert: boolean };
  /** Runs when the match is evaluated and passes (xt_recent --set, nfacct counting). */
  readonly effect?: (packet: NfPacket, env: MatchEnv, flow: FlowState) => void;
  /** The test itself changes flow state (xt_recent), so it must run even when a later match fails. */
  readonly stateful?: boolean;
  /**
   * A match whose answer depends on what the rule saw before (-m quota, -m connlimit): `initial` is its
   * state as loaded, and `test` answers for a packet and gives the state after it. The rule keeps its
   * state only across sampled packets; a full trace meets every such match as loaded.
   */
  readonly perRule?: {
    readonly initial: unknown;
    test(packet: NfPacket, state: unknown): { readonly pass: boolean; readonly next: unknown };
  };
  /** For rule indexing: an exact destination port this match requires. */
  readonly exactDport?: number;
}

export interface RuleFacts {
  /** The -p protocol, when given and not negated. */
  readonly protocol: L4Protocol | null;
  readonly table: TableName;
  /**
   * -p names, negated or not, a protocol whose ports NAT may map: tcp, udp, sctp, dccp, or icmp (its
   * id). libxt_NAT, MASQUERADE and REDIRECT take a port range only then.
   */
  readonly portsAllowed: boolean;
}

export interface MatchExtension {
  readonly name: string;
  readonly options: readonly OptionSpec[];
  /** A protocol match iptables loads by itself when -p names the protocol. */
  readonly implicitFor?: L4Protocol;
  /** Hooks the kernel lets this match be reached from (all when absent). */
  readonly hooks?: readonly Hook[];
  /** Hooks that depend on the rule's options (-m policy --dir); undefined: `hooks` decides. */
  readonly hooksFor?: (options: readonly ParsedOption[]) => readonly Hook[] | undefined;
  /**
   * Reads -p when each of its options is read (multiport), so -p must come first: the message
   * iptables gives when it does not, or when the protocol is one it does not take.
   */
  readonly protocolFirst?: {
    readonly missing: string;
    readonly wrong: (protocol: string | null) => boolean;
    readonly wrongMessage: string;
  };
  compile(options: readonly ParsedOption[], facts: RuleFacts): CompiledMatch | string;
}

export interface NatRange {
  readonly minAddress: IPv4 | null;
  readonly maxAddress: IPv4 | null;
  readonly minPort: number | null;
  readonly maxPort: number | null;
}

export type TargetAction =
  | { readonly kind: 'ACCEPT' | 'DROP' | 'RETURN' }
  | { readonly kind: 'REJECT'; readonly rejectWith: string }
  /** The range is the action's own fields (one object for each of a dump's tens of thousands of DNATs). */
  | (NatRange & { readonly kind: 'DNAT'; readonly random: boolean; readonly persistent: boolean })
  | (NatRange & { readonly kind: 'SNAT'; readonly random: boolean; readonly persistent: boolean })
  | {
      readonly kind: 'MASQUERADE';
      readonly minPort: number | null;
      readonly maxPort: number | null;
      readonly randomFully: boolean;
      readonly random: boolean;
    }
  | { readonly kind: 'REDIRECT'; readonly minPort: number | null; readonly maxPort: number | null }
  | { readonly kind: 'NOTRACK' }
  | {
      readonly kind: 'CONTINUE';
      /** Changes the packet (or the flow's state: SET) and returns what to report (MARK, CONNMARK, LOG, TRACE). */
      readonly apply: (packet: NfPacket, flow: FlowState) => string;
      /** The table accepts the packet once it is applied (TPROXY); absent: the walk goes on. */
      readonly accepts?: true;
    };

export interface TargetExtension {
  readonly name: string;
  readonly options: readonly OptionSpec[];
  /** Tables the kernel lets this target be used in (all when absent). */
  readonly tables?: readonly TableName[];
  /**
   * Its options name an address (DNAT to one endpoint), so a script seldom has the same ones twice:
   * the parser compiles each use instead of keeping it for reuse, which would only cost a look-up and
   * memory. Such a target's compile must keep nothing of the options it is given (the parser may
   * pass one it reuses), and a use with one option of one argument keeps just that argument.
   */
  readonly seldomRepeated?: boolean;
  /** Hooks the kernel lets this target be reached from (all when absent). */
  readonly hooks?: readonly Hook[];
  /** Hooks that depend on the rule's options (TCPMSS --clamp-mss-to-pmtu); undefined: `hooks` decides. */
  readonly hooksFor?: (options: readonly ParsedOption[]) => readonly Hook[] | undefined;
  compile(options: readonly ParsedOption[], facts: RuleFacts): TargetAction | string;
}

export function optionOf(options: readonly ParsedOption[], name: string): ParsedOption | undefined {
  return options.find((o) => o.name === name);
}
