// kube-proxy's own packet expectations (the flows of test/upstream's proxier-test cases)
// on the real kernel: each case's node is built in namespaces with kube-proxy's rules
// (iptables-restore, or nft -f in nftables mode) and every flow is sent through it. The
// kernel must do what kube-proxy's test tracer expects (outcome, endpoint, masquerading),
// and take one of knetsim's branches. By default a seeded sample of the cases runs;
// KNETSIM_KERNEL_REFERENCE=all runs every one (a few minutes).
// Needs root, ip, iptables, nft and python3; KNETSIM_KERNEL=required makes their absence a
// failure, KNETSIM_KERNEL=off skips.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildScenarioNode, type ScenarioNode, seededRandom, tracePacket } from '../../src/engine';
import { loadScenario } from '../../src/model';
import type { ReferenceFlow } from '../helpers/reference-cases';
import { disagreement } from './compare';
import { kernelGate } from './kernel-gate';
import { KernelNode, type KernelPacket, traceRequestOf } from './kernel-node';
import { IPTABLES_TOOLS, Namespaces, removeStale } from './netns';
import { agrees, NftKernelNode } from './nft-kernel-node';

const why = kernelGate('reference-flow kernel tests', [...IPTABLES_TOOLS, 'nft', 'stdbuf']);

const UPSTREAM = join(__dirname, '..', 'upstream');
const PER_MODE = 6;

const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });

/** Every case with flows under the folder, or a seeded sample of them. */
function casesIn(folder: string): string[] {
  const dir = join(UPSTREAM, folder);
  if (!existsSync(dir)) return [];
  const all = walk(dir)
    .filter((f) => f.endsWith('.flows.json'))
    .sort();
  if (process.env.KNETSIM_KERNEL_REFERENCE === 'all') return all;
  const draw = seededRandom(7);
  const pool = [...all];
  return Array.from(
    { length: Math.min(PER_MODE, pool.length) },
    () => pool.splice(Math.floor(draw() * pool.length), 1)[0]!,
  );
}

const isLoopback = (ip: string) => ip.startsWith('127.');

/** Whether an address is in the node's cni0 subnet (a pod of this node). */
function onCniOf(sn: ScenarioNode): (ip: string) => boolean {
  const cni = sn.network.devices.find((d) => d.name === 'cni0')?.addresses[0];
  return (ip) =>
    cni !== undefined && ip.split('.').slice(0, 3).join('.') === cni.address.split('.').slice(0, 3).join('.');
}

/** The pods the harness must create: the flows' pod sources and destinations, and the Services' endpoints. */
function podsOf(sn: ScenarioNode, sent: readonly { packet: KernelPacket }[]): string[] {
  const onCni = onCniOf(sn);
  return [
    ...sent.filter((s) => s.packet.from === 'pod').map((s) => s.packet.src),
    ...sent.map((s) => s.packet.dst).filter(onCni),
    ...sn.localState.servicePorts.flatMap((s) => s.endpoints.map((e) => e.ip)),
  ];
}

/**
 * The flows the harness can send: TCP and UDP, no loopback destination from outside the
 * node, and no outside source that is also a destination of the case (the clients'
 * namespace would then own that address and keep every packet to it).
 */
function packetsOf(sn: ScenarioNode, flows: readonly ReferenceFlow[]): { flow: ReferenceFlow; packet: KernelPacket }[] {
  const destinations = new Set(flows.map((f) => f.destIP));
  const nodeIPs = sn.network.devices.find((d) => d.name === 'eth0')?.addresses.map((a) => a.address) ?? [];
  const onCni = onCniOf(sn);
  return flows.flatMap((flow, i) => {
    const protocol = flow.protocol ?? 'tcp';
    if (protocol === 'sctp') return [];
    const from =
      nodeIPs.includes(flow.sourceIP) || isLoopback(flow.sourceIP) ? 'node' : onCni(flow.sourceIP) ? 'pod' : 'outside';
    if (from !== 'node' && isLoopback(flow.destIP)) return [];
    if (from === 'outside' && destinations.has(flow.sourceIP)) return [];
    return [
      {
        flow,
        packet: { from, src: flow.sourceIP, sport: 40000 + i, dst: flow.destIP, dport: flow.destPort, protocol },
      },
    ];
  });
}

