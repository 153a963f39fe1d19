// One node's kernel path for a packet, hook by hook in the kernel's order:
// PREROUTING raw -> conntrack -> mangle -> nat, the routing decision, then INPUT
// (mangle, filter, nat) or FORWARD (mangle, filter) and POSTROUTING (mangle, nat);
// locally generated packets take OUTPUT (raw, conntrack, mangle, nat, filter).
// nat rules are consulted only on a connection's first packet; later packets
// follow the bindings conntrack holds.

import { initSchedulerState, NO_SCHED_FLAGS, pickServer, schedule, type VirtualService } from '../ipvs';
import { nextEndpoint } from '../kube-proxy';
import {
  bindDnat,
  bindSnat,
  type ConntrackEntry,
  type CtDirection,
  checkMtu,
  DEFAULT_TTL,
  ecnEncapsulated,
  formatEndpoint,
  formatEntry,
  formatFlow,
  formatIPv4,
  type IPv4,
  icmpAnswerOf,
  invertTuple,
  isIcmpQuery,
  isLoopback,
  lookupRoute,
  maskOf,
  natRangeAddress,
  newEntry,
  type Packet,
  type PolicyRule,
  PROTOCOL_NUMBERS,
  type Route,
  routeByPolicy,
  stateOf,
  TCP_REOPENABLE_STATES,
  vxlanEncapsulate,
} from '../net';
import {
  type CompiledChain,
  type CompiledTable,
  compiledChainNamed,
  type FlowState,
  forkFlow,
  type Hook,
  type MatchEnv,
  type NatVerdict,
  type NfPacket,
  natVerdict,
  type PacketConntrack,
  type PacketSocket,
  type TableFlow,
  type TableName,
  type TableVerdict,
  type WalkResult,
  walkFlow,
} from '../netfilter';
import { evaluateBaseChain, formatRuleForList, type NftNat } from '../nftables';
import {
  dynamicSetsOf,
  ipvsTableOf,
  keepRecentLists,
  keepSetEdits,
  learntSetsOf,
  nftCountersOf,
  recentListsOf,
  ruleStatesOf,
} from './learnt-state';
import { nftChainsAt, nftPacketView } from './nft-hooks';
import { routeBack } from './route-back';
import {
  addressType,
  interfaceNamed,
  interfaceOfAddress,
  interfaceOnLink,
  isLocalAddress,
  primaryAddress,
  type SetLookup,
  type SimNode,
  type UserspaceProxy,
} from './sim-node';

export type PacketOrigin = { readonly kind: 'local' } | { readonly kind: 'interface'; readonly iface: string };

export type Outcome = 'ACCEPT' | 'DROP' | 'REJECT' | 'NO_ROUTE' | 'NO_ENDPOINTS';

export interface PipelineFlow extends TableFlow {
  ct: ConntrackEntry | null;
  ctDirection: CtDirection;
  /** The connection was created by this packet (so nat rules are consulted). */
  ctNew: boolean;
  dstNatDone: boolean;
  srcNatDone: boolean;
  /** "IP:PORT" the packet was DNATed or redirected to. */
  endpoint: string | null;
  masquerade: boolean;
  /** The gateway the routing decision chose for the way out (null: directly connected, or not routed yet). */
  nextHop: IPv4 | null;
}

/** The routing decision: the device out (as -o sees it) and the gateway. */
function setRoute(flow: PipelineFlow, iface: string, nextHop: IPv4 | null): void {
  flow.packet.outIface = iface;
  flow.nextHop = nextHop;
}

export interface BranchEnd {
  readonly flow: PipelineFlow;
  readonly outcome: Outcome;
  /** Where it ended: "delivered locally", "out eth0 via 192.168.1.1", the dropping rule... */
  readonly disposition: string;
  readonly outIface: string | null;
  readonly nextHop: IPv4 | null;
}

/**
 * A branch's end. What a packet sent out did is worded only when someone reads it: a sampled
 * packet's never is, and formatting it cost a tenth of such a packet's time.
 */
class BranchEnding implements BranchEnd {
  private text: string | null;

  constructor(
    readonly flow: PipelineFlow,
    readonly outcome: Outcome,
    /** Null: sent out by outIface. */
    text: string | null,
    readonly outIface: string | null,
    readonly nextHop: IPv4 | null,
    /** The packet's destination as it left. */
    private readonly sentTo: IPv4,
  ) {
    this.text = text;
  }

  get disposition(): string {
    if (this.text === null) {
      const via = this.nextHop === null ? `directly to ${formatIPv4(this.sentTo)}` : `via ${formatIPv4(this.nextHop)}`;
      this.text = `sent out ${this.outIface} ${via}`;
    }
    return this.text;
  }
}

export interface PipelineOptions {
  readonly recordHops: boolean;
  readonly now: number;
  /** The wall clock, seconds since 1970 UTC (-m time); the current time when absent. */
  readonly clock?: number;
  /** When set, random matches are drawn from it: one packet's path instead of every branch. */
  readonly sample?: () => number;
}

/** Records a step; callers whose text costs formatting check flow.hops first (hops are off in benchmarks). */
function stage(flow: PipelineFlow, stageName: string, action: string): void {
  if (flow.hops) flow.hops.push({ stage: stageName, action });
}

function syncCt(flow: PipelineFlow): void {
  const ct = flow.ct;
  if (ct === null) {
    flow.packet.ct = null;
    return;
  }
  const state = flow.notrack ? 'UNTRACKED' : stateOf(ct, flow.ctDirection);
  // No two packets share a view (a fork copies it: forkFlow), and rules that change it (CONNMARK)
  // put a new one in its place, so a packet's view is rewritten in place rather than made anew.
  const view = flow.packet.ct as { -readonly [K in keyof PacketConntrack]: PacketConntrack[K] } | null;
  if (view === null)
    flow.packet.ct = {
      state,
      direction: flow.ctDirection,
      original: ct.original,
      reply: ct.reply,
      seenReply: ct.seenReply,
      assured: ct.assured,
      confirmed: ct.confirmed,
      mark: ct.mark,
      counters: ct.counters,
    };
  else {
    view.state = state;
    view.direction = flow.ctDirection;
    view.original = ct.original;
    view.reply = ct.reply;
    view.seenReply = ct.seenReply;
    view.assured = ct.assured;
    view.confirmed = ct.confirmed;
    view.mark = ct.mark;
    view.counters = ct.counters;
  }
}

/**
 * CONNMARK changes the connection's mark through the packet's view of its connection; the
 * connection itself keeps it (a later view is made from the connection, and must show it).
 */
function keepConnectionMark(flow: PipelineFlow): void {
  const view = flow.packet.ct;
  if (view !== null && flow.ct !== null && view.mark !== flow.ct.mark) flow.ct = { ...flow.ct, mark: view.mark };
}

/**
 * get_unique_tuple's first two steps for the side NAT changes: a tuple already in the ranges stays
 * as it is (`keep`); else the address comes from [min, max] (no address range: the packet's own) and
 * the port by natPort.
 */
function natTuple(
  address: IPv4,
  port: number,
  minAddress: IPv4 | null,
  maxAddress: IPv4 | null,
  minPort: number | null,
  maxPort: number | null,
): { keep: boolean; min: IPv4; max: IPv4; port: number } {
  const min = minAddress ?? address;
  const max = maxAddress ?? minAddress ?? address;
  const portInRange = minPort === null || (port >= minPort && port <= (maxPort ?? minPort));
  const keep = address >= min && address <= max && portInRange;
  return { keep, min, max, port: keep ? port : natPort(port, minPort, maxPort) };
}

/**
 * The port a NAT binding gives: the packet's own when no range is given or it lies in the range
 * (get_unique_tuple keeps an in-range tuple); else the range's first (the kernel's choice for a
 * destination; for a source it draws one at random, and the first stands for it).
 */
function natPort(own: number, min: number | null, max: number | null): number {
  if (min === null) return own;
  return own >= min && own <= (max ?? min) ? own : min;
}

/** What the node does with an ICMP message delivered to it: the kernel itself answers echo and timestamp requests. */
function icmpDelivery(p: NfPacket): string {
  const to = formatIPv4(p.dst);
  if (icmpAnswerOf(p.sport) === undefined)
    return `delivered to ${to}: ICMP type ${p.sport} code ${p.dport}, handled by the kernel (no reply)`;
  return p.sport === 8
    ? `delivered to ${to}: the kernel answers the echo request itself (echo reply from ${to})`
    : `delivered to ${to}: the kernel answers the timestamp request itself`;
}

