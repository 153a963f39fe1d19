// A trace: one packet through one node, every branch followed, summarised as
// the outcome, the endpoints with their probabilities, masquerading, the cost
// the kernel would pay, and the reply's way back as conntrack rewrites it.
import {
  DEFAULT_TTL,
  defaultLength,
  formatFlow,
  formatIPv4,
  ICMP_ECHO_REQUEST,
  type IPv4,
  icmpAnswerOf,
  invertTuple,
  type L4Protocol,
  prefixContains,
  SYN,
  type TcpFlags,
} from '../net';
import { type Hop, type NfPacket, type PacketSocket, payloadOffset } from '../netfilter';
import {
  type BranchEnd,
  type Outcome,
  type PacketOrigin,
  type PipelineFlow,
  ROOT_SOCKET,
  runPipeline,
} from './node-pipeline';
import type { SimNode } from './sim-node';

export interface TraceRequest {
  readonly src: IPv4;
  readonly dst: IPv4;
  readonly protocol: L4Protocol;
  /** The ports (ICMP: the type, default an echo request, and the code). */
  readonly sport?: number;
  readonly dport: number;
  /** Total IPv4 length in bytes (default: a bare SYN, 60; a small datagram, 64; ping's echo request, 84). */
  readonly length?: number;
  /** The don't-fragment bit (default set). */
  readonly df?: boolean;
  /** Time to live as the packet arrives or is sent (default 64, Linux's ip_default_ttl). */
  readonly ttl?: number;
  /** The TOS byte (DSCP and ECN; default 0). */
  readonly tos?: number;
  /** The source MAC of the frame a packet arriving on an interface came in (-m mac); unknown when absent. */
  readonly srcMac?: string;
  /** The payload's bytes (-m string searches them); the length follows from them unless given. */
  readonly payload?: Uint8Array;
  readonly origin: PacketOrigin;
  readonly recordHops?: boolean;
  /** Seconds since boot (xt_recent timestamps). */
  readonly now?: number;
  /** The wall clock, seconds since 1970 UTC (-m time); the current time when absent. */
  readonly at?: number;
  /** Keep the connection in the node's conntrack table (the most probable accepted branch). */
  readonly commit?: boolean;
  readonly tcpFlags?: TcpFlags | null;
  readonly mark?: number;
  /** Draw random matches from this source (uniform in [0,1)): one packet, one path. */
  readonly sample?: () => number;
  /** Who owns the socket a packet made on the node is sent from (-m owner); default root. */
  readonly socket?: PacketSocket;
}

export interface TraceHop {
  readonly node: string;
  /** "nat/PREROUTING", or a step that is not a rule: "conntrack", "routing", "deliver". */
  readonly stage: string;
  readonly chain?: string;
  readonly ruleNumber?: number;
  readonly rule?: string;
  /** The rule as iptables-save prints it (differs from `rule` for kube-proxy's restore input). */
  readonly saved?: string;
  readonly action: string;
  readonly probability?: number;
}

export interface ReplyPath {
  /** The reply as the endpoint sends it. */
  readonly sent: string;
  /** The same reply after conntrack reverses the NAT: what the client receives. */
  readonly received: string;
}

export interface TraceBranch {
  readonly probability: number;
  readonly outcome: Outcome;
  readonly disposition: string;
  readonly endpoint: string | null;
  readonly masquerade: boolean;
  /** The packet as it leaves or is delivered: "tcp 10.0.0.2:40000 -> 10.180.0.1:80". */
  readonly final: string;
  readonly rulesEvaluated: number;
  readonly hops: readonly TraceHop[];
  readonly reply: ReplyPath | null;
  readonly nfacct: Readonly<Record<string, number>>;
  /** How an accepted packet left the node (null when delivered locally or not accepted), for the cluster walk. */
  readonly exit: BranchExit | null;
}

/** The packet as it left a node's device, in fields (addresses dotted, as in the JSON output). */
export interface BranchExit {
  readonly iface: string;
  readonly nextHop: string | null;
  readonly src: string;
  readonly sport: number;
  readonly dst: string;
  readonly dport: number;
  readonly protocol: L4Protocol;
  readonly length: number;
  /** The TTL and TOS byte it left with. */
  readonly ttl: number;
  readonly tos: number;
}

