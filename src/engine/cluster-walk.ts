// A packet's way across the cluster: traced on the node it starts on, then,
// where a branch leaves by flannel.1 (VXLAN) or by eth0 towards another node's
// address (host-gw), carried over the underlay to the node that owns the
// destination address and traced again there, until it is delivered, dropped,
// or leaves the cluster. Each far node sees the packet as it arrives: the inner
// packet on flannel.1 after decapsulation, or the routed packet on eth0.
import {
  formatFlow,
  formatIPv4,
  type IPv4,
  icmpAnswerOf,
  parseIPv4,
  prefixContains,
  SYN,
  vxlanEncapsulate,
} from '../net';
import type { Outcome } from './node-pipeline';
import { interfaceNamed, interfaceOfAddress, type SimNode } from './sim-node';
import { type BranchExit, type TraceHop, type TraceRequest, tracePacket } from './trace';

export interface ClusterPath {
  readonly probability: number;
  readonly outcome: Outcome;
  /** Where it ended, on the last node. */
  readonly disposition: string;
  /** The nodes the packet went through, in order. */
  readonly nodes: readonly string[];
  readonly hops: readonly TraceHop[];
  /** The endpoint the first DNAT chose, if any. */
  readonly endpoint: string | null;
  readonly masquerade: boolean;
  readonly final: string;
  /** Rules evaluated on every node of the path together. */
  readonly rulesEvaluated: number;
  /** How the packet left the last node (into a pod on cni0, or out of the cluster), when it was accepted. */
  readonly exit: BranchExit | null;
}

/** Nodes cross at most this many times: a routing loop between nodes ends the walk. */
const MAX_NODES = 8;

function ownerOf(nodes: ReadonlyMap<string, SimNode>, address: IPv4): SimNode | undefined {
  for (const node of nodes.values()) if (interfaceOfAddress(node, address) !== null) return node;
  return undefined;
}

interface NextLeg {
  readonly node: SimNode;
  readonly iface: string;
  readonly hops: TraceHop[];
  /** Routers the packet itself crosses on the way (each takes one off its TTL; a VXLAN packet's outer header crosses them). */
  readonly routers: number;
}

/** A node's underlay subnet: the network of its default interface's first address. */
function underlaySubnet(node: SimNode): { network: IPv4; prefixLength: number } | null {
  const a = interfaceNamed(node, node.defaultInterface)?.addresses[0];
  if (!a) return null;
  const mask = a.prefixLength === 0 ? 0 : (0xffffffff << (32 - a.prefixLength)) >>> 0;
  return { network: (a.address & mask) >>> 0, prefixLength: a.prefixLength };
}

/**
 * Nodes in different subnets reach each other through the underlay router, which has each
 * subnet's first address (every node's default gateway): one more hop on the way.
 */
function routerHops(from: SimNode, to: SimNode, packet: string): TraceHop[] {
  const a = underlaySubnet(from);
  const b = underlaySubnet(to);
  if (!a || !b || (a.network === b.network && a.prefixLength === b.prefixLength)) return [];
  const gw = (s: { network: IPv4 }) => formatIPv4((s.network + 1) >>> 0);
  return [
    {
      node: from.name,
      stage: 'underlay router',
      action: `${packet} routed from ${formatIPv4(a.network)}/${a.prefixLength} (router ${gw(a)}) to ${formatIPv4(b.network)}/${b.prefixLength} (router ${gw(b)})`,
    },
  ];
}