/** Where the kernel and kube-proxy's test part ways, or null. */
function againstTest(
  f: ReferenceFlow,
  kernel: { outcome: string; endpoint: string | null; masquerade: boolean },
): string | null {
  if (f.expectedVerdict !== 'ACCEPT')
    return kernel.outcome === f.expectedVerdict ? null : `test ${f.expectedVerdict}, kernel ${kernel.outcome}`;
  if (kernel.outcome !== 'ACCEPT') return `test ACCEPT, kernel ${kernel.outcome}`;
  const want = f.expectedEndpoints ?? [];
  if (want.length === 0) return kernel.endpoint === null ? null : `test no DNAT, kernel to ${kernel.endpoint}`;
  if (kernel.endpoint === null || !want.includes(kernel.endpoint))
    return `test [${want.join(', ')}], kernel to ${kernel.endpoint}`;
  return kernel.masquerade === f.masq ? null : `test masquerade ${f.masq}, kernel ${kernel.masquerade}`;
}

function loadCase(flowsFile: string): { sn: ScenarioNode; flows: ReferenceFlow[] } {
  const base = flowsFile.slice(0, -'.flows.json'.length);
  const loaded = loadScenario(readFileSync(`${base}.yaml`, 'utf8'), base);
  if (!loaded.ok) throw new Error(loaded.issues.map((x) => x.message).join('\n'));
  const built = buildScenarioNode(loaded.scenario, loaded.scenario.nodes[0]?.name ?? 'node');
  if (!built.ok) throw new Error(built.message);
  return { sn: built.value, flows: JSON.parse(readFileSync(flowsFile, 'utf8')) as ReferenceFlow[] };
}

/** What the kernel did with one packet: enough to judge it against the test and against knetsim. */
interface KernelOutcome {
  readonly outcome: string;
  readonly endpoint: string | null;
  readonly masquerade: boolean;
}

/**
 * One case through one kind of kernel node: `send` builds the node and sends the packets,
 * `versusKnetsim` says where the kernel's way is none of knetsim's branches.
 */
function checkCase<K extends KernelOutcome>(
  file: string,
  send: (ns: Namespaces, sn: ScenarioNode, sent: readonly { packet: KernelPacket }[]) => K[],
  versusKnetsim: (t: ReturnType<typeof tracePacket>, k: K) => string | null,
): void {
  const { sn, flows } = loadCase(file);
  const sent = packetsOf(sn, flows);
  const cleanup = new Namespaces();
  try {
    const results = send(cleanup, sn, sent);
    const problems = sent.flatMap(({ flow, packet }, k) => {
      const r = results[k]!;
      const test = againstTest(flow, r);
      const knetsim = versusKnetsim(tracePacket(sn.node, traceRequestOf(packet)), r);
      return [
        ...(test ? [`${flow.name}: ${test}`] : []),
        ...(knetsim ? [`${flow.name}: kernel vs knetsim\n${knetsim}`] : []),
      ];
    });
    expect(problems.join('\n\n')).toBe('');
  } finally {
    cleanup.cleanup();
  }
}

describe.skipIf(why !== null)("kube-proxy's packet expectations on the real kernel", () => {
  beforeAll(() => removeStale());

  for (const file of casesIn('kube-proxy-iptables'))
    it(`iptables: ${relative(UPSTREAM, file)}`, () => {
      checkCase(
        file,
        (ns, sn, sent) => {
          const clients = sent.filter((s) => s.packet.from === 'outside').map((s) => s.packet.src);
          return new KernelNode(ns, sn, podsOf(sn, sent), clients).send(sent.map((s) => s.packet));
        },
        disagreement,
      );
    }, 120_000);

  for (const file of casesIn('kube-proxy-nftables'))
    it(`nftables: ${relative(UPSTREAM, file)}`, () => {
      checkCase(
        file,
        (ns, sn, sent) => new NftKernelNode(ns, sn, podsOf(sn, sent)).send(sent.map((s) => s.packet)),
        agrees,
      );
    }, 120_000);
});
