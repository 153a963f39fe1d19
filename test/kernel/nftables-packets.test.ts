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
import { parseIPv4 } from '../../src/net';
import { Namespaces, removeStale, run } from './netns';
import { agrees, NftKernelNode } from './nft-kernel-node';
import { packetsFor, scenarioArb } from './random-scenarios';

const mode = process.env.KNETSIM_KERNEL ?? 'auto';

function unavailable(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  for (const tool of ['ip', 'nft', 'python3', 'stdbuf'])
    if (run('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`;
  const probe = `knetsim-${process.pid}-nftpktprobe`;
  const made = run('ip', ['netns', 'add', probe]);
  if (made.status !== 0) return `cannot create a network namespace: ${made.stderr.trim()}`;
  run('ip', ['netns', 'del', probe]);
  return null;
}

const why = mode === 'off' ? 'KNETSIM_KERNEL=off' : unavailable();
if (why && mode === 'required') {
  it('kernel tests are required (KNETSIM_KERNEL=required)', () => {
    throw new Error(`kernel tests cannot run: ${why}`);
  });
} else if (why) console.log(`nftables packet kernel tests skipped: ${why}`);

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
        const t = tracePacket(sn.node, {
          src: parseIPv4(p.src)!,
          dst: parseIPv4(p.dst)!,
          protocol: p.protocol,
          sport: p.sport,
          dport: p.dport,
          origin:
            p.from === 'node' ? { kind: 'local' } : { kind: 'interface', iface: p.from === 'pod' ? 'cni0' : 'eth0' },
        });
        // Every new connection passes nat-prerouting or nat-output's `jump services`: an empty way means the trace was missed.
        if (ways[k]!.rules.length === 0) problems.push(`${p.src}:${p.sport} -> ${p.dst}:${p.dport}: no kernel trace`);
        const d = agrees(t, ways[k]!);
        if (d) problems.push(`${p.protocol} ${p.src}:${p.sport} -> ${p.dst}:${p.dport} from ${p.from}\n${d}`);
      });
      expect(problems.join('\n\n')).toBe('');
    });
  });
});