/** One table at one hook on one node: its rules, base chain and match environment (only the clock changes per packet). */
interface HookSlot {
  readonly table: CompiledTable | undefined;
  readonly base: CompiledChain | undefined;
  /** An empty built-in chain with policy ACCEPT (or none): nothing to walk. */
  readonly pass: boolean;
  readonly env: MatchEnv & { now: number; clock: number | null; sets: SetLookup | null };
}

/** The socket of a process running as root (kube-proxy, and by default whatever sends a node's own packets). */
export const ROOT_SOCKET: PacketSocket = Object.freeze({ uid: 0, gid: 0, groups: Object.freeze([0]) });

/** No flows go on (shared: lists returned by the pipeline's steps are only read). */
const NO_FLOWS: PipelineFlow[] = [];

/** No branch has ended yet (shared, never written: a pipeline's first end makes its list). */
const NO_ENDS: BranchEnd[] = [];

/**
 * Flows a table walk forked off, with their verdicts: one list for every walk (walks never nest),
 * emptied by the walk's caller at once; no walk forks a sampled packet.
 */
const FORKS: WalkResult<PipelineFlow>[] = [];
const NO_WALKS: readonly WalkResult<PipelineFlow>[] = [];

/** Each node's slots, found once per packet (a trace visits up to a dozen table/hook pairs). */
const SLOTS = new WeakMap<SimNode, (HookSlot | undefined)[]>();

function slotIndex(table: TableName, hook: Hook): number {
  const t = table === 'raw' ? 0 : table === 'mangle' ? 1 : table === 'nat' ? 2 : table === 'filter' ? 3 : 4;
  const h = hook === 'PREROUTING' ? 0 : hook === 'INPUT' ? 1 : hook === 'FORWARD' ? 2 : hook === 'OUTPUT' ? 3 : 4;
  return t * 5 + h;
}

function slotsOf(node: SimNode): (HookSlot | undefined)[] {
  let slots = SLOTS.get(node);
  if (!slots) {
    slots = new Array(25).fill(undefined);
    SLOTS.set(node, slots);
  }
  return slots;
}

/**
 * The route the node takes to an address: local (its own addresses) or broadcast (its subnets'), else
 * the routing table's answer (the device out and the gateway); null when there is none. Routing
 * decides packets by it, and -m rpfilter looks up the way back to a source with it.
 */
function routeToAddress(node: SimNode, address: IPv4): RouteToAddress | null {
  const type = addressType(node, address, null);
  if (type === 'LOCAL') return LOCAL_ROUTE;
  if (type === 'BROADCAST') return BROADCAST_ROUTE;
  if (node.routes.length === 0)
    return { type: 'unicast', dev: interfaceOnLink(node, address) ?? node.defaultInterface, via: null };
  const r = lookupRoute(node.routes, address);
  // A route naming its device answers as it is (a packet's routing decision makes no object).
  if (r === null || r.dev !== null) return r;
  return { type: r.type, dev: node.defaultInterface, via: r.via };
}

interface RouteToAddress {
  readonly type: string;
  readonly dev: string | null;
  readonly via: IPv4 | null;
}

/** Where routing sends a packet; `note` says how when more than the main table decided (policy rules). */
type RouteChoice =
  | { readonly kind: 'local'; readonly note?: string }
  | {
      readonly kind: 'forward';
      readonly iface: string;
      readonly nextHop: IPv4 | null;
      readonly note?: string | undefined;
      /** A multipath route's paths (two or more; the first is iface/nextHop). */
      readonly paths?: readonly RoutePath[] | undefined;
    }
  | { readonly kind: 'none'; readonly why: string };

interface RoutePath {
  readonly iface: string;
  readonly nextHop: IPv4 | null;
  readonly weight: number;
}

/** A multipath route's live paths (fib_select_multipath passes dead ones over); undefined for one path. */
function pathsOf(node: SimNode, r: Route | RouteToAddress): readonly RoutePath[] | undefined {
  const hops = 'nexthops' in r ? r.nexthops?.filter((h) => !h.dead) : undefined;
  if (!hops || hops.length === 0) return undefined;
  return hops.map((h) => ({ iface: h.dev ?? node.defaultInterface, nextHop: h.via, weight: h.weight }));
}

/**
 * Routing through the node's policy rules (`ip rule`): the first rule whose selectors take the
 * packet and whose table has a route for it decides. A packet the node makes comes in by "lo".
 */
function routeByRules(node: SimNode, rules: readonly PolicyRule[], p: NfPacket): RouteChoice {
  // Rule 0 looks up the local table first: the node's own and broadcast addresses (from the dump's
  // local table or --node-ip) are delivered here.
  const type = addressType(node, p.dst, null);
  if (type === 'LOCAL' || type === 'BROADCAST') return LOCAL_DELIVERY;
  const found = routeByPolicy(node.routes, rules, {
    dst: p.dst,
    src: p.src,
    mark: p.mark,
    iif: p.inIface ?? 'lo',
    oif: null,
    uid: p.socket?.uid ?? 0,
    protocol: PROTOCOL_NUMBERS[p.protocol],
    sport: p.sport,
    dport: p.dport,
  });
  if (found.kind === 'none')
    return { kind: 'none', why: `no route to ${formatIPv4(p.dst)} (no policy rule's table has one)` };
  const by = `rule ${found.rule.text}`;
  if (found.kind === 'refused') return { kind: 'none', why: `${found.how} (${by})` };
  const r = found.route;
  const ruleNote = found.rule.defaultLookup ? undefined : by;
  if (r.type === 'local' || r.type === 'broadcast')
    return ruleNote === undefined ? LOCAL_DELIVERY : { kind: 'local', note: ruleNote };
  if (r.type !== 'unicast') return { kind: 'none', why: `${r.type} route to ${formatIPv4(p.dst)} (${by})` };
  return {
    kind: 'forward',
    iface: r.dev ?? node.defaultInterface,
    nextHop: r.via,
    note: ruleNote,
    paths: pathsOf(node, r),
  };
}

/** The item a draw in [0, 1) picks when each has its share of the weights (which sum to `total`). */
function drawnByWeight<T extends { readonly weight: number }>(items: readonly T[], total: number, draw: number): T {
  const x = draw * total;
  let below = 0;
  for (const item of items) {
    below += item.weight;
    if (x < below) return item;
  }
  return items[items.length - 1]!;
}

function noteText(note: string | undefined): string {
  return note === undefined ? '' : ` (${note})`;
}

/** rpfilter's look-up through the policy rules (rpfilter_mt): the node's own addresses as routeToAddress answers them. */
function reverseRouteByRules(
  node: SimNode,
  address: IPv4,
  from: { readonly src: IPv4; readonly mark: number },
): ReturnType<MatchEnv['routeTo']> {
  const r = routeBack(node, address, from.src, from.mark);
  if (r === null) return addressType(node, address, null) === 'LOCAL' ? LOCAL_ROUTE : null;
  return r.dev !== null ? r : { type: r.type, dev: node.defaultInterface };
}

const LOCAL_ROUTE: RouteToAddress = { type: 'local', dev: 'lo', via: null };
const BROADCAST_ROUTE: RouteToAddress = { type: 'broadcast', dev: null, via: null };
const LOCAL_DELIVERY = { kind: 'local' } as const;

function makeSlot(node: SimNode, table: TableName, hook: Hook): HookSlot {
  const compiled = node.ruleset.tables.get(table);
  const base = compiled ? compiledChainNamed(compiled, hook) : undefined;
  const env: HookSlot['env'] = {
    hook,
    table,
    now: 0,
    clock: null,
    // The sets a packet meets: the node's as loaded, or as sampled connections' SET targets left them.
    sets: node.sets,
    addrType: (address, limit) => addressType(node, address, limit),
    setTest: (name, flags, packet, edits) => env.sets?.test(name, flags, packet, edits) ?? false,
    hasSet: (name) => node.sets?.has(name) ?? false,
    routeTo: (address, from) =>
      from !== undefined && node.policyRules !== undefined && node.routes.length > 0
        ? reverseRouteByRules(node, address, from)
        : routeToAddress(node, address),
  };
  return {
    table: compiled,
    base,
    pass: !compiled || !base || (base.ruleCount === 0 && base.policy !== 'DROP'),
    env,
  };
}

