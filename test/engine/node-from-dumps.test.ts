// A node built from real dumps: iptables-save with ipset matches, ip route.
import { describe, expect, it } from 'vitest';
import { nodeFromDumps, samplePackets, setLookupOf, tracePacket } from '../../src/engine';
import { parseIpsetSave } from '../../src/ipset';
import { ip } from '../helpers/node-from-rules';

const IPTABLES = `*nat
:PREROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-MARK-MASQ - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES ! -s 10.244.0.0/16 -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
COMMIT
`;
const IPSET = `create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536
add KUBE-CLUSTER-IP 10.96.0.10,udp:53
`;
const ROUTES = `default via 192.168.122.1 dev eth0
10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1
192.168.122.0/24 dev eth0 proto kernel scope link src 192.168.122.31
local 192.168.122.31 dev eth0 table local proto kernel scope host src 192.168.122.31
`;

function sets() {
  const parsed = parseIpsetSave(IPSET, { source: 'node.ipset' });
  if (!parsed.ok) throw new Error(parsed.error.message);
  return setLookupOf(parsed.value);
}

describe('nodeFromDumps', () => {
  it('learns interfaces from the routes and matches ipsets, counting look-ups', () => {
    const built = nodeFromDumps({
      iptables: { text: IPTABLES, file: 'node.save' },
      routes: { text: ROUTES, file: 'node.routes' },
      sets: sets(),
    });
    if (!built.ok) throw new Error(built.message);
    expect(built.node.interfaces.map((i) => i.name).sort()).toEqual(['cni0', 'eth0']);
    const t = tracePacket(built.node, {
      src: ip('203.0.113.9'),
      dst: ip('10.96.0.10'),
      protocol: 'udp',
      dport: 53,
      origin: { kind: 'interface', iface: 'eth0' },
    });
    expect(t.hops.some((h) => h.action === 'mark 0x0 -> 0x4000')).toBe(true);
    expect(t.cost.setLookups).toBe(1);
    const other = tracePacket(built.node, {
      src: ip('203.0.113.9'),
      dst: ip('10.96.0.10'),
      protocol: 'tcp',
      dport: 53,
      origin: { kind: 'interface', iface: 'eth0' },
    });
    expect(other.hops.some((h) => h.action.startsWith('mark'))).toBe(false);
  });
  it('walks the security table right after filter (RHEL nodes have one)', () => {
    const built = nodeFromDumps({
      iptables: {
        text: [
          '*security',
          ':INPUT ACCEPT [0:0]',
          ':FORWARD ACCEPT [0:0]',
          ':OUTPUT ACCEPT [0:0]',
          '-A INPUT -p tcp -m tcp --dport 80 -j DROP',
          'COMMIT',
          '*filter',
          ':INPUT ACCEPT [0:0]',
          '-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT',
          'COMMIT',
          '',
        ].join('\n'),
        file: 'node.save',
      },
      routes: { text: ROUTES, file: 'node.routes' },
    });
    if (!built.ok) throw new Error(built.message);
    const t = tracePacket(built.node, {
      src: ip('203.0.113.9'),
      dst: ip('192.168.122.31'),
      protocol: 'tcp',
      dport: 80,
      origin: { kind: 'interface', iface: 'eth0' },
    });
    expect(t.outcome).toBe('DROP');
    const rules = t.hops.filter((h) => h.stage.includes('/')).map((h) => `${h.stage} ${h.action}`);
    expect(rules).toEqual(['filter/INPUT ACCEPT', 'security/INPUT DROP']);
  });

  it('refuses a rule whose set is not in the ipset dump, as the kernel refuses it', () => {
    const r = nodeFromDumps({ iptables: { text: IPTABLES, file: 'node.save' } });
    expect(r).toEqual({
      ok: false,
      message: 'node.save: line 6: set "KUBE-CLUSTER-IP" does not exist (give the node\'s ipset dump with --ipset)',
    });
  });
  it("refuses a SET target whose set is not in the ipset dump (the kernel's SET checkentry)", () => {
    const r = nodeFromDumps({
      iptables: {
        text: '*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -j SET --add-set scanners src\nCOMMIT\n',
        file: 'n.save',
      },
    });
    expect(r).toEqual({
      ok: false,
      message: 'n.save: line 3: set "scanners" does not exist (give the node\'s ipset dump with --ipset)',
    });
  });
  it('a SET target changes the set for later rules, and sampled connections leave their changes on the node', () => {
    const parsed = parseIpsetSave('create scanners hash:ip family inet hashsize 1024 maxelem 65536\n');
    if (!parsed.ok) throw new Error(parsed.error.message);
    const built = nodeFromDumps({
      iptables: {
        text: '*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -m set --match-set scanners src -j DROP\n-A FORWARD -p udp -j SET --add-set scanners src\n-A FORWARD -m set --match-set scanners src -j REJECT\nCOMMIT\n',
        file: 'n.save',
      },
      sets: setLookupOf(parsed.value),
    });
    if (!built.ok) throw new Error(built.message);
    const request = {
      src: ip('10.244.1.5'),
      dst: ip('8.8.8.8'),
      protocol: 'udp',
      dport: 53,
      origin: { kind: 'interface', iface: 'eth0' },
    } as const;
    // A full trace reads the sets as loaded, each time.
    expect([tracePacket(built.node, request).outcome, tracePacket(built.node, request).outcome]).toEqual([
      'REJECT',
      'REJECT',
    ]);
    const sampled = samplePackets(built.node, request, 3, 1);
    expect(sampled.outcomes).toEqual({ REJECT: 1, DROP: 2 });
  });
  it('routes: a destination with no route is NO_ROUTE; the local table delivers', () => {
    const built = nodeFromDumps({
      iptables: { text: '*filter\nCOMMIT\n', file: 'x' },
      routes: { text: ROUTES.replace(/^default.*\n/, ''), file: 'r' },
    });
    if (!built.ok) throw new Error(built.message);
    const lost = tracePacket(built.node, {
      src: ip('10.244.1.5'),
      dst: ip('8.8.8.8'),
      protocol: 'udp',
      dport: 53,
      origin: { kind: 'interface', iface: 'cni0' },
    });
    expect(lost.outcome).toBe('NO_ROUTE');
    const home = tracePacket(built.node, {
      src: ip('10.244.1.5'),
      dst: ip('192.168.122.31'),
      protocol: 'tcp',
      dport: 22,
      origin: { kind: 'interface', iface: 'cni0' },
    });
    expect(home.branches[0]!.disposition).toBe('delivered to a local socket on 192.168.122.31:22');
  });
});

