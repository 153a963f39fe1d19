// `knetsim trace SCENARIO`: resolves --from (a pod, a node, an IP) and --to
// (IP:PORT or a Service by name) against the objects, then traces on the node
// the packet is on.
import { lookupFromPod, podResolvConf } from '../dns';
import {
  buildClusterNodes,
  buildScenarioNode,
  type DnsLookupWalk,
  type SimNode,
  seededRandom,
  type TraceRequest,
  walkCluster,
  walkDnsLookup,
  walkReply,
} from '../engine';
import type { Scenario } from '../model';
import { formatFlow, formatIPv4, type L4Protocol, parseIPv4 } from '../net';
import { coreDnsOf } from './dns-command';
import { expectationFailure, parseExpectedOutcome, unmetOutcome } from './expect-outcome';
import { chooseNode } from './load-scenario-input';
import { parseDestinationArg, parseProtocolArg } from './parse-endpoint';
import { renderClusterWalk } from './render-cluster-walk';
import { dnsWalkJson, renderDnsWalk } from './render-dns-walk';
import { styleFor } from './render-trace';
import { sourcePortArg, type TraceOptions, withPacketShape } from './trace-command';
import { UserError } from './user-error';

interface Source {
  readonly ip: string;
  /** The pod sending, when the source is a pod (its resolver resolves names). */
  readonly pod?: { readonly namespace: string; readonly name: string };
  /** The node the packet starts on, when the source says (a pod's node, a node itself). */
  readonly node: string | null;
  readonly local: boolean;
}

function podIP(
  scenario: Scenario,
  ns: string,
  name: string,
): { ip: string; node: string | null; hostNetwork: boolean } {
  const pod = scenario.pods.find((p) => p.namespace === ns && p.name === name);
  if (!pod) throw new UserError(`--from: no pod ${ns}/${name} in ${scenario.file}`);
  const ip = pod.podIPs.find((a) => !a.includes(':'));
  if (!ip) throw new UserError(`--from: pod ${ns}/${name} has no IPv4 address (is it scheduled?)`);
  return { ip, node: pod.spec.nodeName ?? null, hostNetwork: pod.spec.hostNetwork };
}

export function resolveSource(scenario: Scenario, from: string): Source {
  if (from.startsWith('node/')) {
    const name = from.slice(5);
    const node = scenario.nodes.find((n) => n.name === name);
    if (!node) throw new UserError(`--from: no node "${name}" in ${scenario.file}`);
    const ip = node.addresses.find((a) => a.type === 'InternalIP' && !a.address.includes(':'))?.address;
    if (!ip) throw new UserError(`--from: node ${name} has no IPv4 InternalIP`);
    return { ip, node: name, local: true };
  }
  const slash = from.indexOf('/');
  if (slash > 0 && parseIPv4(from.slice(0, slash)) === null) {
    const pod = podIP(scenario, from.slice(0, slash), from.slice(slash + 1));
    const ref = { namespace: from.slice(0, slash), name: from.slice(slash + 1) };
    return { ip: pod.ip, node: pod.node, local: pod.hostNetwork, pod: ref };
  }
  if (parseIPv4(from) === null)
    throw new UserError(`--from: "${from}" is not a pod (ns/name), a node (node/NAME) or an IPv4 address`);
  if (from.startsWith('127.')) return { ip: from, node: null, local: true };
  const node = scenario.nodes.find((n) => n.addresses.some((a) => a.address === from));
  if (node) return { ip: from, node: node.name, local: true };
  const pod = scenario.pods.find((p) => p.podIPs.includes(from) && !p.spec.hostNetwork);
  return {
    ip: from,
    node: pod?.spec.nodeName ?? null,
    local: false,
    ...(pod ? { pod: { namespace: pod.namespace, name: pod.name } } : {}),
  };
}

/** A destination that is a DNS name (`myapp:80`, `myapp.default`, `www.example.com.:443`). */
function dnsDestination(to: string): { name: string; port?: number } | undefined {
  if (/^\d+\.\d+\.\d+\.\d+(:\d+)?$/.test(to)) return undefined;
  const m = /^([A-Za-z0-9_.-]+?)(?::(\d+))?$/.exec(to);
  if (!m) return undefined;
  return { name: m[1]!, ...(m[2] !== undefined ? { port: Number(m[2]) } : {}) };
}

/**
 * A pod resolving a name as it would (its resolv.conf, each query walked as a packet
 * to CoreDNS and back), then the port: the one given, or the Service port behind the
 * address found when there is exactly one for the protocol.
 */