class Pipeline {
  /** Where each branch ended (made with the first: a list made empty grows to seventeen slots at its first push). */
  ended: BranchEnd[] = NO_ENDS;
  /** IPVS service look-ups that found a virtual service (a hash look-up each, in the kernel). */
  ipvsLookups = 0;
  /** nft set and map look-ups, expected per packet (each branch weighted by its probability). */
  nftLookups = 0;
  /** Copies of the payload between kernel and user space (the userspace proxy pays two a packet). */
  userCopies = 0;
  /** Switches between the kernel and the proxy process. */
  contextSwitches = 0;

  constructor(
    private readonly node: SimNode,
    private readonly options: PipelineOptions,
    /** Record where each branch ends as a hop (not for a VXLAN datagram: its inner packet's end says it). */
    private readonly recordEnds = true,
  ) {
    this.slots = slotsOf(node);
    // A sampled packet runs the node's nth counters; looked up once, not at every table.
    this.ruleStates = options.sample ? ruleStatesOf(node) : undefined;
    this.clock = options.clock ?? null;
    this.sets = options.sample ? learntSetsOf(node) : node.sets;
  }

  /** The sets this packet meets (a sampled one: as the connections before it left them). */
  private readonly sets: SetLookup | null;

  /** The wall clock the packet is seen at (-m time); null: the current time. */
  private readonly clock: number | null;

  private readonly slots: (HookSlot | undefined)[];
  private readonly ruleStates: Map<string, unknown> | undefined;

  private slot(table: TableName, hook: Hook): HookSlot {
    const i = slotIndex(table, hook);
    let slot = this.slots[i];
    if (slot === undefined) {
      slot = makeSlot(this.node, table, hook);
      this.slots[i] = slot;
    }
    return slot;
  }

  /** Ends a branch; a null disposition is a packet sent out by outIface (its text is made when read). */
  private end(
    flow: PipelineFlow,
    outcome: Outcome,
    disposition: string | null,
    outIface: string | null = null,
    nextHop: IPv4 | null = null,
  ): void {
    const ending = new BranchEnding(flow, outcome, disposition, outIface, nextHop, flow.packet.dst);
    if (this.recordEnds && flow.hops) stage(flow, outcome === 'ACCEPT' ? 'deliver' : 'end', ending.disposition);
    if (this.ended === NO_ENDS) this.ended = [ending];
    else this.ended.push(ending);
  }

  /** Walks one table at one hook for every flow, then the nft base chains that run with it; returns the flows that go on. */
  hook(flows: PipelineFlow[], table: TableName, hook: Hook): PipelineFlow[] {
    if (flows.length === 0) return flows;
    const after = this.iptablesHook(flows, table, hook);
    return this.node.nft && after.length > 0 ? this.nftHook(after, table, hook) : after;
  }

  /**
   * nftables base chains (in priority order) for every flow: each `numgen` arm is a branch with
   * its probability; dnat, snat and masquerade bind the connection as the nat table's targets do.
   */
  private nftHook(flows: PipelineFlow[], table: TableName, hook: Hook): PipelineFlow[] {
    let current = flows;
    for (const { table: t, chain } of nftChainsAt(this.node, table, hook)) {
      const next: PipelineFlow[] = [];
      const where = `nft ${t.family} ${t.name} ${chain.name}`;
      for (const flow of current) {
        const branches = evaluateBaseChain(t, chain, nftPacketView(this.node, flow.packet), {
          dynamic: dynamicSetsOf(this.node),
          now: this.options.now,
          ...(this.options.sample ? { sample: this.options.sample, counters: nftCountersOf(this.node) } : {}),
          formatRule: (c, i) => formatRuleForList(c.rules[i]!.body),
        });
        branches.forEach((b, i) => {
          const f = i === branches.length - 1 ? flow : forkFlow(flow, flow.probability);
          this.nftLookups += flow.probability * b.probability * b.lookups;
          f.probability *= b.probability;
          f.rulesEvaluated += b.rulesEvaluated;
          f.packet.mark = b.mark;
          if (b.notrack) f.notrack = true;
          // A zone set before conntrack has seen the packet (a raw-priority chain) is where it is looked up.
          if (b.zone !== null && !f.ct) f.packet.ctZone = b.zone;
          // A helper attaches to a connection conntrack has made and not yet confirmed (nft_ct_helper_obj_eval).
          if (b.helper !== null && f.ct && f.ctNew && f.ct.helper === undefined) {
            f.ct = { ...f.ct, helper: b.helper };
            syncCt(f);
          }
          if (f.hops)
            for (const s of b.steps)
              f.hops.push({
                stage: `nft ${t.family} ${t.name} ${s.chain}`,
                action: s.rule === null ? s.action : `[${s.ruleNumber}] ${s.rule}: ${s.action}`,
              });
          // A sampled packet is a real connection: the set learns its key until the set's timeout.
          if (this.options.sample)
            for (const u of b.setUpdates) {
              const learnt = dynamicSetsOf(this.node);
              const members = learnt.get(u.set) ?? new Map<string, number>();
              members.set(u.key, this.options.now + (t.sets.get(u.set)?.timeout ?? Number.POSITIVE_INFINITY));
              learnt.set(u.set, members);
            }
          if (b.verdict === 'drop') this.end(f, 'DROP', `dropped in ${where}`);
          else if (b.verdict === 'reject')
            this.end(f, 'REJECT', `rejected in ${where} (${b.rejectWith ?? 'icmp port-unreachable'})`);
          else if (b.nat && !this.bindNat(f, natVerdictOf(b.nat), hook))
            // nft_masq as the MASQUERADE target: no address on the device out, the packet is dropped.
            this.end(f, 'DROP', `dropped in ${where}: masquerade found no address to use on any device`);
          else next.push(f);
        });
      }
      current = next;
    }
    return current;
  }

  private iptablesHook(flows: PipelineFlow[], table: TableName, hook: Hook): PipelineFlow[] {
    const slot = this.slot(table, hook);
    // An empty built-in chain with policy ACCEPT lets everything through without a look.
    if (slot.pass) return flows;
    const env = slot.env;
    env.now = this.options.now;
    env.clock = this.clock;
    env.sets = this.sets;
    env.ruleStates = this.ruleStates;
    let out: PipelineFlow[] | null = null;
    for (const flow of flows) {
      // Left over only if a walk was cut short by an exception (none is known): not this packet's.
      if (FORKS.length !== 0) FORKS.length = 0;
      const verdict = walkFlow(slot.table!, hook, slot.base!, flow, env, this.options.sample, FORKS);
      if (flows.length === 1 && FORKS.length === 0) {
        // The usual case, one flow and one way through the table: the list comes back as it came.
        return this.settle(flow, verdict, table, hook) ? flows : NO_FLOWS;
      }
      // The forks are taken out of the shared list at once, leaving it empty for the next walk.
      const forks = FORKS.length === 0 ? NO_WALKS : FORKS.splice(0);
      out ??= [];
      if (this.settle(flow, verdict, table, hook)) out.push(flow);
      for (const { flow: f, verdict: v } of forks) if (this.settle(f, v, table, hook)) out.push(f);
    }
    return out ?? NO_FLOWS;
  }

  /** Applies a table's verdict; false when the packet's way ends here. */
  private settle(flow: PipelineFlow, verdict: TableVerdict, table: TableName, hook: Hook): boolean {
    keepConnectionMark(flow);
    switch (verdict.kind) {
      case 'ACCEPT':
        return true;
      case 'DROP':
        this.end(flow, 'DROP', `dropped in ${table}/${hook}`);
        return false;
      case 'REJECT':
        this.end(flow, 'REJECT', `rejected in ${table}/${hook} (${verdict.rejectWith})`);
        return false;
      case 'NAT':
        if (this.bindNat(flow, verdict, hook)) return true;
        // MASQUERADE with no address to take: the kernel logs "<dev> ate my IP address" and drops.
        this.end(flow, 'DROP', `dropped in ${table}/${hook}: MASQUERADE found no address to use on any device`);
        return false;
    }
  }