export interface TraceCost {
  /** Expected number of rules evaluated over the branches, and the range. */
  readonly rulesEvaluated: number;
  readonly rulesEvaluatedMin: number;
  readonly rulesEvaluatedMax: number;
  readonly conntrackLookups: number;
  readonly setLookups: number;
  /** IPVS virtual-service hash look-ups that found a service. */
  readonly ipvsLookups: number;
  /** Copies between kernel and user space, and switches to the proxy process (userspace mode). */
  readonly userSpaceCopies: number;
  readonly contextSwitches: number;
}

export interface TraceResult {
  readonly node: string;
  readonly packet: string;
  readonly outcome: Outcome;
  readonly endpoints: readonly { readonly address: string; readonly probability: number }[];
  readonly masquerade: boolean;
  /** The hops of the most probable branch (all hops are in `branches`). */
  readonly hops: readonly TraceHop[];
  readonly branches: readonly TraceBranch[];
  readonly cost: TraceCost;
}

function toTraceHop(node: string, hop: Hop): TraceHop {
  if ('stage' in hop) return { node, stage: hop.stage, action: hop.action };
  return {
    node,
    stage: `${hop.table}/${hop.hook}`,
    chain: hop.chain,
    ...(hop.ruleNumber !== null ? { ruleNumber: hop.ruleNumber } : {}),
    ...(hop.rule !== null ? { rule: hop.rule } : {}),
    ...(hop.saved !== undefined && hop.saved !== hop.rule ? { saved: hop.saved } : {}),
    action: hop.action,
    ...(hop.probability !== undefined ? { probability: hop.probability } : {}),
  };
}

function replyOf(flow: PipelineFlow): ReplyPath | null {
  const ct = flow.ct;
  if (!ct) return null;
  // Of ICMP messages, Linux answers echo and timestamp requests only (others it discards).
  if (ct.original.protocol === 'icmp' && icmpAnswerOf(ct.original.sport) === undefined) return null;
  // The endpoint answers the packet it received; conntrack maps it back to the original tuple, reversed.
  const r = ct.reply;
  const seen = invertTuple(ct.original);
  return {
    sent: formatFlow(r),
    received: formatFlow(seen),
  };
}

/** Rounds away floating-point noise from products of probabilities (1/3 * 3 and the like). */
function tidy(p: number): number {
  return Math.round(p * 1e12) / 1e12;
}

/** What the summaries of a trace read from each branch (a full TraceBranch, or a sampled packet's bare end). */
interface BranchSummary {
  readonly probability: number;
  readonly outcome: Outcome;
  readonly endpoint: string | null;
  readonly masquerade: boolean;
  readonly rulesEvaluated: number;
}

/**
 * The outcome with the largest total probability; on a tie the one whose first
 * branch comes first (branches are sorted most probable first).
 */
function likeliestOutcome(branches: readonly BranchSummary[]): Outcome {
  if (branches.length === 1) return branches[0]!.outcome;
  // Loops over the few outcomes instead of maps: a benchmark traces hundreds of thousands of packets.
  const outcomes: Outcome[] = [];
  const totals: number[] = [];
  for (const b of branches) {
    const i = outcomes.indexOf(b.outcome);
    if (i < 0) {
      outcomes.push(b.outcome);
      totals.push(0 + b.probability);
    } else totals[i]! += b.probability;
  }
  let best = 0;
  for (let i = 1; i < totals.length; i++) if (totals[i]! > totals[best]!) best = i;
  return outcomes[best]!;
}

/** Every endpoint an accepted branch reaches, in order of first appearance, with its summed probability. */
function endpointShares(branches: readonly BranchSummary[]): { address: string; probability: number }[] {
  if (branches.length === 1) {
    const only = branches[0]!;
    return only.endpoint === null || only.outcome !== 'ACCEPT'
      ? []
      : [{ address: only.endpoint, probability: tidy(only.probability) }];
  }
  const shares: { address: string; probability: number }[] = [];
  // A scan suits the usual handful of branches; a trace of every branch may have thousands.
  const byAddress = branches.length > 8 ? new Map<string, { address: string; probability: number }>() : null;
  for (const b of branches) {
    if (b.endpoint === null || b.outcome !== 'ACCEPT') continue;
    const address = b.endpoint;
    const known = byAddress ? byAddress.get(address) : shares.find((e) => e.address === address);
    if (known) known.probability += b.probability;
    else {
      const share = { address, probability: 0 + b.probability };
      shares.push(share);
      byAddress?.set(address, share);
    }
  }
  for (const e of shares) e.probability = tidy(e.probability);
  return shares;
}

const NO_NFACCT: Readonly<Record<string, number>> = Object.freeze({});

