// `knetsim demo` (what `npm start` runs): a few characteristic packets through
// the bundled dump of a kube-proxy node, worker-1 of the example cluster.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeFromDumps, tracePacket } from '../engine';
import { readInput } from './read-input';
import { renderTrace, styleFor } from './render-trace';
import { requestFor } from './trace-command';
import { UserError } from './user-error';

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples');

const PACKETS = [
  {
    title: 'A pod asks cluster DNS (UDP to the kube-dns ClusterIP)',
    from: '10.244.1.5',
    to: '10.96.0.10:53',
    proto: 'udp' as const,
  },
  {
    title: 'A pod calls myapp by its ClusterIP: four endpoints, one chosen at random',
    from: '10.244.1.5',
    to: '10.96.12.7:80',
    proto: 'tcp' as const,
  },
  {
    title: 'An outside client reaches the NodePort on worker-1',
    from: '203.0.113.9',
    to: '192.168.122.31:30080',
    proto: 'tcp' as const,
  },
  {
    title: 'A service with no endpoints: kube-proxy rejects the connection',
    from: '10.244.1.5',
    to: '10.96.99.9:80',
    proto: 'tcp' as const,
  },
];

export function runDemo(out: NodeJS.WriteStream): void {
  const rules = join(EXAMPLES, 'worker-1.iptables-save');
  const routes = join(EXAMPLES, 'worker-1.routes');
  const built = nodeFromDumps({
    name: 'worker-1',
    iptables: { text: readInput(rules), file: rules },
    routes: { text: readInput(routes), file: routes },
  });
  if (!built.ok) throw new UserError(built.message);
  const style = styleFor(out);
  out.write(
    style.bold('knetsim demo: worker-1 of the example cluster, from its real iptables-save and ip route dumps\n\n'),
  );
  for (const p of PACKETS) {
    out.write(`${style.bold(`== ${p.title}`)}\n`);
    out.write(renderTrace(tracePacket(built.node, requestFor(built.node, p.from, p.to, p.proto)), style));
    out.write('\n');
  }
  out.write(
    'Try it on your own node: knetsim trace --rules node.iptables-save --from 10.244.1.5 --to 10.96.0.10:53 --proto udp\n',
  );
}