  /** Binds the connection's NAT; false when MASQUERADE has no address to take (the packet is dropped). */
  private bindNat(flow: PipelineFlow, verdict: NatVerdict, hook: Hook): boolean {
    const p = flow.packet;
    if (!flow.ct) return true;
    // A DNAT carries its destination on the verdict: the usual NAT reads no action object (a cache miss each).
    if (verdict.dnat) {
      const to = natTuple(p.dst, p.dport, verdict.toAddress, verdict.toAddressMax, verdict.toPort, verdict.toPortMax);
      const address = to.keep ? p.dst : natRangeAddress(to.min, to.max, p.src, p.dst, verdict.persistent);
      this.bindDestination(flow, address, to.port);
      syncCt(flow);
      return true;
    }
    const action = verdict.action;
    if (action.kind === 'REDIRECT') {
      // REDIRECT sends to the node itself: the incoming interface's first address, or loopback for local traffic.
      const address = hook === 'OUTPUT' ? 0x7f000001 : (primaryAddress(this.node, p.inIface ?? '') ?? p.dst);
      this.bindDestination(flow, address, natPort(p.dport, action.minPort, action.maxPort));
    } else {
      let address: IPv4;
      let port = p.sport;
      if (action.kind === 'SNAT') {
        const r = action;
        const to = natTuple(p.src, p.sport, r.minAddress, r.maxAddress, r.minPort, r.maxPort);
        address = to.keep ? p.src : natRangeAddress(to.min, to.max, p.src, p.dst, action.persistent);
        port = to.port;
      } else {
        const chosen = this.masqueradeAddress(p, flow.nextHop);
        if (chosen === null) return false;
        address = chosen;
        port = natPort(p.sport, action.minPort, action.maxPort);
        flow.masquerade = true;
      }
      if (action.kind === 'SNAT') flow.masquerade = true;
      // ICMP has no ports: NAT maps its addresses and leaves its type and code as they are.
      const icmp = p.protocol === 'icmp';
      if (icmp) port = p.sport;
      flow.ct = bindSnat(flow.ct, address, port);
      p.src = address;
      p.sport = port;
      const random =
        action.kind === 'MASQUERADE' && action.randomFully
          ? icmp
            ? ' (echo identifier chosen at random)'
            : ' (source port chosen at random)'
          : '';
      if (flow.hops)
        stage(
          flow,
          'conntrack',
          `new SNAT binding: source becomes ${formatEndpoint(p.protocol, address, port)}${random}`,
        );
    }
    syncCt(flow);
    return true;
  }

  /** A DNAT or REDIRECT binding: the connection's reply source, and the packet's new destination. */
  private bindDestination(flow: PipelineFlow, address: IPv4, port: number): void {
    const p = flow.packet;
    // ICMP has no ports: NAT maps its addresses and leaves its type and code as they are.
    if (p.protocol === 'icmp') port = p.dport;
    flow.ct = bindDnat(flow.ct!, address, port);
    p.dst = address;
    p.dport = port;
    flow.endpoint = formatEndpoint(p.protocol, address, port);
    if (flow.hops) stage(flow, 'conntrack', `new DNAT binding: replies will come from ${flow.endpoint}`);
  }

  /**
   * MASQUERADE's source, as the kernel picks it (inet_select_addr with universe scope, not the route's
   * preferred source): an address of the device out, the one whose subnet holds the next hop if any;
   * with none (lo has only 127/8, host scope), the first such address of any device. Null: none at all.
   */
  private masqueradeAddress(p: NfPacket, nextHop: IPv4 | null): IPv4 | null {
    const out = interfaceNamed(this.node, p.outIface ?? this.node.defaultInterface);
    const via = nextHop ?? p.dst;
    let first: IPv4 | null = null;
    for (const a of out?.addresses ?? []) {
      if (isLoopback(a.address)) continue;
      if (((a.address ^ via) & maskOf(a.prefixLength)) === 0) return a.address;
      first ??= a.address;
    }
    if (first !== null) return first;
    for (const i of this.node.interfaces) for (const a of i.addresses) if (!isLoopback(a.address)) return a.address;
    return null;
  }

  /** Conntrack at PREROUTING/OUTPUT: find the connection or start a new one. */
  conntrackIn(flows: PipelineFlow[]): PipelineFlow[] {
    for (const flow of flows) {
      if (flow.notrack) {
        flow.ct = null;
        flow.packet.ct = null;
        flow.packet.untracked = true;
        stage(flow, 'conntrack', 'untracked (NOTRACK in raw)');
        continue;
      }
      if (flow.ct) continue; // already attached (a looped-back local packet)
      const p = flow.packet;
      // The packet is its own tuple (src, dst, protocol, ports): the look-up reads no more.
      const zone = p.ctZone ?? 0;
      const found = this.node.conntrack.lookup(p, zone);
      // A SYN meeting a closed TCP connection (TIME_WAIT, CLOSE) reopens it: the kernel kills the
      // old entry and takes the SYN as a new connection.
      const reopened =
        found !== null &&
        found.entry.tcpState !== undefined &&
        TCP_REOPENABLE_STATES.has(found.entry.tcpState) &&
        p.tcpFlags?.syn === true &&
        !p.tcpFlags.ack;
      if (found === null && p.protocol === 'icmp' && !isIcmpQuery(p.sport)) {
        // Only a query (echo, timestamp, ...) opens an ICMP connection. An error is RELATED to the
        // connection whose packet it quotes, and a traced one quotes none; an answer with no query
        // before it belongs to nothing. Conntrack leaves such a packet without a connection.
        flow.ct = null;
        flow.packet.ct = null;
        stage(
          flow,
          'conntrack',
          `no connection: ICMP type ${p.sport} cannot open one and belongs to no tracked connection (ctstate INVALID; nat is not consulted)`,
        );
        continue;
      }
      if (found && !reopened) {
        flow.ct = found.entry;
        flow.ctDirection = found.direction;
        flow.ctNew = false;
        if (flow.hops)
          stage(
            flow,
            'conntrack',
            `existing connection (${found.direction === 'REPLY' ? 'reply direction' : 'original direction'})${found.entry.listed ? `, as conntrack -L lists it: ${formatEntry(found.entry)}` : ''}`,
          );
      } else {
        if (reopened && flow.hops)
          stage(
            flow,
            'conntrack',
            `a SYN reopens the closed connection (${found.entry.tcpState}): its entry is dropped`,
          );
        // A new connection's mark is 0 (the packet's own mark is not copied; CONNMARK sets it).
        const entry = newEntry({ src: p.src, dst: p.dst, protocol: p.protocol, sport: p.sport, dport: p.dport });
        // CT's template (zone, helper) goes with the connection it opens.
        flow.ct =
          zone === 0 && p.ctHelper === undefined
            ? entry
            : {
                ...entry,
                ...(zone !== 0 ? { zone } : {}),
                ...(p.ctHelper !== undefined ? { helper: p.ctHelper } : {}),
              };
        flow.ctDirection = 'ORIGINAL';
        flow.ctNew = true;
        stage(
          flow,
          'conntrack',
          zone === 0 ? 'new connection (ctstate NEW)' : `new connection (ctstate NEW) in zone ${zone}`,
        );
      }
      syncCt(flow);
    }
    return flows;
  }

  /** The nat table at a hook: rules for a new connection, the stored bindings for a known one. */
  nat(flows: PipelineFlow[], hook: Hook): PipelineFlow[] {
    const dstManip = hook === 'PREROUTING' || hook === 'OUTPUT';
    if (flows.length === 1) return this.natOne(flows, dstManip, hook);
    const consult: PipelineFlow[] = [];
    const passed: PipelineFlow[] = [];
    for (const flow of flows) {
      if (!flow.ct) {
        passed.push(flow);
        continue;
      }
      const done = dstManip ? flow.dstNatDone : flow.srcNatDone;
      if (flow.ctNew && !done) consult.push(flow);
      else {
        if (!flow.ctNew) this.applyStoredNat(flow, dstManip);
        passed.push(flow);
      }
    }
    const after = this.hook(consult, 'nat', hook);
    for (const flow of after) {
      if (dstManip) flow.dstNatDone = true;
      else flow.srcNatDone = true;
    }
    if (after.length === 0) return passed;
    return passed.length === 0 ? after : [...passed, ...after];
  }