function resolveByDns(
  scenario: Scenario,
  src: Source & { pod: { namespace: string; name: string } },
  dest: { name: string; port?: number },
  proto: L4Protocol,
): { ip: string; port: number; dns: DnsLookupWalk } {
  const pod = scenario.pods.find((p) => p.namespace === src.pod.namespace && p.name === src.pod.name)!;
  const conf = podResolvConf(pod, scenario.cluster);
  const lookup = lookupFromPod(scenario, coreDnsOf(scenario), pod, dest.name, ['A']);
  const built = buildClusterNodes(scenario);
  if (!built.ok) throw new UserError(built.message);
  const start = src.node ?? scenario.nodes[0]!.name;
  const dns = walkDnsLookup(built.value, start, src.ip, lookup, { local: src.local && conf.nameservers.length > 0 });
  if (dns.address === undefined) {
    const last = lookup.queries[lookup.queries.length - 1];
    throw new UserError(
      `--to: ${src.pod.namespace}/${src.pod.name} cannot resolve "${dest.name}": ${lookup.queries.length} quer${lookup.queries.length === 1 ? 'y' : 'ies'}, the last (${last?.name ?? '-'}) ${last?.response.rcode ?? 'unsent'}`,
    );
  }
  if (proto === 'icmp') {
    if (dest.port !== undefined) throw new UserError(`--to: "${dest.name}:${dest.port}": an ICMP packet has no port`);
    return { ip: dns.address, port: 0, dns };
  }
  if (dest.port !== undefined) {
    if (!(dest.port >= 1 && dest.port <= 65535)) throw new UserError(`--to: ${dest.port} is not a port (1-65535)`);
    return { ip: dns.address, port: dest.port, dns };
  }
  const svc = scenario.services.find((s) => s.clusterIPs.includes(dns.address!));
  const ports = svc?.ports.filter((p) => p.protocol.toLowerCase() === proto) ?? [];
  if (ports.length === 1) return { ip: dns.address, port: ports[0]!.port, dns };
  throw new UserError(`--to: "${dest.name}" resolved to ${dns.address}; say which port (${dest.name}:PORT)`);
}

/** `IP:PORT`, or a Service as `name.ns[:PORT]` / `name.ns.svc.DOMAIN[:PORT]`; for ICMP the IP or name alone. */
export function resolveDestination(scenario: Scenario, to: string, proto: L4Protocol): { ip: string; port: number } {
  if (/^\d+\.\d+\.\d+\.\d+(:\d+)?$/.test(to) && (proto === 'icmp' || to.includes(':'))) {
    const { address, port } = parseDestinationArg(to, proto, '--to');
    return { ip: formatIPv4(address), port };
  }
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)(?:\.svc(?:\.[a-z0-9.-]+?)?)?\.?(?::(\d+))?$/.exec(to);
  if (!m) throw new UserError(`--to: "${to}" is not IP:PORT or a Service (name.namespace:PORT)`);
  const [, name, ns, portText] = m;
  const svc = scenario.services.find((s) => s.name === name && s.namespace === ns);
  if (!svc) throw new UserError(`--to: no Service ${ns}/${name} in ${scenario.file}`);
  const ip = svc.clusterIPs.find((a) => !a.includes(':'));
  if (!ip) throw new UserError(`--to: Service ${ns}/${name} has no IPv4 cluster IP (headless or ExternalName)`);
  if (proto === 'icmp') {
    if (portText !== undefined) throw new UserError(`--to: "${to}": an ICMP packet has no port`);
    return { ip, port: 0 };
  }
  const ports = svc.ports.filter((p) => p.protocol.toLowerCase() === proto);
  if (portText !== undefined) return { ip, port: Number(portText) };
  if (ports.length === 1) return { ip, port: ports[0]!.port };
  throw new UserError(`--to: Service ${ns}/${name} has ${ports.length} ${proto} ports; say which (${name}.${ns}:PORT)`);
}

/** Built nodes by scenario, then name: a --batch of packets builds each node once. */
const nodeCache = new WeakMap<Scenario, Map<string, SimNode>>();

export function scenarioNode(scenario: Scenario, name: string): SimNode {
  let nodes = nodeCache.get(scenario);
  if (!nodes) {
    nodes = new Map();
    nodeCache.set(scenario, nodes);
  }
  const cached = nodes.get(name);
  if (cached) return cached;
  const built = buildScenarioNode(scenario, name);
  if (!built.ok) throw new UserError(built.message);
  nodes.set(name, built.value.node);
  return built.value.node;
}