/** Where a packet that left `from` by `exit` arrives, with the underlay hops in between; null if it left the cluster. */
function nextLeg(nodes: ReadonlyMap<string, SimNode>, from: SimNode, exit: BranchExit): NextLeg | null {
  const ip = (t: string) => parseIPv4(t)!;
  const tuple = formatFlow({ ...exit, src: ip(exit.src), dst: ip(exit.dst) });
  const vxlan = from.vxlan;
  if (vxlan && exit.iface === vxlan.device.name && exit.nextHop !== null) {
    const mac = vxlan.neighbours.get(ip(exit.nextHop));
    const remote = mac === undefined ? undefined : vxlan.fdb.get(mac);
    const to = remote === undefined ? undefined : ownerOf(nodes, remote);
    if (remote === undefined || !to) return null;
    const inner = { ...exit, src: ip(exit.src), dst: ip(exit.dst), tcpFlags: null, df: true, inner: null };
    const outer = vxlanEncapsulate(inner, vxlan.device, remote).outer;
    const underlay = `udp ${formatIPv4(outer.src)}:${outer.sport} -> ${formatIPv4(outer.dst)}:${outer.dport}`;
    const toIface = interfaceOfAddress(to, remote) ?? to.defaultInterface;
    return {
      node: to,
      iface: vxlan.device.name,
      routers: 0,
      hops: [
        {
          node: from.name,
          stage: 'underlay',
          action: `${from.name} ${from.defaultInterface} -> ${to.name} ${toIface}: ${underlay} (VXLAN VNI ${vxlan.device.vni})`,
        },
        ...routerHops(from, to, underlay),
        {
          node: to.name,
          stage: `${vxlan.device.name} decap`,
          action: `${to.name} ${toIface} -> ${vxlan.device.name} decap: inner ${tuple}`,
        },
      ],
    };
  }
  // Directly connected (no gateway): the destination itself is the next hop, e.g. another
  // node's address on the underlay (a reply to traffic that node masqueraded).
  const direct = ownerOf(nodes, ip(exit.nextHop ?? exit.dst));
  if (direct) {
    if (direct === from) return null;
    const hop = ip(exit.nextHop ?? exit.dst);
    const toIface = interfaceOfAddress(direct, hop) ?? direct.defaultInterface;
    const routed = routerHops(from, direct, tuple);
    return {
      node: direct,
      iface: toIface,
      routers: routed.length,
      hops: [
        {
          node: from.name,
          stage: 'underlay',
          action: `${from.name} ${exit.iface} -> ${direct.name} ${toIface}: ${tuple}`,
        },
        ...routed,
      ],
    };
  }
  // Through a gateway no node owns (the underlay router): it delivers the packet to the node
  // whose underlay address it is for, on that node's NIC, one router hop at least.
  if (exit.nextHop === null) return null;
  const dst = ip(exit.dst);
  const to = [...nodes.values()].find((n) =>
    interfaceNamed(n, n.defaultInterface)?.addresses.some((a) => a.address === dst),
  );
  if (!to || to === from) return null;
  const between = routerHops(from, to, tuple);
  const routed: TraceHop[] =
    between.length > 0
      ? between
      : [
          {
            node: from.name,
            stage: 'underlay router',
            action: `${tuple} routed back into the same subnet by ${exit.nextHop}`,
          },
        ];
  return {
    node: to,
    iface: to.defaultInterface,
    routers: routed.length,
    hops: [
      {
        node: from.name,
        stage: 'underlay',
        action: `${from.name} ${exit.iface} -> ${to.name} ${to.defaultInterface}: ${tuple}`,
      },
      ...routed,
    ],
  };
}

/** A packet for a pod subnet the CNI could not route to left by the default route: say why. */
function withUnroutableNote(node: SimNode, path: ClusterPath, exit: BranchExit): ClusterPath {
  const dst = parseIPv4(exit.dst)!;
  const note = node.unroutable?.find((u) => prefixContains(u.prefix, dst));
  if (!note) return path;
  return {
    ...path,
    hops: [...path.hops, { node: node.name, stage: 'routing', action: note.why }],
    disposition: `${path.disposition}, not to the pod's node: ${note.why}`,
  };
}