  /** nat for a single flow (most packets): the same decisions as for many, without lists to sort them into. */
  private natOne(flows: PipelineFlow[], dstManip: boolean, hook: Hook): PipelineFlow[] {
    const flow = flows[0]!;
    if (!flow.ct) return flows;
    const done = dstManip ? flow.dstNatDone : flow.srcNatDone;
    if (!flow.ctNew || done) {
      if (!flow.ctNew) this.applyStoredNat(flow, dstManip);
      return flows;
    }
    const after = this.hook(flows, 'nat', hook);
    for (const f of after) {
      if (dstManip) f.dstNatDone = true;
      else f.srcNatDone = true;
    }
    return after;
  }

  private applyStoredNat(flow: PipelineFlow, dstManip: boolean): void {
    const ct = flow.ct!;
    const p = flow.packet;
    const original = flow.ctDirection === 'ORIGINAL';
    // Original direction: DNAT rewrites the destination, SNAT the source. Reply: the inverse. The
    // other direction's tuple inverted is what this packet must become (ICMP's type and code included).
    const target = invertTuple(original ? ct.reply : ct.original);
    if (dstManip && (p.dst !== target.dst || p.dport !== target.dport)) {
      p.dst = target.dst;
      p.dport = target.dport;
      // A later packet of a DNATed connection goes where its first went: that is its endpoint.
      if (original) flow.endpoint = formatEndpoint(p.protocol, p.dst, p.dport);
      if (flow.hops)
        stage(
          flow,
          'conntrack',
          `destination rewritten to ${formatEndpoint(p.protocol, p.dst, p.dport)} by the connection's NAT`,
        );
    }
    if (!dstManip && (p.src !== target.src || p.sport !== target.sport)) {
      p.src = target.src;
      p.sport = target.sport;
      if (original) flow.masquerade = true;
      if (flow.hops)
        stage(
          flow,
          'conntrack',
          `source rewritten to ${formatEndpoint(p.protocol, p.src, p.sport)} by the connection's NAT`,
        );
    }
  }

  /** The routing decision after PREROUTING (or OUTPUT): local delivery or forwarding, and by which device. */
  route(flow: PipelineFlow): RouteChoice {
    const dst = flow.packet.dst;
    const rules = this.node.policyRules;
    if (rules !== undefined && this.node.routes.length > 0) return routeByRules(this.node, rules, flow.packet);
    const r = routeToAddress(this.node, dst);
    if (!r) return { kind: 'none', why: `no route to ${formatIPv4(dst)}` };
    // The local table: the node's own addresses and its subnets' broadcast addresses are delivered here.
    if (r.type === 'local' || r.type === 'broadcast') return LOCAL_DELIVERY;
    if (r.type !== 'unicast') return { kind: 'none', why: `${r.type} route to ${formatIPv4(dst)}` };
    return {
      kind: 'forward',
      iface: r.dev ?? this.node.defaultInterface,
      nextHop: r.via,
      paths: pathsOf(this.node, r),
    };
  }

  /** Conntrack confirms the connection when the first packet leaves or is delivered. */
  confirm(flow: PipelineFlow): void {
    if (flow.ct && flow.ctNew) stage(flow, 'conntrack', 'connection confirmed');
  }

  /** INPUT: mangle, filter, security, IPVS (for addresses it serves), nat (source NAT), then the local socket. */
  input(flows: PipelineFlow[]): void {
    if (flows.length === 0) return;
    let f = this.hook(flows, 'mangle', 'INPUT');
    f = this.hook(f, 'filter', 'INPUT');
    f = this.hook(f, 'security', 'INPUT');
    f = this.ipvs(f);
    f = this.nat(f, 'INPUT');
    for (const flow of f) {
      this.confirm(flow);
      const proxy = (this.node.userspace ?? []).find(
        (u) => u.protocol === flow.packet.protocol && u.port === flow.packet.dport,
      );
      const assigned = flow.packet.assignedSocket;
      if (assigned)
        this.end(
          flow,
          'ACCEPT',
          `delivered to the transparent proxy's socket on ${assigned.address === 0 ? '0.0.0.0' : formatIPv4(assigned.address)}:${assigned.port} (TPROXY; the packet keeps its destination ${formatIPv4(flow.packet.dst)}:${flow.packet.dport})`,
        );
      else if (proxy) this.userspaceProxy(flow, proxy);
      else if (flow.packet.protocol === 'icmp') this.end(flow, 'ACCEPT', icmpDelivery(flow.packet));
      else
        this.end(flow, 'ACCEPT', `delivered to a local socket on ${formatIPv4(flow.packet.dst)}:${flow.packet.dport}`);
    }
  }

  /**
   * kube-proxy's userspace proxy: the connection ends at its socket (a copy into user space); it
   * picks an endpoint round robin and opens a second connection from the node, whose packets take
   * the node's OUTPUT path. A first connection without affinity may go to any endpoint, one
   * branch each; the endpoint sees the node's address as the source.
   */
  private userspaceProxy(flow: PipelineFlow, proxy: UserspaceProxy): void {
    const p = flow.packet;
    stage(
      flow,
      'userspace',
      `delivered to kube-proxy's socket for ${proxy.servicePortName} on port ${proxy.port}: copied to user space`,
    );
    if (proxy.endpoints.length === 0) {
      this.end(
        flow,
        'NO_ENDPOINTS',
        `kube-proxy has no endpoint for ${proxy.servicePortName}: it closes the connection`,
      );
      return;
    }
    this.userCopies += 2;
    this.contextSwitches += 2;
    stage(
      flow,
      'userspace',
      `the endpoint's replies come back to kube-proxy, which copies them to this connection: the client sees ${formatEndpoint(p.protocol, flow.ct?.original.dst ?? p.dst, flow.ct?.original.dport ?? p.dport)} answer`,
    );
    // A sampled packet is one real connection: kube-proxy's LoadBalancerRR decides (affinity first,
    // then round robin) and remembers. A full trace lists every endpoint a first connection may get.
    let endpoints = proxy.endpoints.map((ep, i) => ({
      ep,
      why: `round robin may pick ${formatEndpoint(p.protocol, ep.address, ep.port)} (endpoint ${i + 1} of ${proxy.endpoints.length})`,
    }));
    const balancer = this.node.userspaceBalancer;
    if (this.options.sample && balancer) {
      const next = nextEndpoint(balancer.lb, proxy.servicePortName, formatIPv4(p.src), this.options.now * 1000);
      balancer.lb = next.lb;
      const chosen = next.ok
        ? endpoints.find((e) => formatEndpoint(p.protocol, e.ep.address, e.ep.port) === next.endpoint)
        : undefined;
      if (chosen)
        endpoints = [
          {
            ...chosen,
            why: `LoadBalancerRR picks ${chosen.ep === undefined ? '' : formatEndpoint(p.protocol, chosen.ep.address, chosen.ep.port)} (affinity, else the next in round robin)`,
          },
        ];
    }
    endpoints.forEach(({ ep, why }, i) => {
      const branch = i === endpoints.length - 1 ? flow : forkFlow(flow, flow.probability);
      branch.probability *= 1 / endpoints.length;
      branch.endpoint = formatEndpoint(p.protocol, ep.address, ep.port);
      stage(branch, 'userspace', `${why}; kube-proxy opens a second connection to it`);
      // The second connection: a new packet from the node's own address, copied down from user space.
      const out: NfPacket = {
        ...p,
        src: 0,
        dst: ep.address,
        dport: ep.port,
        sport: 45000 + (p.sport % 20000),
        inIface: null,
        outIface: null,
        mark: 0,
        ttl: DEFAULT_TTL,
        tos: 0,
        ct: null,
        ipvs: null,
        // kube-proxy's own socket (it runs as root).
        socket: ROOT_SOCKET,
      };
      const second: PipelineFlow = {
        ...branch,
        packet: out,
        ct: null,
        ctNew: false,
        dstNatDone: false,
        srcNatDone: false,
        notrack: false,
        masquerade: false,
      };
      const r = this.route(second);
      const iface = r.kind === 'forward' ? r.iface : 'lo';
      out.src =
        (r.kind === 'forward' ? lookupRoute(this.node.routes, ep.address)?.src : null) ??
        primaryAddress(this.node, iface) ??
        p.dst;
      stage(
        second,
        'userspace',
        `second connection ${formatEndpoint(p.protocol, out.src, out.sport)} -> ${branch.endpoint}: copied back to the kernel`,
      );
      this.fromLocal(second);
    });
  }

