// host-gw against VXLAN on the real kernel, beside knetsim's figures: the demo's two
// workers built in namespaces by the flannel kernel harness (test/kernel), offloads off
// so segments are what the wire carries, a TCP transfer from a pod on worker-1 to a pod
// on worker-2, and the data frames counted on the underlay.
import { spawnSync } from 'node:child_process';
import {
  type Backend,
  build,
  buildCluster,
  Capture,
  carried,
  type Frame,
  parseFrame,
} from '../test/kernel/flannel-cluster';
import { Namespaces } from '../test/kernel/netns';

export interface KernelWireRow {
  readonly backend: Backend;
  readonly payload: number;
  readonly segments: number;
  readonly frameBytes: number;
  /** The largest data segment: the MSS the kernel used (with TCP options, if any). */
  readonly largestSegment: number;
}

function sh(cmd: string, args: readonly string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${(r.stderr ?? '').trim()}`);
  return r.stdout;
}

/** Why the harness cannot run, or null. */
export function harnessMissing(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  for (const tool of ['ip', 'bridge', 'python3', 'iptables-restore', 'ethtool'])
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`;
  return null;
}

/** Offloads off on every device of a namespace: the kernel segments as the wire carries it. */
function offloadsOff(ns: string): void {
  for (const line of sh('ip', ['-n', ns, '-o', 'link', 'show']).split('\n')) {
    const dev = /^\d+: ([^:@]+)/.exec(line)?.[1];
    if (!dev || dev === 'lo') continue;
    spawnSync('ip', ['netns', 'exec', ns, 'ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off']);
  }
}

const SERVER = `import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 9000)); s.listen(8)
print('ready', flush=True)
for _ in range(int(sys.argv[1])):
    c,_=s.accept()
    while c.recv(65536): pass
    c.close()
`;
const CLIENT = `import socket,sys
c=socket.create_connection((sys.argv[1], 9000)); c.sendall(b'x'*int(sys.argv[2])); c.shutdown(socket.SHUT_WR)
while c.recv(65536): pass
`;

export function kernelWire(payloads: readonly number[]): KernelWireRow[] {
  const rows: KernelWireRow[] = [];
  for (const backend of ['host-gw', 'vxlan'] as const) {
    const ns = new Namespaces();
    try {
      const built = build(backend);
      const client = built.scenario.pods.find((p) => p.name === 'client')!.podIPs[0]!;
      const w1 = built.nodes.get('worker-1')!;
      const svc = w1.localState.servicePorts.find((s) => s.endpoints.some((e) => e.nodeName === 'worker-2'))!;
      const server = svc.endpoints.find((e) => e.nodeName === 'worker-2')!.ip;
      const cluster = buildCluster(
        ns,
        built,
        new Map([
          ['worker-1', [client]],
          ['worker-2', [server]],
        ]),
      );
      for (const n of [...cluster.node.values()].map((x) => x.ns)) offloadsOff(n);
      for (const p of [client, server]) offloadsOff(cluster.pods.get(p)!);
      offloadsOff(cluster.underlay);
      const serverNs = cluster.pods.get(server)!;
      const listener = spawnSync('sh', [
        '-c',
        `ip netns exec ${serverNs} python3 -c "$0" ${payloads.length} >/dev/null 2>&1 &`,
        SERVER,
      ]);
      if (listener.status !== 0) throw new Error('could not start the server pod');
      sh('sleep', ['0.5']);
      for (const payload of payloads) {
        const wire = new Capture(cluster.underlay, cluster.node.get('worker-1')!.port);
        let frames: [number, string][] = [];
        try {
          sh('ip', ['netns', 'exec', cluster.pods.get(client)!, 'python3', '-c', CLIENT, server, String(payload)]);
          sh('sleep', ['0.3']);
        } finally {
          frames = wire.finish();
        }
        const data = frames
          .filter(([type]) => type !== 4)
          .map(([, hex]) => parseFrame(hex))
          .filter((f): f is Frame => f !== null)
          .filter((f) => {
            const c = carried(f);
            return c !== null && c.src === client && c.dport === 9000 && c.payload > 0;
          });
        rows.push({
          backend,
          payload,
          segments: data.length,
          frameBytes: data.reduce((s, f) => s + f.bytes, 0),
          largestSegment: Math.max(0, ...data.map((f) => carried(f)!.payload)),
        });
      }
    } finally {
      ns.cleanup();
    }
  }
  return rows;
}