export function walkCluster(
  nodes: ReadonlyMap<string, SimNode>,
  start: string,
  request: TraceRequest,
  visited: readonly string[] = [],
): ClusterPath[] {
  const node = nodes.get(start);
  if (!node) throw new Error(`walkCluster: no node ${start}`);
  const t = tracePacket(node, request);
  const paths: ClusterPath[] = [];
  const seen = [...visited, start];
  for (const b of t.branches) {
    const here: ClusterPath = {
      probability: b.probability,
      outcome: b.outcome,
      disposition: b.disposition,
      nodes: seen,
      hops: b.hops,
      endpoint: b.endpoint,
      masquerade: b.masquerade,
      final: b.final,
      rulesEvaluated: b.rulesEvaluated,
      exit: b.exit,
    };
    const leg = b.exit && seen.length < MAX_NODES ? nextLeg(nodes, node, b.exit) : null;
    if (!leg || !b.exit) {
      paths.push(b.exit ? withUnroutableNote(node, here, b.exit) : here);
      continue;
    }
    if (b.exit.ttl <= leg.routers) {
      // A router forwards the packet itself (not a VXLAN datagram carrying it): at TTL 1 it is dropped there.
      const why = `the underlay router drops it: its TTL is ${b.exit.ttl} (ICMP time exceeded to ${b.exit.src})`;
      paths.push({
        ...here,
        outcome: 'DROP',
        disposition: why,
        hops: [...b.hops, ...leg.hops, { node: node.name, stage: 'underlay router', action: why }],
        exit: null,
      });
      continue;
    }
    const further = walkCluster(
      nodes,
      leg.node.name,
      {
        src: parseIPv4(b.exit.src)!,
        dst: parseIPv4(b.exit.dst)!,
        protocol: b.exit.protocol,
        sport: b.exit.sport,
        dport: b.exit.dport,
        length: b.exit.length,
        ttl: b.exit.ttl - leg.routers,
        tos: b.exit.tos,
        origin: { kind: 'interface', iface: leg.iface },
        ...(request.tcpFlags !== undefined ? { tcpFlags: request.tcpFlags } : {}),
        ...(request.sample ? { sample: request.sample } : {}),
        ...(request.commit ? { commit: true } : {}),
        ...(request.df === false ? { df: false } : {}),
        ...(request.payload ? { payload: request.payload } : {}),
        ...(request.at !== undefined ? { at: request.at } : {}),
      },
      seen,
    );
    for (const f of further)
      paths.push({
        probability: b.probability * f.probability,
        outcome: f.outcome,
        disposition: f.disposition,
        nodes: f.nodes,
        hops: [...b.hops, ...leg.hops, ...f.hops],
        endpoint: b.endpoint ?? f.endpoint,
        masquerade: b.masquerade || f.masquerade,
        final: f.final,
        rulesEvaluated: b.rulesEvaluated + f.rulesEvaluated,
        exit: f.exit,
      });
  }
  return paths;
}

/**
 * The endpoint's answer to a delivered packet, walked back from the node it was
 * delivered on: it needs the forward packet's connections in each node's
 * conntrack table (walk the forward packet with `commit`, one path with
 * `sample`), and is reversed by them on the way (un-DNAT, un-SNAT).
 */
export function walkReply(
  nodes: ReadonlyMap<string, SimNode>,
  forward: ClusterPath,
  /** The wall clock the forward packet was traced at (-m time), for the reply too. */
  at?: number,
): ClusterPath[] {
  const exit = forward.exit;
  const last = forward.nodes[forward.nodes.length - 1]!;
  if (forward.outcome !== 'ACCEPT' || !exit) return [];
  // Left for an address no host owns (an untranslated ClusterIP): no one sends a reply.
  const dst = parseIPv4(exit.dst)!;
  if (nodes.get(last)?.virtualCIDRs?.some((c) => prefixContains(c, dst))) return [];
  // ICMP: Linux answers an echo or timestamp request with its counterpart (same code); nothing else.
  const icmp = exit.protocol === 'icmp';
  const answer = icmp ? icmpAnswerOf(exit.sport) : undefined;
  if (icmp && answer === undefined) return [];
  return walkCluster(nodes, last, {
    src: parseIPv4(exit.dst)!,
    sport: answer ?? exit.dport,
    dst: parseIPv4(exit.src)!,
    dport: icmp ? exit.dport : exit.sport,
    protocol: exit.protocol,
    origin: { kind: 'interface', iface: exit.iface },
    ...(exit.protocol === 'tcp' ? { tcpFlags: { ...SYN, ack: true } } : {}),
    ...(at !== undefined ? { at } : {}),
  });
}
