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

const rulesTo = (endpoint: string, extra = '') =>
  `*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d 10.96.0.10/32 -p udp -m udp --dport 53 -j DNAT --to-destination ${endpoint}:53\nCOMMIT\n${extra}`;

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

  /** The node between a client (10.1.0.5 on c0) and two endpoint addresses (10.0.0.2, .3 on n0). */
  function topology(): { node: string; endpoints: string; client: string } {
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

    return { node, endpoints, client };
  }

  /** Sends one datagram under each rule set in turn; the endpoint address each reached. */
  function sendUnder(t: { node: string; endpoints: string; client: string }, rules: readonly string[]): string {
    const out = `/tmp/${t.endpoints}.out`;
    run('sh', ['-c', `ip netns exec ${t.endpoints} python3 -c "$1" > ${out} 2>&1 &`, 'sh', LISTEN]);
    for (let i = 0; i < 50 && !run('cat', [out]).stdout.includes('ready'); i++) run('sleep', ['0.1']);
    for (const r of rules) {
      inNs(t.node, 'iptables-restore', [], r);
      inNs(t.client, 'python3', ['-c', SEND(1)]);
    }
    for (let i = 0; i < 30 && run('cat', [out]).stdout.trim().split('\n').length < 2; i++) run('sleep', ['0.1']);
    run('sleep', ['0.3']);
    const arrived = run('cat', [out]).stdout.trim().split('\n').slice(1).join(' ');
    run('rm', ['-f', out]);
    return arrived;
  }

  const REQUEST = {
    src: ip('10.1.0.5'),
    dst: ip('10.96.0.10'),
    protocol: 'udp',
    sport: 40000,
    dport: 53,
    origin: { kind: 'interface', iface: 'c0' },
  } as const;

  /** knetsim on the node's dumps as they are now (with its conntrack listing): where the next datagram goes. */
  function knetsimNext(node: string): string {
    const built = nodeFromDumps({
      iptables: { text: inNs(node, 'iptables-save', []), file: 'iptables-save' },
      routes: { text: inNs(node, 'ip', ['route', 'show', 'table', 'all']), file: 'routes' },
      conntrack: { text: inNs(node, 'conntrack', ['-L']), file: 'conntrack' },
    });
    if (!built.ok) throw new Error(built.message);
    const t = tracePacket(built.node, REQUEST);
    return t.outcome === 'ACCEPT' ? t.endpoints.map((e) => e.address.split(':')[0]).join(' ') : t.outcome;
  }

  it('a stale UDP entry sends the next datagram to the endpoint the rules no longer name', () => {
    const t = topology();
    // The Service moves; the connection stays.
    expect(sendUnder(t, [rulesTo('10.0.0.2'), rulesTo('10.0.0.3')])).toBe('10.0.0.2 10.0.0.2');
    expect(inNs(t.node, 'conntrack', ['-L'])).toContain('dport=53');
    expect(knetsimNext(t.node)).toBe('10.0.0.2');
    const dumps = {
      iptables: { text: inNs(t.node, 'iptables-save', []), file: 'iptables-save' },
      routes: { text: inNs(t.node, 'ip', ['route', 'show', 'table', 'all']), file: 'routes' },
    };
    const withListing = nodeFromDumps({ ...dumps, conntrack: { text: inNs(t.node, 'conntrack', ['-L']), file: 'c' } });
    if (!withListing.ok) throw new Error(withListing.message);
    expect(tracePacket(withListing.node, REQUEST).branches.map((b) => b.disposition)).toEqual([
      'sent out n0 directly to 10.0.0.2',
    ]);
    // Without the listing the packet is a new connection, and the rules send it to the new endpoint.
    const fresh = nodeFromDumps(dumps);
    if (!fresh.ok) throw new Error(fresh.message);
    expect(tracePacket(fresh.node, REQUEST).endpoints.map((e) => e.address)).toEqual(['10.0.0.3:53']);
  });

  // CT --zone in raw: the first datagram's connection lives in zone 1. The next datagram finds it only
  // from zone 1; put in zone 0 (the rule gone), it is a new connection the moved Service's rule decides.
  const ZONE_1 = '*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -i c0 -j CT --zone 1\nCOMMIT\n';
  it.each([
    ['kept', ZONE_1, '10.0.0.2 10.0.0.2'],
    ['dropped', '*raw\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n', '10.0.0.2 10.0.0.3'],
  ])(
    'conntrack zones: the zone rule %s, the next datagram goes where the kernel sends it',
    (_name, after, expected) => {
      const t = topology();
      const arrived = sendUnder(t, [rulesTo('10.0.0.2', ZONE_1), rulesTo('10.0.0.3', after)]);
      expect(arrived).toBe(expected);
      expect(inNs(t.node, 'conntrack', ['-L'])).toContain('zone=1');
      expect(knetsimNext(t.node)).toBe(expected.split(' ')[1]);
    },
  );

  it("connbytes: with accounting on, the listing's counts and the next datagram's own decide", () => {
    const t = topology();
    inNs(t.node, 'sysctl', ['-qw', 'net.netfilter.nf_conntrack_acct=1']);
    // The third datagram of the connection is dropped (the first two arrive), and so is the fourth in knetsim.
    const third =
      '*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -m connbytes --connbytes 3 --connbytes-mode packets --connbytes-dir original -j DROP\nCOMMIT\n';
    const arrived = sendUnder(t, [rulesTo('10.0.0.2', third), rulesTo('10.0.0.2', third), rulesTo('10.0.0.2', third)]);
    expect(arrived).toBe('10.0.0.2 10.0.0.2');
    // The dropped third was counted too (conntrack counts it before filter's FORWARD).
    expect(inNs(t.node, 'conntrack', ['-L'])).toMatch(/packets=3 bytes=\d+/);
    expect(knetsimNext(t.node)).toBe('DROP');
  });
});
