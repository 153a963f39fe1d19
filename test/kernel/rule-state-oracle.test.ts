// Matches that keep state in their rule, against the kernel: -m quota (bytes left) and
// -m connlimit (connections counted per source). A client sends one datagram from each
// of several source ports (each a new connection) through a node to a server; the
// server counts what arrived. knetsim samples the same connections one after another on
// the node built from the same rules and must let the same number through.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeFromDumps, samplePacket, samplePackets } from '../../src/engine';
import { ip } from '../helpers/node-from-rules';
import { kernelGate } from './kernel-gate';
import { inNs, Namespaces, removeStale, run } from './netns';

const why = kernelGate('rule state oracle', ['ip', 'iptables-restore', 'python3']);

/** Counts the datagrams that reach 10.0.0.2:53 within a second of the last. */
const LISTEN = `
import socket, select
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('10.0.0.2', 53))
print('ready', flush=True)
n = 0
while select.select([s], [], [], 1.5)[0]:
    s.recv(100)
    n += 1
print(n, flush=True)
`;

/** One 1-byte datagram (29 bytes on the wire) from each of `count` source ports. */
const SEND = (count: number) =>
  `import socket\nfor port in range(40000, 40000 + ${count}):\n    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('10.1.0.5', port)); s.sendto(b"q", ("10.0.0.2", 53)); s.close()\n`;

const CASES: readonly { name: string; rules: string; count: number }[] = [
  {
    name: 'quota 100: three 29-byte datagrams fit, then none',
    rules: '-A FORWARD -m quota --quota 100 -j ACCEPT',
    count: 6,
  },
  { name: 'quota 58: exactly two', rules: '-A FORWARD -m quota --quota 58 -j ACCEPT', count: 4 },
  { name: '! --quota: what does not fit passes', rules: '-A FORWARD -m quota ! --quota 60 -j DROP', count: 4 },
  {
    name: 'connlimit above 2 per source: the third connection on is dropped',
    rules: '-A FORWARD -p udp -m connlimit --connlimit-above 2 -j DROP',
    count: 5,
  },
  {
    name: 'connlimit upto 3 per /24 of the destination',
    rules: '-A FORWARD -p udp -m connlimit --connlimit-upto 3 --connlimit-mask 24 --connlimit-daddr -j ACCEPT',
    count: 5,
  },
];