/** One branch's end as the trace reports it. */
function branchOf(node: SimNode, e: BranchEnd): TraceBranch {
  const nodeName = node.name;
  const flow = e.flow;
  const p = flow.packet;
  const accepted = e.outcome === 'ACCEPT';
  // Sent on toward an address no host owns (a ClusterIP nothing translated): nobody answers.
  const unowned =
    accepted && e.outIface !== null ? node.virtualCIDRs?.find((c) => prefixContains(c, p.dst)) : undefined;
  const nobody =
    unowned === undefined
      ? null
      : `no host owns ${formatIPv4(p.dst)} (in the service CIDR ${formatIPv4(unowned.address)}/${unowned.length}): nothing answers`;
  const hops = flow.hops === null ? NO_HOPS : flow.hops.map((h) => toTraceHop(nodeName, h));
  return {
    probability: tidy(flow.probability),
    outcome: e.outcome,
    disposition: nobody === null ? e.disposition : `${e.disposition}; ${nobody}`,
    endpoint: flow.endpoint,
    masquerade: flow.masquerade,
    final: formatFlow(p),
    rulesEvaluated: flow.rulesEvaluated,
    hops: nobody === null || flow.hops === null ? hops : [...hops, { node: nodeName, stage: 'answer', action: nobody }],
    reply: accepted && nobody === null ? replyOf(flow) : null,
    nfacct: flow.state.nfacct.size === 0 ? NO_NFACCT : Object.fromEntries(flow.state.nfacct),
    exit:
      accepted && e.outIface !== null
        ? {
            iface: e.outIface,
            nextHop: e.nextHop === null ? null : formatIPv4(e.nextHop),
            src: formatIPv4(p.src),
            sport: p.sport,
            dst: formatIPv4(p.dst),
            dport: p.dport,
            protocol: p.protocol,
            length: p.length,
            ttl: p.ttl,
            tos: p.tos,
          }
        : null,
  };
}

const NO_HOPS: readonly TraceHop[] = Object.freeze([]);

/** The packet a request describes, as it is before the node sees it. */
function packetOf(request: TraceRequest): NfPacket {
  const packet: NfPacket = {
    src: request.src,
    dst: request.dst,
    protocol: request.protocol,
    sport: request.sport ?? (request.protocol === 'icmp' ? ICMP_ECHO_REQUEST : 40000),
    dport: request.dport,
    length: request.length ?? defaultLength(request.protocol),
    tcpFlags: request.tcpFlags !== undefined ? request.tcpFlags : request.protocol === 'tcp' ? SYN : null,
    fragment: false,
    ttl: request.ttl ?? DEFAULT_TTL,
    tos: request.tos ?? 0,
    inIface: null,
    outIface: null,
    physIn: null,
    physOut: null,
    mark: request.mark ?? 0,
    ct: null,
    ipvs: null,
    socket: request.origin.kind === 'local' ? (request.socket ?? ROOT_SOCKET) : null,
  };
  // Set after the literal rather than spread into it: a spread makes every packet take V8's slow copying path.
  if (request.df === false) packet.df = false;
  if (request.srcMac !== undefined && request.origin.kind === 'interface') packet.srcMac = request.srcMac;
  if (request.payload) {
    packet.payload = request.payload;
    if (request.length === undefined) packet.length = payloadOffset(packet) + request.payload.length;
  }
  return packet;
}

/** Keeps the connection of the most probable accepted branch that made one, when the request asks to. */
function commitConnection(node: SimNode, request: TraceRequest, ends: readonly BranchEnd[]): void {
  if (!request.commit) return;
  const winner = ends.find((e) => e.outcome === 'ACCEPT' && e.flow.ct && e.flow.ctNew);
  // The connection keeps its accounting: this one packet, the way it came.
  if (winner?.flow.ct)
    node.conntrack.confirm({
      ...winner.flow.ct,
      counters: { original: { packets: 1, bytes: winner.flow.packet.length }, reply: { packets: 0, bytes: 0 } },
    });
}

/** Whether an accepted branch was masqueraded, and the rules evaluated: expected over the branches, least, most. */
function branchTotals(branches: readonly BranchSummary[]): {
  masquerade: boolean;
  rulesEvaluated: number;
  min: number;
  max: number;
} {
  let masquerade = false;
  let expected = 0;
  let weight = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const b of branches) {
    if (b.outcome === 'ACCEPT' && b.masquerade) masquerade = true;
    expected += b.probability * b.rulesEvaluated;
    weight += b.probability;
    if (b.rulesEvaluated < min) min = b.rulesEvaluated;
    if (b.rulesEvaluated > max) max = b.rulesEvaluated;
  }
  // Over the branches followed: all of them (weights sum to 1), or the one a sampled packet took.
  if (weight > 0) expected /= weight;
  return { masquerade, rulesEvaluated: tidy(expected), min, max };
}