  /**
   * IPVS scheduling of new connections to a virtual service: each real server with weight is a
   * branch with its share of the weights, what a round of the scheduler hands out (the next pick
   * depends on the scheduler's state). Returns the DNATed branches and the flows IPVS left alone.
   */
  private ipvsSchedule(flows: PipelineFlow[]): { taken: PipelineFlow[]; passed: PipelineFlow[] } {
    const services = this.node.ipvs ?? [];
    if (services.length === 0) return { taken: [], passed: flows };
    const taken: PipelineFlow[] = [];
    const passed: PipelineFlow[] = [];
    for (const flow of flows) {
      const p = flow.packet;
      const vs = services.find((s) => s.protocol === p.protocol && s.address === p.dst && s.port === p.dport);
      if (vs) this.ipvsLookups++;
      if (!vs || !flow.ct || !flow.ctNew) {
        passed.push(flow);
        continue;
      }
      const vsText = `${p.protocol.toUpperCase()} ${formatEndpoint(p.protocol, vs.address, vs.port)} ${vs.scheduler}${vs.flags.persistent ? ` persistent ${vs.timeout}` : ''}`;
      const usable = vs.servers.filter((r) => r.weight > 0 && !r.overloaded);
      if (usable.length === 0) {
        stage(flow, 'ipvs', `${vsText}: no real server can take the connection`);
        this.end(flow, 'NO_ENDPOINTS', `IPVS ${vsText} has no real servers`);
        continue;
      }
      // A sampled packet is a real connection: the kernel's connection table, persistence
      // templates and scheduler state decide it, as they stand after the packets before it.
      if (this.options.sample) {
        const r = schedule(
          ipvsTableOf(this.node),
          { protocol: p.protocol, src: p.src, sport: p.sport, dst: p.dst, dport: p.dport, tcpFlags: p.tcpFlags },
          this.options.now,
        );
        if (r.kind === 'forward') {
          this.ipvsDnat(flow, vs, r.connection.daddr, r.connection.dport, `${vsText} -> `, ` (${r.reason})`);
          taken.push(flow);
          continue;
        }
        if (r.kind === 'no-destination') {
          stage(flow, 'ipvs', `${vsText}: ${r.reason}`);
          this.end(flow, 'NO_ENDPOINTS', `IPVS ${vsText} has no real server for it`);
          continue;
        }
        if (r.kind !== 'unsupported') {
          stage(flow, 'ipvs', r.reason);
          passed.push(flow);
          continue;
        }
      }
      const total = usable.reduce((n, r) => n + r.weight, 0);
      // What the kernel's scheduler, in the state this table is in, picks for this very packet.
      const next = pickServer(
        vs.scheduler,
        initSchedulerState(vs.scheduler, vs.servers),
        vs.servers,
        p,
        NO_SCHED_FLAGS,
      );
      stage(
        flow,
        'ipvs',
        `${vsText}: scheduler's next pick: ${next.reason}; over a round each real server gets its share of the weights`,
      );
      // A full trace follows every real server; a sampled packet on a scheduler not modelled draws one by weight.
      let chosen = usable;
      if (this.options.sample) {
        chosen = [drawnByWeight(usable, total, this.options.sample())];
      }
      chosen.forEach((rs, i) => {
        const branch = i === chosen.length - 1 ? flow : forkFlow(flow, flow.probability);
        branch.probability *= rs.weight / total;
        this.ipvsDnat(
          branch,
          vs,
          rs.address,
          rs.port,
          `${vsText} -> `,
          ` (real server ${i + 1} of ${usable.length}, weight ${rs.weight}/${total})`,
        );
        taken.push(branch);
      });
    }
    return { taken, passed };
  }

  /** IPVS hands the connection to a real server: conntrack records the DNAT (ip_vs_nfct_expect_related). */
  private ipvsDnat(
    branch: PipelineFlow,
    vs: VirtualService,
    address: IPv4,
    port: number,
    before: string,
    after: string,
  ): void {
    const bp = branch.packet;
    branch.ct = bindDnat(branch.ct!, address, port);
    bp.ipvs = { protocol: bp.protocol, address: vs.address, port: vs.port };
    bp.dst = address;
    bp.dport = port;
    branch.endpoint = formatEndpoint(bp.protocol, address, port);
    branch.dstNatDone = true;
    syncCt(branch);
    stage(branch, 'ipvs', `${before}${branch.endpoint}${after}`);
  }

  /** IPVS at LOCAL_IN (after filter INPUT, before nat INPUT), for packets that arrived from outside. */
  private ipvs(flows: PipelineFlow[]): PipelineFlow[] {
    const { taken, passed } = this.ipvsSchedule(flows);
    for (const branch of taken) this.ipvsTransmit(branch);
    return passed;
  }

  /** ip_vs_nat_xmit: the rewritten packet leaves through LOCAL_OUT (nat is not consulted again) and POSTROUTING. */
  private ipvsTransmit(flow: PipelineFlow): void {
    flow.packet.inIface = null;
    if (!this.ipvsTtl(flow)) return;
    let f = this.hook([flow], 'mangle', 'OUTPUT');
    f = this.hook(f, 'filter', 'OUTPUT');
    f = this.hook(f, 'security', 'OUTPUT');
    const go: PipelineFlow[] = [];
    for (const fl of f) {
      const r = this.route(fl);
      if (r.kind === 'forward') {
        if (fl.hops)
          stage(
            fl,
            'routing',
            `out ${r.iface}${r.nextHop === null ? '' : ` via ${formatIPv4(r.nextHop)}`}${noteText(r.note)}`,
          );
        setRoute(fl, r.iface, r.nextHop);
        go.push(fl);
      } else if (r.kind === 'local') {
        setRoute(fl, 'lo', null);
        go.push(fl);
      } else this.end(fl, 'NO_ROUTE', r.why);
    }
    this.postrouting(go);
  }

  /** IPVS sends a connection to a real server on another host with one off its TTL (none off for a local one). */
  private ipvsTtl(flow: PipelineFlow): boolean {
    return (
      this.route(flow).kind !== 'forward' ||
      this.ttlSpent(flow, 'IPVS sends it to a real server elsewhere, but', 'IPVS')
    );
  }

  /** POSTROUTING then out of the device the route chose (the flow's outIface and nextHop, copied into any fork). */
  postrouting(flows: PipelineFlow[]): void {
    let f = this.hook(flows, 'mangle', 'POSTROUTING');
    f = this.nat(f, 'POSTROUTING');
    for (const flow of f) {
      this.confirm(flow);
      const dev = flow.packet.outIface ?? this.node.defaultInterface;
      const nextHop = flow.nextHop;
      if (dev === 'lo' || isLocalAddress(this.node, flow.packet.dst)) {
        // Looped back: the packet comes in again on lo, keeping its connection (nat is not consulted again).
        stage(flow, 'routing', 'looped back through lo');
        flow.packet.inIface = 'lo';
        flow.packet.outIface = null;
        // loopback_xmit orphans the packet: coming in again, it has no socket.
        flow.packet.socket = null;
        const again = this.hook(this.hook([flow], 'raw', 'PREROUTING'), 'mangle', 'PREROUTING');
        this.input(this.nat(again, 'PREROUTING'));
        continue;
      }
      if (this.node.vxlan && dev === this.node.vxlan.device.name) {
        this.encapsulate(flow, nextHop);
        continue;
      }
      this.end(flow, 'ACCEPT', null, dev, nextHop);
    }
  }

