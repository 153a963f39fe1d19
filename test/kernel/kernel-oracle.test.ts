// The real kernel as the oracle: knetsim's nodes built in network namespaces,
// real packets sent through them, and the kernel's own trace of each packet
// compared with knetsim's, rule for rule. Needs root and iptables, ip,
// xtables-monitor, conntrack, nfacct and python3; KNETSIM_KERNEL=required
// makes their absence a failure, KNETSIM_KERNEL=off skips.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildScenarioNode, type ScenarioNode, samplePackets, tracePacket } from '../../src/engine';
import { loadScenario, type Scenario } from '../../src/model';
import { parseIPv4 } from '../../src/net';
import { saveState } from '../../src/netfilter';
import { clusterYaml, serviceYaml } from '../helpers/scenario';
import { disagreement } from './compare';
import { kernelGate } from './kernel-gate';
import { KernelNode, type KernelPacket, traceRequestOf } from './kernel-node';
import { Namespaces, removeStale } from './netns';
import { packetsFor, scenarioArb } from './random-scenarios';

const why = kernelGate('kernel tests');
const RUNS = Number(process.env.KNETSIM_KERNEL_RUNS ?? 50);
const tally = { agreed: 0, packets: 0, scenarios: 0 };
const disagreements: string[] = [];

function scenarioFrom(text: string, file: string): Scenario {
  const r = loadScenario(text, file);
  if (!r.ok) throw new Error(r.issues.map((i) => i.message).join('\n'));
  return r.scenario;
}

function sameBridge(sn: ScenarioNode, a: string, b: string): boolean {
  const cni0 = sn.network.devices.find((d) => d.name === 'cni0')?.addresses[0];
  if (!cni0) return false;
  const n = (ip: string) => ip.split('.').reduce((x, o) => x * 256 + Number(o), 0);
  const shift = 32 - cni0.prefixLength;
  return n(a) >>> shift === n(cni0.address) >>> shift && n(b) >>> shift === n(cni0.address) >>> shift;
}

/** Builds the node for real, sends the packets, and counts agreement; returns the disagreements. */
function runScenario(name: string, sn: ScenarioNode, packets: readonly KernelPacket[]): string[] {
  const ns = new Namespaces();
  const found: string[] = [];
  try {
    const podIPs = [
      ...packets.filter((p) => p.from === 'pod').map((p) => p.src),
      ...sn.localState.servicePorts.flatMap((s) => s.endpoints.filter((e) => e.isLocal).map((e) => e.ip)),
    ];
    const kernel = new KernelNode(
      ns,
      sn,
      podIPs,
      packets.filter((p) => p.from === 'outside').map((p) => p.src),
    );
    const saved = kernel.savedRules();
    if (saved !== saveState(sn.netfilter))
      found.push(`${name}: the kernel's iptables-save differs from knetsim's state`);
    const results = kernel.send(packets);
    tally.scenarios++;
    packets.forEach((p, i) => {
      const t = tracePacket(sn.node, traceRequestOf(p));
      tally.packets++;
      const d = disagreement(t, results[i]!);
      if (d === null) tally.agreed++;
      else found.push(`${name}: ${p.protocol} ${p.src}:${p.sport} -> ${p.dst}:${p.dport} (${p.from})\n${d}`);
    });
  } finally {
    ns.cleanup();
  }
  disagreements.push(...found);
  return found;
}

