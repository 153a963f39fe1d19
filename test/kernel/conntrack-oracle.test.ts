// A node's tracked connections against the kernel: the classic stale UDP entry. A
// client's datagrams to 10.96.0.10:53 are DNATed to 10.0.0.2; the rules then move the
// Service to 10.0.0.3, but the next datagram from the same source port still goes to
// 10.0.0.2, because conntrack keeps the first packet's NAT. knetsim, given the node's
// iptables-save, ip route and `conntrack -L`, must send it where the kernel did (and
// without the listing, where the new rules say).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeFromDumps, tracePacket } from '../../src/engine';
import { ip } from '../helpers/node-from-rules';
import { kernelGate } from './kernel-gate';
import { inNs, Namespaces, removeStale, run } from './netns';

const why = kernelGate('conntrack oracle', ['ip', 'iptables-restore', 'iptables-save', 'conntrack', 'python3']);

const rulesTo = (endpoint: string) =>
  `*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d 10.96.0.10/32 -p udp -m udp --dport 53 -j DNAT --to-destination ${endpoint}:53\nCOMMIT\n`;

/** Two sockets, one per endpoint address: which of them the datagrams reached, in order. */
const LISTEN = `
import socket, select, time
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(('10.0.0.2', 53))
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.bind(('10.0.0.3', 53))
print('ready', flush=True)
got = []
end = time.time() + 4
while len(got) < 2 and time.time() < end:
    r, _, _ = select.select([a, b], [], [], 0.2)
    for s in r:
        s.recv(100)
        got.append('10.0.0.2' if s is a else '10.0.0.3')
print(' '.join(got), flush=True)
`;

const SEND = (n: number) =>
  `import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('10.1.0.5', 40000)); ${'s.sendto(b"q", ("10.96.0.10", 53)); '.repeat(n)}`;

describe.skipIf(why !== null)('conntrack: a listed connection keeps its NAT, in the kernel and in knetsim', () => {
  const ns = new Namespaces();
  beforeAll(() => removeStale());
  afterAll(() => ns.cleanup());

  it('a stale UDP entry sends the next datagram to the endpoint the rules no longer name', () => {
    const node = ns.create('node');
    const endpoints = ns.create('ep');
    const client = ns.create('client');
    inNs(node, 'ip', ['link', 'add', 'n0', 'type', 'veth', 'peer', 'name', 'e0', 'netns', endpoints]);
    inNs(node, 'ip', ['link', 'add', 'c0', 'type', 'veth', 'peer', 'name', 'k0', 'netns', client]);
    inNs(node, 'ip', ['addr', 'add', '10.0.0.1/24', 'dev', 'n0']);
    inNs(node, 'ip', ['addr', 'add', '10.1.0.1/24', 'dev', 'c0']);
    for (const dev of ['n0', 'c0']) inNs(node, 'ip', ['link', 'set', dev, 'up']);
    inNs(node, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    for (const a of ['10.0.0.2/24', '10.0.0.3/24']) inNs(endpoints, 'ip', ['addr', 'add', a, 'dev', 'e0']);
    inNs(endpoints, 'ip', ['link', 'set', 'e0', 'up']);
    inNs(endpoints, 'ip', ['route', 'add', 'default', 'via', '10.0.0.1']);
    inNs(client, 'ip', ['addr', 'add', '10.1.0.5/24', 'dev', 'k0']);
    inNs(client, 'ip', ['link', 'set', 'k0', 'up']);
    inNs(client, 'ip', ['route', 'add', 'default', 'via', '10.1.0.1']);

    const out = `/tmp/${endpoints}.out`;
    run('sh', ['-c', `ip netns exec ${endpoints} python3 -c "$1" > ${out} 2>&1 &`, 'sh', LISTEN]);
    for (let i = 0; i < 50 && !run('cat', [out]).stdout.includes('ready'); i++) run('sleep', ['0.1']);
    inNs(node, 'iptables-restore', [], rulesTo('10.0.0.2'));
    inNs(client, 'python3', ['-c', SEND(1)]);
    // The Service moves; the connection stays.
    inNs(node, 'iptables-restore', [], rulesTo('10.0.0.3'));
    inNs(client, 'python3', ['-c', SEND(1)]);
    for (let i = 0; i < 50 && run('cat', [out]).stdout.trim().split('\n').length < 2; i++) run('sleep', ['0.1']);
    const arrived = run('cat', [out]).stdout.trim().split('\n').slice(1).join(' ');
    run('rm', ['-f', out]);
    expect(arrived).toBe('10.0.0.2 10.0.0.2');

    const listing = inNs(node, 'conntrack', ['-L']);
    expect(listing).toContain('dport=53');
    const dumps = {
      iptables: { text: inNs(node, 'iptables-save', []), file: 'iptables-save' },
      routes: { text: inNs(node, 'ip', ['route', 'show', 'table', 'all']), file: 'routes' },
    };
    const request = {
      src: ip('10.1.0.5'),
      dst: ip('10.96.0.10'),
      protocol: 'udp',
      sport: 40000,
      dport: 53,
      origin: { kind: 'interface', iface: 'c0' },
    } as const;
    const withListing = nodeFromDumps({ ...dumps, conntrack: { text: listing, file: 'conntrack' } });
    if (!withListing.ok) throw new Error(withListing.message);
    const stale = tracePacket(withListing.node, request);
    expect(stale.endpoints.map((e) => e.address)).toEqual(['10.0.0.2:53']);
    expect(stale.branches.map((b) => b.disposition)).toEqual(['sent out n0 directly to 10.0.0.2']);
    // Without the listing the packet is a new connection, and the rules send it to the new endpoint.
    const fresh = nodeFromDumps(dumps);
    if (!fresh.ok) throw new Error(fresh.message);
    expect(tracePacket(fresh.node, request).endpoints.map((e) => e.address)).toEqual(['10.0.0.3:53']);
  });
});