  /**
   * Out of a VXLAN device: the MTU check, then next hop → VTEP MAC (neighbour
   * table) → remote IP (FDB), and the packet inside outer UDP/IP headers. A
   * packet too big for the device is dropped when it carries DF (the default,
   * as TCP and PMTU-discovering UDP sockets set it); without DF it is cut into
   * fragments after POSTROUTING (netfilter saw it whole, as defrag gives it)
   * and each fragment is encapsulated on its own.
   */
  private encapsulate(flow: PipelineFlow, nextHop: IPv4 | null): void {
    const vxlan = this.node.vxlan!;
    const dev = vxlan.device.name;
    const p = flow.packet;
    const inner = { ...p, df: p.df ?? true, inner: null };
    const fits = checkMtu(inner, vxlan.mtu);
    if (fits.kind === 'frag-needed') {
      const why = `${p.length} bytes exceed ${dev}'s MTU ${vxlan.mtu} with DF set: ICMP fragmentation needed (mtu ${vxlan.mtu}) to ${formatIPv4(p.src)}`;
      stage(flow, `${dev} mtu`, why);
      this.end(flow, 'DROP', `dropped at ${dev}: ${why}`);
      return;
    }
    const pieces = fits.kind === 'fragmented' ? fits.fragments : [inner];
    if (fits.kind === 'fragmented')
      stage(
        flow,
        `${dev} mtu`,
        `${p.length} bytes exceed ${dev}'s MTU ${vxlan.mtu}, no DF: ${pieces.length} fragments of ${pieces.map((f) => f.length).join(' + ')} bytes`,
      );
    const mac = nextHop === null ? undefined : vxlan.neighbours.get(nextHop);
    if (mac === undefined) {
      this.end(
        flow,
        'NO_ROUTE',
        `${dev}: no neighbour entry for ${nextHop === null ? 'the destination' : formatIPv4(nextHop)}`,
      );
      return;
    }
    const remote = vxlan.fdb.get(mac);
    if (remote === undefined) {
      this.end(flow, 'NO_ROUTE', `${dev}: no fdb entry for ${mac}`);
      return;
    }
    const frames = pieces.map((piece) => vxlanEncapsulate(piece, vxlan.device, remote));
    const e = frames[0]!;
    const underlay = lookupRoute(this.node.routes, remote);
    const out = underlay?.dev ?? this.node.defaultInterface;
    const size =
      frames.length === 1
        ? `${e.outer.length} bytes, ${e.frameBytes}-byte frame on ${out}`
        : `${frames.length} frames of ${frames.map((f) => f.frameBytes).join(' + ')} bytes on ${out}`;
    stage(
      flow,
      `${dev} encap`,
      `VXLAN VNI ${e.vni} to ${mac}: outer ${formatFlow(e.outer)} (${size}), inner ${formatFlow(p)} (${p.length} bytes)`,
    );
    const sent = `sent out ${dev} via ${formatIPv4(nextHop!)}, encapsulated (VNI ${e.vni}) to ${formatIPv4(remote)}:${vxlan.device.port} out ${out}`;
    for (const o of this.sendOuter(flow, e.outer)) {
      if (o.outcome === 'ACCEPT') this.end(o.flow, 'ACCEPT', sent, dev, nextHop);
      else this.end(o.flow, o.outcome, `the VXLAN datagram ${formatFlow(e.outer)} ${o.disposition}`);
    }
  }

  /**
   * The outer datagram is the kernel's own (udp_tunnel_xmit_skb -> ip_local_out): a packet
   * of the node with a connection of its own (the inner one's is reset) and the inner
   * packet's mark, through raw, mangle, nat and filter OUTPUT and POSTROUTING, where the
   * node's rules may drop it. Returns the inner flow once per way the outer one ended,
   * carrying the outer walk's hops, rule count and probability.
   */
  private sendOuter(
    flow: PipelineFlow,
    outer: Packet,
  ): { flow: PipelineFlow; outcome: Outcome; disposition: string }[] {
    const packet: NfPacket = {
      src: outer.src,
      dst: outer.dst,
      protocol: outer.protocol,
      sport: outer.sport,
      dport: outer.dport,
      length: outer.length,
      tcpFlags: null,
      fragment: false,
      // The vxlan device sets no TTL of its own (the route's hop limit, 64) and copies the inner ECN bits.
      ttl: DEFAULT_TTL,
      tos: ecnEncapsulated(flow.packet.tos),
      inIface: null,
      outIface: null,
      physIn: null,
      physOut: null,
      mark: flow.packet.mark,
      ct: null,
      ipvs: null,
      // skb_scrub_packet (no namespace crossed) keeps the socket that sent the inner packet, if any
      // (probed: a root process's datagrams matched --uid-owner 0 once encapsulated).
      socket: flow.packet.socket ?? null,
    };
    packet.df = false;
    stage(flow, 'vxlan outer', `${formatFlow(outer)} leaves as the node's own packet: OUTPUT, then POSTROUTING`);
    const carrier = freshFlow(packet, flow.probability, flow.hops, flow.rulesEvaluated, flow.state);
    const sub = new Pipeline(this.node, this.options, false);
    sub.fromLocal(carrier);
    this.ipvsLookups += sub.ipvsLookups;
    this.nftLookups += sub.nftLookups;
    return sub.ended.map((o, i) => {
      const inner = i === sub.ended.length - 1 ? flow : forkFlow(flow, flow.probability);
      inner.probability = o.flow.probability;
      inner.rulesEvaluated = o.flow.rulesEvaluated;
      inner.hops = o.flow.hops;
      return { flow: inner, outcome: o.outcome, disposition: o.disposition };
    });
  }

  /** A packet arriving on an interface. */
  fromInterface(flow: PipelineFlow): void {
    let f = this.hook([flow], 'raw', 'PREROUTING');
    f = this.conntrackIn(f);
    f = this.hook(f, 'mangle', 'PREROUTING');
    f = this.nat(f, 'PREROUTING');
    this.afterRouting(f);
  }

  private afterRouting(flows: PipelineFlow[]): void {
    if (flows.length === 1) {
      // One flow (most packets): its list goes on as it is.
      const way = this.routeDecision(flows[0]!);
      if (way === 'local') this.input(flows);
      else if (way === 'forward') this.forward(flows);
      else if (way !== null) this.forward(way);
      return;
    }
    const local: PipelineFlow[] = [];
    const forward: PipelineFlow[] = [];
    for (const flow of flows) {
      const way = this.routeDecision(flow);
      if (way === 'local') local.push(flow);
      else if (way === 'forward') forward.push(flow);
      else if (way !== null) forward.push(...way);
    }
    this.input(local);
    this.forward(forward);
  }

  /**
   * The routing decision for one flow: delivered here, forwarded (its route set), or ended (martian,
   * no route); a multipath route forwards the branches `multipath` makes.
   */
  private routeDecision(flow: PipelineFlow): 'local' | 'forward' | PipelineFlow[] | null {
    const martian = this.martian(flow.packet);
    if (martian !== null) {
      this.end(flow, 'NO_ROUTE', martian);
      return null;
    }
    const r = this.route(flow);
    if (r.kind === 'local') {
      if (flow.hops) stage(flow, 'routing', `${formatIPv4(flow.packet.dst)} is local: INPUT${noteText(r.note)}`);
      return 'local';
    }
    if (r.kind === 'forward' && flow.packet.assignedSocket) {
      // ip_forward drops a packet that has a socket: TPROXY's needs a policy route that delivers it here.
      this.end(
        flow,
        'DROP',
        `routed out ${r.iface}, but TPROXY gave it a socket and ip_forward drops such a packet (${this.node.policyRules ? 'no policy rule routes its mark to a local table' : "give the node's ip rule show with --ip-rules: a fwmark rule to a local table delivers it"})`,
      );
      return null;
    }
    if (r.kind === 'forward') {
      if (!this.ttlSpent(flow, `routed out ${r.iface}, but`, 'ip_forward')) return null;
      if (r.paths) return this.multipath(flow, r, r.paths, 'forward: out');
      if (flow.hops)
        stage(
          flow,
          'routing',
          `forward: out ${r.iface}${r.nextHop === null ? '' : ` via ${formatIPv4(r.nextHop)}`}${noteText(r.note)}`,
        );
      setRoute(flow, r.iface, r.nextHop);
      return 'forward';
    }
    this.end(flow, 'NO_ROUTE', r.why);
    return null;
  }

  /**
   * Takes one off a packet's TTL on its way to another host (ip_forward, and IPVS's
   * __ip_vs_get_out_rt): at 1 or less it ends here instead, the sender told with an ICMP time
   * exceeded. False when it ended.
   */
  private ttlSpent(flow: PipelineFlow, before: string, who: string): boolean {
    const p = flow.packet;
    if (p.ttl <= 1) {
      this.end(
        flow,
        'DROP',
        `${before} its TTL is ${p.ttl}: ${who} drops it and sends ICMP time exceeded to ${formatIPv4(p.src)}`,
      );
      return false;
    }
    p.ttl -= 1;
    return true;
  }