describe.skipIf(why !== null)('the kernel agrees with knetsim', () => {
  beforeAll(() => removeStale());
  afterAll(() => {
    console.log(`kernel agreement: ${tally.agreed}/${tally.packets} packets across ${tally.scenarios} scenarios`);
    for (const d of disagreements.slice(0, 20)) console.log(d);
  });

  const dir = join(__dirname, '..', '..', '..', 'shared', 'examples', 'kube-proxy');
  const examples = existsSync(dir)
    ? readdirSync(dir).filter(
        (f) =>
          f.endsWith('.yaml') && !f.startsWith('nftables-') && existsSync(join(dir, f.replace('.yaml', '.flows.json'))),
      )
    : [];
  for (const file of examples) {
    it(`reference example ${file}`, () => {
      const scenario = scenarioFrom(readFileSync(join(dir, file), 'utf8'), file);
      const nodeName = scenario.nodes[0]?.name ?? 'node';
      const built = buildScenarioNode(scenario, nodeName);
      if (!built.ok) throw new Error(built.message);
      const nodeIPs = new Set(built.value.network.devices.flatMap((d) => d.addresses.map((a) => a.address)));
      const flows = JSON.parse(readFileSync(join(dir, file.replace('.yaml', '.flows.json')), 'utf8')) as {
        sourceIP: string;
        sourceKind: string;
        destIP: string;
        destPort: number;
        protocol?: string;
      }[];
      const packets: KernelPacket[] = flows
        // Not sent: SCTP; a packet from an address to itself (it cannot come from another namespace);
        // a pod's packet to an address of its own bridge, which this kernel bridges without iptables
        // (no br_netfilter here), while a node with bridge-nf-call-iptables routes it through FORWARD.
        .filter(
          (f) =>
            (f.protocol ?? 'tcp') !== 'sctp' &&
            !f.sourceIP.includes(':') &&
            f.sourceIP !== f.destIP &&
            !sameBridge(built.value, f.sourceIP, f.destIP),
        )
        .map((f, i) => ({
          from: nodeIPs.has(f.sourceIP)
            ? 'node'
            : f.sourceKind === 'pod' && built.value.network.devices.some((d) => d.name === 'cni0')
              ? 'pod'
              : 'outside',
          src: f.sourceIP,
          sport: 41000 + i,
          dst: f.destIP,
          dport: f.destPort,
          protocol: (f.protocol ?? 'tcp') as 'tcp' | 'udp',
        }));
      expect(runScenario(file, built.value, packets)).toEqual([]);
    }, 120_000);
  }

  it("flannel named as the CNI: flanneld's FLANNEL-POSTRTG and FLANNEL-FWD rules on the demo's worker-1", () => {
    const demo = join(__dirname, '..', '..', 'examples', 'demo.yaml');
    const built = buildScenarioNode(scenarioFrom(readFileSync(demo, 'utf8'), 'demo.yaml'), 'worker-1');
    if (!built.ok) throw new Error(built.message);
    expect(built.value.cniRestore).toContain('-j FLANNEL-POSTRTG');
    const packets: KernelPacket[] = [
      // A pod to the outside: flanneld masquerades it.
      { from: 'pod', src: '10.244.1.2', sport: 42000, dst: '192.0.2.80', dport: 80, protocol: 'tcp' },
      // A pod to a Service: kube-proxy's DNAT, flanneld leaves pod-to-pod alone.
      { from: 'pod', src: '10.244.1.2', sport: 42001, dst: '10.96.12.7', dport: 80, protocol: 'tcp' },
      // The node to a pod on another node: flanneld masquerades (not from the pod network).
      { from: 'node', src: '192.168.122.31', sport: 42002, dst: '10.244.2.3', dport: 8080, protocol: 'tcp' },
      // An outside client to the NodePort.
      { from: 'outside', src: '203.0.113.9', sport: 42003, dst: '192.168.122.31', dport: 30080, protocol: 'tcp' },
    ];
    expect(runScenario('demo worker-1 with flannel', built.value, packets)).toEqual([]);
  }, 120_000);

  /** A Service at CLUSTER_IP:80 with three endpoints (one on node-1), built for node-1. */
  function threeEndpoints(clusterIP: string, extra?: string): ScenarioNode {
    const yaml =
      clusterYaml() +
      serviceYaml({
        name: 'three',
        clusterIP,
        ...(extra ? { extra } : {}),
        endpoints: [
          { ip: '10.244.1.5', node: 'node-1' },
          { ip: '10.244.2.5', node: 'node-2' },
          { ip: '10.244.2.6', node: 'node-2' },
        ],
      });
    const built = buildScenarioNode(scenarioFrom(yaml, 'three.yaml'), 'node-1');
    if (!built.ok) throw new Error(built.message);
    return built.value;
  }

  /** N SYNs from one outside client (ports from `sport` up), in one burst: how many reached each endpoint in the kernel. */
  function kernelEndpointCounts(sn: ScenarioNode, clusterIP: string, n: number, sport: number): Map<string, number> {
    const packets: KernelPacket[] = Array.from({ length: n }, (_, i) => ({
      from: 'outside',
      src: '203.0.113.9',
      sport: sport + i,
      dst: clusterIP,
      dport: 80,
      protocol: 'tcp',
    }));
    const ns = new Namespaces();
    const counts = new Map<string, number>();
    try {
      const kernel = new KernelNode(ns, sn, ['10.244.1.5'], ['203.0.113.9']);
      for (const r of kernel.send(packets, false))
        counts.set(r.endpoint ?? 'none', (counts.get(r.endpoint ?? 'none') ?? 0) + 1);
    } finally {
      ns.cleanup();
    }
    return counts;
  }

  const outsideTo = (clusterIP: string) => ({
    src: parseIPv4('203.0.113.9')!,
    dst: parseIPv4(clusterIP)!,
    protocol: 'tcp' as const,
    dport: 80,
    origin: { kind: 'interface' as const, iface: 'eth0' },
  });

  it("random endpoint choice: the kernel picks exactly knetsim's endpoints, at its probabilities (chi-square)", () => {
    const sn = threeEndpoints('10.96.0.50');
    const expected = new Map(
      tracePacket(sn.node, outsideTo('10.96.0.50')).endpoints.map((e) => [e.address, e.probability]),
    );
    const n = 600;
    const counts = kernelEndpointCounts(sn, '10.96.0.50', n, 20000);
    expect(new Set(counts.keys())).toEqual(new Set(expected.keys()));
    const chi2 = [...expected].reduce(
      (sum, [address, p]) => sum + ((counts.get(address) ?? 0) - n * p) ** 2 / (n * p),
      0,
    );
    console.log(
      `kernel endpoint choice: ${[...counts].map(([a, c]) => `${a} ${c}`).join(', ')} of ${n}; chi-square ${chi2.toFixed(2)} (2 degrees of freedom)`,
    );
    // 13.82 is the 0.1% critical value for two degrees of freedom.
    expect(chi2).toBeLessThan(13.82);
  }, 120_000);

  it("ClientIP affinity across connections: one client's SYNs all reach one endpoint, in the kernel as in knetsim's sampled connections", () => {
    const sn = threeEndpoints('10.96.0.51', '  sessionAffinity: ClientIP');
    const n = 30;
    const sampled = samplePackets(sn.node, outsideTo('10.96.0.51'), n, 9);
    const possible = new Set(tracePacket(sn.node, outsideTo('10.96.0.51')).endpoints.map((e) => e.address));
    const counts = kernelEndpointCounts(sn, '10.96.0.51', n, 21000);
    expect(counts.size).toBe(1);
    const [endpoint, count] = [...counts][0]!;
    expect(count).toBe(n);
    expect(possible.has(endpoint)).toBe(true);
    expect(sampled.endpoints).toHaveLength(1);
    expect(sampled.endpoints[0]!.count).toBe(n);
  }, 120_000);

  it(`random scenarios (${RUNS}, seeded)`, () => {
    fc.assert(
      fc.property(scenarioArb, fc.integer({ min: 0, max: 1_000_000 }), (yaml, seed) => {
        const scenario = scenarioFrom(yaml, 'random.yaml');
        const built = buildScenarioNode(scenario, 'node-1');
        if (!built.ok) throw new Error(built.message);
        // -m ipvs needs the kernel's IPVS module, which this kernel does not have.
        if (built.value.restore.includes('-m ipvs')) return true;
        return runScenario(`random scenario (seed ${seed})`, built.value, packetsFor(built.value, seed)).length === 0;
      }),
      // A failure is shrunk by fast-check to a smallest scenario (slow, but only when something disagrees).
      { numRuns: RUNS, seed: 424242, interruptAfterTimeLimit: 600_000 },
    );
  }, 900_000);
});
