// The real kernel as the oracle for packets in kube-proxy's nftables mode (the node in
// namespaces: nft-kernel-node.ts): for random scenarios, the rules the kernel reports as
// matched must appear, in order, in one of knetsim's branches, with that branch's outcome,
// DNAT endpoint and masquerading.
// Needs root, ip, nft and python3; KNETSIM_KERNEL=required makes their absence a
// failure, KNETSIM_KERNEL=off skips.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildScenarioNode, tracePacket } from '../../src/engine';
import { loadScenario } from '../../src/model';
import { kernelGate } from './kernel-gate';
import { traceRequestOf } from './kernel-node';
import { Namespaces, removeStale } from './netns';
import { agrees, NftKernelNode } from './nft-kernel-node';
import { packetsFor, scenarioArb } from './random-scenarios';

const why = kernelGate('nftables packet kernel tests', ['ip', 'nft', 'python3', 'stdbuf']);

describe.skipIf(why !== null)('nftables: packets take the way knetsim says', () => {
  const ns = new Namespaces();
  beforeAll(() => removeStale());
  afterAll(() => ns.cleanup());
  const runs = Number(process.env.KNETSIM_KERNEL_RUNS ?? 12);
  const scenarios = fc
    .sample(scenarioArb, { numRuns: runs, seed: 11 })
    .map((yaml) => yaml.replace(/mode: \w+/, 'mode: nftables'));
  scenarios.forEach((yaml, i) => {
    it(`random scenario ${i}: every packet's kernel path is one of knetsim's branches`, () => {
      const loaded = loadScenario(yaml, `random-${i}.yaml`);
      if (!loaded.ok) throw new Error(loaded.issues.map((x) => x.message).join('\n'));
      const built = buildScenarioNode(loaded.scenario, 'node-1');
      if (!built.ok) throw new Error(built.message);
      const sn = built.value;
      const packets = packetsFor(sn, 1000 + i);
      const podIPs = [
        ...packets.filter((p) => p.from === 'pod').map((p) => p.src),
        ...sn.localState.servicePorts.flatMap((s) => s.endpoints.map((e) => e.ip)),
      ];
      const kernel = new NftKernelNode(ns, sn, podIPs);
      const ways = kernel.send(packets);
      const problems: string[] = [];
      packets.forEach((p, k) => {
        const t = tracePacket(sn.node, traceRequestOf(p));
        // Every new connection passes nat-prerouting or nat-output's `jump services`: an empty way means the trace was missed.
        if (ways[k]!.rules.length === 0) problems.push(`${p.src}:${p.sport} -> ${p.dst}:${p.dport}: no kernel trace`);
        const d = agrees(t, ways[k]!);
        if (d) problems.push(`${p.protocol} ${p.src}:${p.sport} -> ${p.dst}:${p.dport} from ${p.from}\n${d}`);
      });
      expect(problems.join('\n\n')).toBe('');
    });
  });
});