describe('an nft ruleset: connection state before and without conntrack', () => {
  // Both checked in a netns with `nft -f`: a local datagram to 127.0.0.1:9 was sent in each case.
  const traceNft = (text: string) => {
    const built = nodeFromDumps({ name: 'n', nft: { text, file: 'test.nft' } });
    if (!built.ok) throw new Error(built.message);
    return tracePacket(built.node, {
      src: ip('127.0.0.1'),
      dst: ip('127.0.0.1'),
      protocol: 'udp',
      sport: 40000,
      dport: 9,
      origin: { kind: 'local' },
    });
  };
  const table = (pre: string, out: string) =>
    `table ip t {\n\tchain pre {\n\t\ttype filter hook output priority raw; policy accept;\n\t\t${pre}\n\t}\n\tchain out {\n\t\ttype filter hook output priority filter; policy drop;\n\t\t${out}\n\t}\n}\n`;
  it('notrack leaves the packet without a connection: ct state untracked', () => {
    expect(traceNft(table('udp dport 9 notrack', 'ct state untracked accept')).outcome).toBe('ACCEPT');
    expect(traceNft(table('udp dport 10 notrack', 'ct state untracked accept')).outcome).toBe('DROP');
  });
  it('before conntrack (priority raw) the state is invalid', () => {
    expect(traceNft(table('ct state invalid meta mark set 0x00000007', 'meta mark 0x00000007 accept')).outcome).toBe(
      'ACCEPT',
    );
  });
});

describe('a dump given as several sections of one table', () => {
  it('loads them as iptables-restore --noflush does: a node prelude and a kube-proxy restore read together', () => {
    // `iptables-save` writes each table once; a text with a table twice is a concatenation (the bench
    // reads kubelet's prelude and kube-proxy's --noflush restore so), and keeps both sections.
    const text =
      '*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n-A INPUT -j A\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:B - [0:0]\n-A INPUT -p tcp -j B\nCOMMIT\n';
    const built = nodeFromDumps({ iptables: { text, file: 'twice' }, nodeAddresses: [ip('192.168.0.2')] });
    if (!built.ok) throw new Error(built.message);
    const t = tracePacket(built.node, {
      src: ip('10.0.0.9'),
      dst: ip('192.168.0.2'),
      protocol: 'tcp',
      dport: 22,
      origin: { kind: 'interface', iface: 'eth0' },
    });
    expect(t.hops.flatMap((h) => ('rule' in h && h.rule ? [h.rule] : []))).toEqual([
      '-A INPUT -j A',
      '-A INPUT -p tcp -j B',
    ]);
  });
});

describe('--nft with --rules from a node using iptables-nft', () => {
  it("takes iptables' tables from iptables-save, not from the listing (where nft may not say what they test)", () => {
    const listing = [
      '# Warning: table ip filter is managed by iptables-nft, do not touch!',
      'table ip filter {',
      '\tchain INPUT {',
      '\t\ttype filter hook input priority filter; policy accept;',
      '\t\tmeta l4proto tcp xt match set counter packets 0 bytes 0 drop',
      '\t}',
      '}',
      'table inet own {',
      '\tchain input {',
      '\t\ttype filter hook input priority 10; policy accept;',
      '\t\ttcp dport 23 drop',
      '\t}',
      '}',
    ].join('\n');
    const save = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n';
    // Alone, the listing is refused: its `xt match set` does not say what it tests.
    expect(nodeFromDumps({ nft: { text: listing, file: 'nft' } })).toMatchObject({ ok: false });
    const built = nodeFromDumps({
      nft: { text: listing, file: 'nft' },
      iptables: { text: save, file: 'save' },
      nodeAddresses: [ip('192.168.0.2')],
    });
    if (!built.ok) throw new Error(built.message);
    const to = (dport: number) =>
      tracePacket(built.node, {
        src: ip('10.0.0.9'),
        dst: ip('192.168.0.2'),
        protocol: 'tcp',
        dport,
        origin: { kind: 'interface', iface: 'eth0' },
      });
    expect(to(22).outcome).toBe('ACCEPT');
    expect(to(22).hops.flatMap((h) => ('rule' in h && h.rule ? [h.rule] : []))).toEqual([
      '-A INPUT -p tcp --dport 22 -j ACCEPT',
    ]);
    // The listing's own tables still run.
    expect(to(23).outcome).toBe('DROP');
  });
});
