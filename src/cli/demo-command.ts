// `knetsim demo` (what `npm start` runs): characteristic packets through the
// bundled example cluster, one node's kernel at a time, in readable form.
import { join } from 'node:path';
import { tracePacket } from '../engine';
import { loadScenarioInput } from './load-scenario-input';
import { PROJECT_ROOT } from './project-root';
import { renderTrace, styleFor } from './render-trace';
import { scenarioRequest } from './scenario-trace';

const EXAMPLES = join(PROJECT_ROOT, 'examples');

const PACKETS = [
  {
    title: 'A pod calls myapp by name: four endpoints, one chosen at random',
    from: 'default/client',
    to: 'myapp.default:80',
    proto: 'tcp' as const,
  },
  {
    title: 'The same pod asks cluster DNS (UDP to the kube-dns ClusterIP)',
    from: 'default/client',
    to: '10.96.0.10:53',
    proto: 'udp' as const,
  },
  {
    title: 'An outside client reaches the NodePort on worker-1: DNATed and masqueraded',
    from: '203.0.113.9',
    to: '192.168.122.31:30080',
    proto: 'tcp' as const,
    node: 'worker-1',
  },
  {
    title: 'A service with no endpoints: kube-proxy rejects the connection in filter',
    from: 'default/client',
    to: 'legacy.default:80',
    proto: 'tcp' as const,
  },
];

export async function runDemo(out: NodeJS.WriteStream): Promise<void> {
  const file = join(EXAMPLES, 'demo.yaml');
  const scenario = await loadScenarioInput(file);
  const style = styleFor(out);
  out.write(style.bold(`knetsim demo: the example cluster in ${file} (kube-proxy iptables mode, flannel VXLAN)\n\n`));
  for (const p of PACKETS) {
    out.write(`${style.bold(`== ${p.title}`)}\n`);
    const { node, request } = scenarioRequest(scenario, p.from, p.to, p.proto, p.node);
    out.write(renderTrace(tracePacket(node, request), style));
    out.write('\n');
  }
  out.write(
    [
      'Next:',
      '  knetsim rules examples/demo.yaml --node worker-1          # what iptables-save shows on worker-1',
      '  knetsim trace examples/demo.yaml --from default/client --to myapp.default:80 --json',
      '  knetsim trace examples/demo.yaml --from default/client --to myapp.default:80 --across   # over VXLAN to the other nodes',
      '  knetsim trace examples/demo.yaml --from default/client --to www.example.com:80   # DNS first, as the pod asks',
      '  knetsim dns examples/demo.yaml myapp --from default/client   # CoreDNS answers, printed as dig does',
      '  knetsim sync examples/demo.yaml --then other.yaml          # what kube-proxy sends on the next sync',
      '  knetsim trace --rules examples/worker-1.iptables-save --routes examples/worker-1.routes \\',
      '      --from 10.244.1.5 --to 10.96.0.10:53 --proto udp       # a real node dump, no Kubernetes objects',
      '',
    ].join('\n'),
  );
}