/** The node and the request for one packet of a scenario trace. */
export function scenarioRequest(
  scenario: Scenario,
  from: string,
  to: string,
  proto: L4Protocol,
  requestedNode: string | undefined,
  sport?: number,
): { node: SimNode; request: TraceRequest; dns?: DnsLookupWalk } {
  const src = resolveSource(scenario, from);
  const named = src.pod ? dnsDestination(to) : undefined;
  const dst: { ip: string; port: number; dns?: DnsLookupWalk } = named
    ? resolveByDns(scenario, src as Source & { pod: { namespace: string; name: string } }, named, proto)
    : resolveDestination(scenario, to, proto);
  const nodeName = requestedNode ?? src.node ?? (scenario.nodes.length === 1 ? scenario.nodes[0]!.name : null);
  if (nodeName === null)
    throw new UserError(
      `trace: ${from} is outside the cluster; say which node it arrives at with --node (${scenario.nodes.map((n) => n.name).join(', ')})`,
    );
  chooseNode(scenario, nodeName);
  const node = scenarioNode(scenario, nodeName);
  const local = src.local && (src.node === null || src.node === nodeName);
  // A pod of this node sends through its veth into cni0; anything else arrives on eth0.
  const onCni =
    !local &&
    node.interfaces.some(
      (i) => i.name === 'cni0' && i.addresses.some((a) => sameNet(a.address, a.prefixLength, parseIPv4(src.ip)!)),
    );
  return {
    node,
    request: {
      src: parseIPv4(src.ip)!,
      dst: parseIPv4(dst.ip)!,
      protocol: proto,
      dport: dst.port,
      ...(sport !== undefined ? { sport } : {}),
      origin: local ? { kind: 'local' } : { kind: 'interface', iface: onCni ? 'cni0' : 'eth0' },
    },
    ...(dst.dns ? { dns: dst.dns } : {}),
  };
}

function sameNet(a: number, len: number, b: number): boolean {
  return len === 0 || (a ^ b) >>> (32 - len) === 0;
}

/** `trace --across`: the packet from its first node on, through every node it reaches. */
export function runClusterWalk(scenario: Scenario, o: TraceOptions, out: NodeJS.WriteStream): void {
  if (o.batch || o.sample !== undefined) throw new UserError('trace --across: not with --batch or --sample');
  if (!o.from || !o.to) throw new UserError('trace: --from and --to are required');
  const proto = parseProtocolArg(o.proto);
  const sport = sourcePortArg(o, proto);
  const expected = o.expect === undefined ? undefined : parseExpectedOutcome(o.expect, '--expect');
  const resolved = scenarioRequest(scenario, o.from, o.to, proto, o.node, sport);
  const node = resolved.node;
  const request = withPacketShape(resolved.request, o);
  const built = buildClusterNodes(scenario);
  if (!built.ok) throw new UserError(built.message);
  // The walk starts on the node the request was resolved on, so that one node object serves both.
  const nodes = new Map(built.value).set(node.name, node);
  if (o.reply) {
    // One connection, as a real client opens it: one random path (by --seed), committed, and its answer.
    const seed = o.seed === undefined ? 1 : Number(o.seed);
    if (!Number.isInteger(seed)) throw new UserError(`--seed: "${o.seed}" is not an integer`);
    const [forward] = walkCluster(nodes, node.name, { ...request, commit: true, sample: seededRandom(seed) });
    const replies = forward ? walkReply(nodes, forward, request.at) : [];
    const packet = walkedPacketText(request, node.name);
    const dns = resolved.dns ? { dns: dnsWalkJson(resolved.dns) } : {};
    if (o.json) out.write(`${JSON.stringify({ packet, seed, forward, replies, ...dns }, null, 2)}\n`);
    else {
      if (resolved.dns) out.write(renderDnsWalk(resolved.dns, o.from));
      out.write(renderClusterWalk(packet, forward ? [forward] : [], styleFor(out)));
      out.write(`\n${renderClusterWalk(`reply from ${forward?.exit?.dst ?? '(none)'}`, replies, styleFor(out))}`);
    }
    // The connection's own way decides (its one drawn path); the reply is what follows from it.
    const why = expected === undefined || !forward ? null : unmetOutcome(expected, [{ ...forward, probability: 1 }]);
    if (why !== null) throw expectationFailure([why]);
    return;
  }
  const paths = walkCluster(nodes, node.name, request);
  const packet = walkedPacketText(request, node.name);
  const dns = resolved.dns;
  out.write(
    o.json
      ? `${JSON.stringify({ packet, paths, ...(dns ? { dns: dnsWalkJson(dns) } : {}) }, null, 2)}\n`
      : `${dns ? renderDnsWalk(dns, o.from) : ''}${renderClusterWalk(packet, paths, styleFor(out))}`,
  );
  const why = expected === undefined ? null : unmetOutcome(expected, paths);
  if (why !== null) throw expectationFailure([why]);
}

function walkedPacketText(r: TraceRequest, node: string): string {
  return `${formatFlow({ ...r, sport: r.sport ?? 40000 })} from ${node}`;
}