describe.skipIf(why !== null)('rules that count: the kernel and knetsim let the same connections through', () => {
  const ns = new Namespaces();
  beforeAll(() => removeStale());
  afterAll(() => ns.cleanup());

  /** A node forwarding between a client (10.1.0.5 on c0) and a server holding these addresses (on n0). */
  function topology(serverAddresses: readonly string[]): { node: string; server: string; client: string } {
    const node = ns.create('node');
    const server = ns.create('srv');
    const client = ns.create('cli');
    inNs(node, 'ip', ['link', 'add', 'n0', 'type', 'veth', 'peer', 'name', 'e0', 'netns', server]);
    inNs(node, 'ip', ['link', 'add', 'c0', 'type', 'veth', 'peer', 'name', 'k0', 'netns', client]);
    inNs(node, 'ip', ['addr', 'add', '10.0.0.1/24', 'dev', 'n0']);
    inNs(node, 'ip', ['addr', 'add', '10.1.0.1/24', 'dev', 'c0']);
    for (const dev of ['n0', 'c0']) inNs(node, 'ip', ['link', 'set', dev, 'up']);
    inNs(node, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    for (const a of serverAddresses) inNs(server, 'ip', ['addr', 'add', a, 'dev', 'e0']);
    inNs(server, 'ip', ['link', 'set', 'e0', 'up']);
    inNs(server, 'ip', ['route', 'add', 'default', 'via', '10.0.0.1']);
    inNs(client, 'ip', ['addr', 'add', '10.1.0.5/24', 'dev', 'k0']);
    inNs(client, 'ip', ['link', 'set', 'k0', 'up']);
    inNs(client, 'ip', ['route', 'add', 'default', 'via', '10.1.0.1']);
    return { node, server, client };
  }

  it.each(CASES)('$name', ({ rules, count }) => {
    try {
      const { node, server, client } = topology(['10.0.0.2/24']);
      const dump = `*filter\n:FORWARD DROP [0:0]\n${rules}\n${rules.endsWith('-j DROP') ? '-A FORWARD -j ACCEPT\n' : ''}COMMIT\n`;
      inNs(node, 'iptables-restore', [], dump);
      const out = `/tmp/${server}.out`;
      run('sh', ['-c', `ip netns exec ${server} python3 -c "$1" > ${out} 2>&1 &`, 'sh', LISTEN]);
      for (let i = 0; i < 50 && !run('cat', [out]).stdout.includes('ready'); i++) run('sleep', ['0.1']);
      inNs(client, 'python3', ['-c', SEND(count)]);
      for (let i = 0; i < 40 && run('cat', [out]).stdout.trim().split('\n').length < 2; i++) run('sleep', ['0.1']);
      const arrived = Number(run('cat', [out]).stdout.trim().split('\n')[1]);
      run('rm', ['-f', out]);

      const built = nodeFromDumps({
        iptables: { text: inNs(node, 'iptables-save', []), file: 'iptables-save' },
        routes: { text: inNs(node, 'ip', ['route', 'show', 'table', 'all']), file: 'routes' },
      });
      if (!built.ok) throw new Error(built.message);
      const request = {
        src: ip('10.1.0.5'),
        dst: ip('10.0.0.2'),
        protocol: 'udp',
        sport: 40000,
        dport: 53,
        length: 29,
        origin: { kind: 'interface', iface: 'c0' },
      } as const;
      const sampled = samplePackets(built.node, request, count);
      expect(sampled.outcomes.ACCEPT ?? 0).toBe(arrived);
    } finally {
      ns.cleanup();
    }
  });

  it("nft numgen inc: connections take the map's values in turn, the first 0", () => {
    try {
      const { node, server, client } = topology(['10.0.0.2/24', '10.0.0.3/24', '10.0.0.4/24']);
      const nft =
        'table ip lb {\n  chain pre {\n    type nat hook prerouting priority -100; policy accept;\n    ip daddr 10.0.0.9 dnat to numgen inc mod 3 map { 0 : 10.0.0.2, 1 : 10.0.0.3, 2 : 10.0.0.4 }\n  }\n}\n';
      inNs(node, 'nft', ['-f', '-'], nft);
      const listen = `
import socket, select
socks = {}
for a in ('10.0.0.2', '10.0.0.3', '10.0.0.4'):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((a, 53)); socks[s] = a
print('ready', flush=True)
got = []
while select.select(list(socks), [], [], 1.5)[0]:
    for s in select.select(list(socks), [], [], 0)[0]:
        s.recv(100); got.append(socks[s])
print(' '.join(got), flush=True)
`;
      const send = `import socket, time\nfor port in range(40000, 40005):\n    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('10.1.0.5', port)); s.sendto(b"q", ("10.0.0.9", 53)); s.close(); time.sleep(0.05)\n`;
      const out = `/tmp/${server}.out`;
      run('sh', ['-c', `ip netns exec ${server} python3 -c "$1" > ${out} 2>&1 &`, 'sh', listen]);
      for (let i = 0; i < 50 && !run('cat', [out]).stdout.includes('ready'); i++) run('sleep', ['0.1']);
      inNs(client, 'python3', ['-c', send]);
      for (let i = 0; i < 40 && run('cat', [out]).stdout.trim().split('\n').length < 2; i++) run('sleep', ['0.1']);
      const order = run('cat', [out]).stdout.trim().split('\n')[1];
      run('rm', ['-f', out]);

      const built = nodeFromDumps({
        nft: { text: nft, file: 'nft' },
        routes: { text: inNs(node, 'ip', ['route', 'show', 'table', 'all']), file: 'routes' },
      });
      if (!built.ok) throw new Error(built.message);
      const request = {
        src: ip('10.1.0.5'),
        dst: ip('10.0.0.9'),
        protocol: 'udp',
        sport: 40000,
        dport: 53,
        origin: { kind: 'interface', iface: 'c0' },
      } as const;
      const knetsim: string[] = [];
      const draw = () => 0.5;
      for (let port = 40000; port < 40005; port++)
        knetsim.push(
          ...samplePacket(built.node, { ...request, sport: port }, draw).endpoints.map((e) => e.split(':')[0]!),
        );
      expect(knetsim.join(' ')).toBe(order);
    } finally {
      ns.cleanup();
    }
  });
});