  /**
   * A multipath route: the kernel hashes the flow's addresses with a key drawn at boot to choose a
   * path, so each path is a branch with its share of the weights (a sampled packet draws one by
   * weight); each branch leaves with its path set.
   */
  private multipath(
    flow: PipelineFlow,
    choice: { readonly note?: string | undefined },
    paths: readonly RoutePath[],
    verb: string,
  ): PipelineFlow[] {
    let total = 0;
    for (const path of paths) total += path.weight;
    let chosen = paths;
    if (this.options.sample) {
      chosen = [drawnByWeight(paths, total, this.options.sample())];
    }
    return chosen.map((path, i) => {
      const branch = i === chosen.length - 1 ? flow : forkFlow(flow, flow.probability);
      branch.probability *= path.weight / total;
      if (branch.hops)
        stage(
          branch,
          'routing',
          `${verb} ${path.iface}${path.nextHop === null ? '' : ` via ${formatIPv4(path.nextHop)}`} (multipath path ${paths.indexOf(path) + 1} of ${paths.length}, weight ${path.weight}/${total}: the kernel hashes each flow to one path${choice.note ? `; ${choice.note}` : ''})`,
        );
      setRoute(branch, path.iface, path.nextHop);
      return branch;
    });
  }

  /** FORWARD: mangle, filter, security, then POSTROUTING. */
  private forward(flows: PipelineFlow[]): void {
    if (flows.length === 0) return;
    let f = this.hook(flows, 'mangle', 'FORWARD');
    f = this.hook(f, 'filter', 'FORWARD');
    f = this.hook(f, 'security', 'FORWARD');
    this.postrouting(f);
  }

  /**
   * ip_route_input: a loopback destination or source on a packet that came in by a device is a
   * martian, dropped before INPUT or FORWARD, unless route_localnet is on (kube-proxy sets it for
   * localhost NodePorts).
   */
  private martian(p: NfPacket): string | null {
    if (p.inIface === null || p.inIface === 'lo') return null;
    const from = `from ${p.inIface}`;
    // A multicast or limited-broadcast source, 0.0.0.0 except to the limited broadcast (DHCP), or one
    // of this node's own addresses coming in by a device (fib_validate_source; accept_local is off).
    if (p.src >>> 28 === 0xe || p.src === 0xffffffff) return `martian source ${formatIPv4(p.src)} ${from}`;
    if (p.src >>> 24 === 0 && p.dst !== 0xffffffff) return `martian source ${formatIPv4(p.src)} ${from}`;
    if (!isLoopback(p.src) && addressType(this.node, p.src, null) === 'LOCAL')
      return `martian source ${formatIPv4(p.src)} ${from} (an address of this node)`;
    if (this.node.routeLocalnet !== false) return null;
    if (isLoopback(p.dst)) return `martian destination ${formatIPv4(p.dst)} from ${p.inIface} (route_localnet is off)`;
    if (isLoopback(p.src)) return `martian source ${formatIPv4(p.src)} from ${p.inIface} (route_localnet is off)`;
    return null;
  }

  /** A packet a process on the node sends. */
  fromLocal(flow: PipelineFlow): void {
    const first = this.route(flow);
    if (first.kind === 'none') {
      this.end(flow, 'NO_ROUTE', first.why);
      return;
    }
    // The output route is chosen before OUTPUT (its -o sees the device): a multipath route's path
    // too, each path a branch unless the packet's source address is on one of the paths' devices.
    let flows: PipelineFlow[] = [flow];
    if (first.kind === 'forward' && first.paths) {
      const own = first.paths.find((path) => interfaceOfAddress(this.node, flow.packet.src) === path.iface);
      if (own) setRoute(flow, own.iface, own.nextHop);
      else flows = this.multipath(flow, first, first.paths, 'out');
    } else flow.packet.outIface = first.kind === 'forward' ? first.iface : 'lo';
    let f = this.hook(flows, 'raw', 'OUTPUT');
    f = this.conntrackIn(f);
    f = this.hook(f, 'mangle', 'OUTPUT');
    f = this.nat(f, 'OUTPUT');
    // IPVS takes locally generated connections at LOCAL_OUT, just after nat OUTPUT.
    const scheduled = this.ipvsSchedule(f);
    f = [...scheduled.passed, ...scheduled.taken.filter((fl) => this.ipvsTtl(fl))];
    f = this.hook(f, 'filter', 'OUTPUT');
    f = this.hook(f, 'security', 'OUTPUT');
    // NAT may have changed the destination: route again (ip_route_me_harder).
    const go: PipelineFlow[] = [];
    for (const fl of f) {
      const r = this.route(fl);
      if (r.kind === 'none') this.end(fl, 'NO_ROUTE', r.why);
      else if (r.kind === 'forward' && r.paths) {
        // The same multipath route again: the flow keeps the path it took; another one branches anew.
        const kept = r.paths.find((path) => path.iface === fl.packet.outIface && path.nextHop === fl.nextHop);
        if (kept) go.push(fl);
        else go.push(...this.multipath(fl, r, r.paths, 'out'));
      } else {
        if (r.kind === 'local') setRoute(fl, 'lo', null);
        else setRoute(fl, r.iface, r.nextHop);
        if (fl.hops)
          stage(
            fl,
            'routing',
            (r.kind === 'local' ? `${formatIPv4(fl.packet.dst)} is local: out lo` : `out ${fl.packet.outIface}`) +
              noteText(r.note),
          );
        go.push(fl);
      }
    }
    this.postrouting(go);
  }
}

/** An nft NAT statement as the verdict of the iptables target that binds the connection the same way. */
function natVerdictOf(nat: NftNat): NatVerdict {
  const random = nat.flags.includes('random');
  if (nat.kind === 'dnat' || nat.kind === 'snat')
    return natVerdict({
      kind: nat.kind === 'dnat' ? 'DNAT' : 'SNAT',
      minAddress: nat.minAddress,
      maxAddress: nat.maxAddress,
      minPort: nat.minPort,
      maxPort: nat.maxPort,
      random,
      persistent: nat.flags.includes('persistent'),
    });
  if (nat.kind === 'redirect') return natVerdict({ kind: 'REDIRECT', minPort: nat.minPort, maxPort: nat.maxPort });
  return natVerdict({
    kind: 'MASQUERADE',
    minPort: nat.minPort,
    maxPort: nat.maxPort,
    randomFully: nat.flags.includes('fully-random'),
    random,
  });
}

// A flow starts with no xt_recent lists and no nfacct counts. The matches copy these maps before
// changing them (forked flows share them), so every packet can start from the same empty ones.
const NO_RECENT: FlowState['recent'] = new Map();
const NO_NFACCT: FlowState['nfacct'] = new Map();
const NO_SET_EDITS: FlowState['setEdits'] = [];

/** A packet's flow before conntrack has seen it: no connection, no NAT, no endpoint yet. */
function freshFlow(
  packet: NfPacket,
  probability: number,
  hops: PipelineFlow['hops'],
  rulesEvaluated: number,
  state: FlowState,
): PipelineFlow {
  return {
    packet,
    probability,
    hops,
    rulesEvaluated,
    state,
    notrack: false,
    ct: null,
    ctDirection: 'ORIGINAL',
    ctNew: false,
    dstNatDone: false,
    srcNatDone: false,
    endpoint: null,
    masquerade: false,
    nextHop: null,
  };
}

/** Runs one packet through the node; every branch ends in the returned list. */
export function runPipeline(
  node: SimNode,
  packet: NfPacket,
  origin: PacketOrigin,
  options: PipelineOptions,
): {
  readonly ended: readonly BranchEnd[];
  readonly ipvsLookups: number;
  readonly nftLookups: number;
  readonly userCopies: number;
  readonly contextSwitches: number;
} {
  // A sampled packet is a real connection: it meets the recent lists earlier ones left.
  const recent = options.sample ? recentListsOf(node) : NO_RECENT;
  const flow = freshFlow(packet, 1, options.recordHops ? [] : null, 0, {
    recent,
    nfacct: NO_NFACCT,
    setEdits: NO_SET_EDITS,
  });
  const pipeline = new Pipeline(node, options);
  if (origin.kind === 'local') {
    packet.inIface = null;
    pipeline.fromLocal(flow);
  } else {
    packet.inIface = origin.iface;
    // br_netfilter: iptables sees the bridge port a pod's packet came in by (-m physdev).
    if (interfaceNamed(node, origin.iface)?.bridge) packet.physIn = 'veth';
    pipeline.fromInterface(flow);
  }
  const taken = pipeline.ended[0];
  if (options.sample && taken) {
    keepRecentLists(node, taken.flow.state.recent);
    keepSetEdits(node, taken.flow.state.setEdits);
  }
  // The pipeline holds what its caller reads: the ends and the counts.
  return pipeline;
}
