// flannel host-gw vs VXLAN for one packet between pods on two nodes of the
// bundled example cluster: the nodes and hops it takes, the rules evaluated on
// both nodes together, and what it costs to trace (knetsim's own speed).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildClusterNodes, type SimNode, walkCluster } from '../src/engine';
import { loadScenario } from '../src/model';
import { parseIPv4 } from '../src/net';

export interface CrossNodeRow {
  readonly backend: string;
  readonly nodes: string;
  readonly hops: number;
  readonly rulesEvaluated: number;
  readonly frameBytes: string;
  readonly microsPerPacket: number;
}

function clusterFor(backend: 'vxlan' | 'host-gw'): Map<string, SimNode> {
  // bin/bench.js runs a bundle from bench/out, so it says where the project is.
  const root = process.env.KNETSIM_ROOT ?? fileURLToPath(new URL('..', import.meta.url));
  const path = join(root, 'examples', 'demo.yaml');
  const yaml = readFileSync(path, 'utf8').replace('backend: vxlan', `backend: ${backend}`);
  const loaded = loadScenario(yaml, 'demo.yaml');
  if (!loaded.ok) throw new Error('examples/demo.yaml does not load');
  const nodes = buildClusterNodes(loaded.scenario);
  if (!nodes.ok) throw new Error(nodes.message);
  return nodes.value;
}

/** A SYN from a pod on worker-1 to a pod on worker-2 (the demo's myapp replica there). */
export function crossNode(packets: number): CrossNodeRow[] {
  return (['host-gw', 'vxlan'] as const).map((backend) => {
    const nodes = clusterFor(backend);
    const request = {
      src: parseIPv4('10.244.1.2')!,
      dst: parseIPv4('10.244.2.3')!,
      protocol: 'tcp' as const,
      dport: 8080,
      origin: { kind: 'interface' as const, iface: 'cni0' },
    };
    const [path] = walkCluster(nodes, 'worker-1', request);
    if (path?.outcome !== 'ACCEPT') throw new Error(`${backend}: the packet was not delivered`);
    const encap = path.hops.find((h) => h.stage === 'flannel.1 encap')?.action;
    const frame = encap ? /(\d+)-byte frame/.exec(encap)?.[1] : undefined;
    // Warm up first, so the backend measured first does not pay for the JIT.
    for (let i = 0; i < packets; i++) walkCluster(nodes, 'worker-1', { ...request, sport: 1024 + (i % 60000) });
    const start = performance.now();
    for (let i = 0; i < packets; i++) walkCluster(nodes, 'worker-1', { ...request, sport: 1024 + (i % 60000) });
    return {
      backend,
      nodes: path.nodes.join(' -> '),
      hops: path.hops.length,
      rulesEvaluated: path.rulesEvaluated,
      // A bare SYN is 60 bytes of IPv4: 74 on the wire routed, 124 inside VXLAN.
      frameBytes: frame ?? String(60 + 14),
      microsPerPacket: (1000 * (performance.now() - start)) / packets,
    };
  });
}