/** Most probable first (a sampled packet has one branch: nothing to sort). */
function byProbability<B extends BranchSummary>(branches: B[]): B[] {
  if (branches.length > 1) branches.sort((a, b) => b.probability - a.probability);
  return branches;
}

export function tracePacket(node: SimNode, request: TraceRequest): TraceResult {
  const setLookupsBefore = node.sets?.lookups ?? 0;
  const ctLookupsBefore = node.conntrack.lookups;
  const packet = packetOf(request);
  const packetText = formatFlow(packet);
  const {
    ended: ends,
    ipvsLookups,
    nftLookups,
    userCopies,
    contextSwitches,
  } = runPipeline(node, packet, request.origin, {
    recordHops: request.recordHops ?? true,
    now: request.now ?? 1000,
    sample: request.sample,
    ...(request.at !== undefined ? { clock: request.at } : {}),
  });
  const branches: TraceBranch[] = new Array(ends.length);
  for (let i = 0; i < ends.length; i++) branches[i] = branchOf(node, ends[i]!);
  byProbability(branches);
  commitConnection(node, request, ends);
  const totals = branchTotals(branches);
  return {
    node: node.name,
    packet: packetText,
    outcome: likeliestOutcome(branches),
    endpoints: endpointShares(branches),
    masquerade: totals.masquerade,
    hops: branches[0]!.hops,
    branches,
    cost: {
      rulesEvaluated: totals.rulesEvaluated,
      rulesEvaluatedMin: totals.min,
      rulesEvaluatedMax: totals.max,
      conntrackLookups: node.conntrack.lookups - ctLookupsBefore,
      // ipset look-ups, and nftables set and map look-ups (expected per packet over its branches).
      setLookups: (node.sets?.lookups ?? 0) - setLookupsBefore + (nftLookups === 0 ? 0 : Number(nftLookups.toFixed(2))),
      ipvsLookups,
      userSpaceCopies: userCopies,
      contextSwitches,
    },
  };
}

/** What a packet on one random path came to: the counts of `trace --sample`, without a full trace's text. */
export interface SampledPacket {
  readonly outcome: Outcome;
  /** The endpoints accepted branches were DNATed to (one or none: a sampled packet takes one path). */
  readonly endpoints: readonly string[];
  readonly masquerade: boolean;
  readonly rulesEvaluated: number;
}

const NO_ENDPOINTS: readonly string[] = Object.freeze([]);

/**
 * One packet through the node drawing its random matches, as `tracePacket` with the same request
 * would see it, summed up as outcome, endpoint, masquerade and rules evaluated. Hops are not
 * recorded and no text is formatted (a full trace's packet, reply and exit strings cost about as
 * much as the walk itself): for counting many packets.
 */
export function samplePacket(
  node: SimNode,
  request: TraceRequest,
  /** The draws for the packet's random matches (request.sample is not read). */
  draw: () => number,
): SampledPacket {
  const { ended: ends } = runPipeline(node, packetOf(request), request.origin, {
    recordHops: false,
    now: request.now ?? 1000,
    sample: draw,
    ...(request.at !== undefined ? { clock: request.at } : {}),
  });
  commitConnection(node, request, ends);
  if (ends.length === 1) {
    const only = ends[0]!;
    const accepted = only.outcome === 'ACCEPT';
    const endpoint = accepted ? only.flow.endpoint : null;
    return {
      outcome: only.outcome,
      endpoints: endpoint === null ? NO_ENDPOINTS : [endpoint],
      masquerade: accepted && only.flow.masquerade,
      rulesEvaluated: only.flow.rulesEvaluated,
    };
  }
  // Forks no draw decides (none in the rules kube-proxy writes): summed up as a trace sums its branches.
  const branches: BranchSummary[] = byProbability(
    ends.map((e) => ({
      probability: tidy(e.flow.probability),
      outcome: e.outcome,
      endpoint: e.flow.endpoint,
      masquerade: e.flow.masquerade,
      rulesEvaluated: e.flow.rulesEvaluated,
    })),
  );
  const totals = branchTotals(branches);
  return {
    outcome: likeliestOutcome(branches),
    endpoints: endpointShares(branches).map((e) => e.address),
    masquerade: totals.masquerade,
    rulesEvaluated: totals.rulesEvaluated,
  };
}
