// One test per target: what it does to the packet, the connection and the walk.
import { describe, expect, it } from 'vitest';
import { parseNatRange } from '../../src/netfilter/targets/nat-targets';
import { ip, NODE_IP, nodeFromRules, table, trace } from '../helpers/node-from-rules';

describe('verdict targets', () => {
  it('ACCEPT ends the table, DROP and REJECT end the packet', () => {
    const n = nodeFromRules(
      table('filter', [
        '-A FORWARD -p udp -j ACCEPT',
        '-A FORWARD -p tcp --dport 1 -j REJECT --reject-with tcp-reset',
        '-A FORWARD -j DROP',
      ]),
    );
    expect(trace(n, '10.244.1.5', '8.8.8.8', 53, 'udp').outcome).toBe('ACCEPT');
    const rejected = trace(n, '10.244.1.5', '8.8.8.8', 1);
    expect(rejected.outcome).toBe('REJECT');
    expect(rejected.branches[0]!.disposition).toContain('tcp-reset');
    expect(trace(n, '10.244.1.5', '8.8.8.8', 2).outcome).toBe('DROP');
  });
  it('RETURN goes back to the calling chain; a user chain that ends returns too', () => {
    const n = nodeFromRules(
      table('filter', [
        ':A - [0:0]',
        ':B - [0:0]',
        '-A FORWARD -j A',
        '-A FORWARD -j DROP',
        '-A A -j B',
        '-A A -j ACCEPT',
        '-A B -p tcp -j RETURN',
      ]),
    );
    const t = trace(n, '10.244.1.5', '8.8.8.8', 80);
    expect(t.outcome).toBe('ACCEPT');
    expect(t.hops.filter((h) => h.stage === 'filter/FORWARD').map((h) => h.action)).toEqual([
      'A',
      'B',
      'RETURN',
      'ACCEPT',
    ]);
  });
  it('-g goes to a chain whose end returns to the chain that jumped to the caller', () => {
    const n = nodeFromRules(
      table('filter', [
        ':A - [0:0]',
        ':B - [0:0]',
        '-A FORWARD -j A',
        '-A FORWARD -j DROP',
        '-A A -g B',
        '-A A -j ACCEPT',
        '-A B -p udp -j ACCEPT',
      ]),
    );
    expect(trace(n, '10.244.1.5', '8.8.8.8', 80).outcome).toBe('DROP');
  });
  it("-g from a built-in chain: the end of the chain gone to (or its RETURN) takes the built-in chain's policy", () => {
    // The kernel's underflow is the hook's policy, whatever chain the walk ended in (checked in a netns:
    // OUTPUT DROP with "-g X" and X empty or RETURNing drops the packet, rules after the -g never run).
    for (const x of [[], ['-A X -j RETURN']]) {
      const n = nodeFromRules(
        `*filter\n:FORWARD DROP [0:0]\n:X - [0:0]\n-A FORWARD -p tcp -g X\n-A FORWARD -p tcp -j ACCEPT\n${x.join('\n')}\nCOMMIT\n`,
      );
      const t = trace(n, '10.244.1.5', '8.8.8.8', 80);
      expect(t.outcome).toBe('DROP');
      const last = t.hops.filter((h) => h.stage === 'filter/FORWARD').at(-1)!;
      expect([last.chain, last.action]).toEqual(['FORWARD', 'policy DROP']);
    }
  });
  it('a built-in chain policy DROP applies when no rule decides', () => {
    const n = nodeFromRules('*filter\n:FORWARD DROP [0:0]\n-A FORWARD -p udp -j ACCEPT\nCOMMIT\n');
    expect(trace(n, '10.244.1.5', '8.8.8.8', 80).outcome).toBe('DROP');
    expect(trace(n, '10.244.1.5', '8.8.8.8', 80).hops.at(-2)!.action).toBe('policy DROP');
  });
  it('a rule without a target only counts', () => {
    const n = nodeFromRules(table('filter', ['-A FORWARD -p tcp']));
    const t = trace(n, '10.244.1.5', '8.8.8.8', 80);
    expect(t.outcome).toBe('ACCEPT');
    expect(t.hops.some((h) => h.action === 'no target (counted)')).toBe(true);
  });
});

describe('NAT targets and conntrack', () => {
  it('reads ADDR[-ADDR][:PORT[-PORT]] and refuses what iptables refuses', () => {
    const range = (
      minAddress: string | null,
      maxAddress: string | null,
      minPort: number | null,
      maxPort: number | null,
    ) => ({
      minAddress: minAddress === null ? null : ip(minAddress),
      maxAddress: maxAddress === null ? null : ip(maxAddress),
      minPort,
      maxPort,
    });
    expect(parseNatRange('10.244.1.5:8080', true)).toEqual(range('10.244.1.5', '10.244.1.5', 8080, 8080));
    expect(parseNatRange('10.0.0.1-10.0.0.9', true)).toEqual(range('10.0.0.1', '10.0.0.9', null, null));
    expect(parseNatRange('10.0.0.1-10.0.0.9:1000-2000', true)).toEqual(range('10.0.0.1', '10.0.0.9', 1000, 2000));
    expect(parseNatRange(':53', false)).toEqual(range(null, null, 53, 53));
    for (const bad of [
      ':53',
      '10.0.0.9-10.0.0.1',
      '10.0.0.1-',
      '-10.0.0.1',
      '10.0.0.1:',
      '10.0.0.1:90-80',
      '10.0.0.1:80-',
      '10.0.0.1:65536',
      '10.0.0.1:8o',
      '10.0.0.1:80:90',
      '10.0.0.256',
    ])
      expect(parseNatRange(bad, true), bad).toBeNull();
  });
  it('DNAT rewrites the destination, routes to it, and the reply is un-NATed', () => {
    const n = nodeFromRules(
      table('nat', ['-A PREROUTING -d 10.96.0.10/32 -p udp -m udp --dport 53 -j DNAT --to-destination 10.244.2.3:53']),
    );
    const t = trace(n, '10.244.1.5', '10.96.0.10', 53, 'udp');
    expect(t.endpoints).toEqual([{ address: '10.244.2.3:53', probability: 1 }]);
    expect(t.branches[0]!.final).toBe('udp 10.244.1.5:40000 -> 10.244.2.3:53');
    expect(t.branches[0]!.reply).toEqual({
      sent: 'udp 10.244.2.3:53 -> 10.244.1.5:40000',
      received: 'udp 10.96.0.10:53 -> 10.244.1.5:40000',
    });
  });
  it('MASQUERADE takes the out interface address; SNAT the given one', () => {
    const m = nodeFromRules(table('nat', ['-A POSTROUTING -o eth0 -j MASQUERADE --random-fully']));
    const t = trace(m, '10.244.1.5', '8.8.8.8', 443);
    expect(t.masquerade).toBe(true);
    expect(t.branches[0]!.final).toBe(`tcp ${NODE_IP}:40000 -> 8.8.8.8:443`);
    const s = nodeFromRules(table('nat', ['-A POSTROUTING -p tcp -j SNAT --to-source 192.168.0.99:5000']));
    expect(trace(s, '10.244.1.5', '8.8.8.8', 443).branches[0]!.final).toBe('tcp 192.168.0.99:5000 -> 8.8.8.8:443');
  });
  it("MASQUERADE out of lo takes the first device's global address, not 127.0.0.1; with none the packet is dropped", () => {
    // inet_select_addr with universe scope skips 127/8 (host scope) and then looks at every device: in a netns
    // with a veth at 192.168.0.2, 127.0.0.1:40000 -> 127.0.0.1:9 masqueraded out lo arrived from 192.168.0.2:6000;
    // with lo alone the send failed (EPERM).
    const rules = table('nat', ['-A POSTROUTING -o lo -p udp -j MASQUERADE --to-ports 6000']);
    const t = trace(nodeFromRules(rules), '127.0.0.1', '127.0.0.1', 9, 'udp');
    expect(t.outcome).toBe('ACCEPT');
    expect(t.branches[0]!.final).toBe(`udp ${NODE_IP}:6000 -> 127.0.0.1:9`);
    const loOnly = {
      ...nodeFromRules(rules),
      interfaces: [{ name: 'lo', addresses: [{ address: ip('127.0.0.1'), prefixLength: 8 }] }],
    };
    const dropped = trace(loOnly, '127.0.0.1', '127.0.0.1', 9, 'udp');
    expect(dropped.outcome).toBe('DROP');
    expect(dropped.branches[0]!.disposition).toContain('MASQUERADE found no address');
  });
  it('CT --notrack is NOTRACK; TCPMSS lets the packet on and says what it would do to the MSS', () => {
    const n = nodeFromRules(
      table('raw', ['-A PREROUTING -p tcp -j CT --notrack']) +
        table('mangle', ['-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu']) +
        table('filter', ['-A FORWARD -m conntrack --ctstate UNTRACKED -j ACCEPT', '-A FORWARD -j DROP']),
    );
    const t = trace(n, '10.244.1.5', '8.8.8.8', 443);
    expect(t.outcome).toBe('ACCEPT');
    expect(t.hops.find((h) => h.stage === 'mangle/FORWARD')!.action).toBe(
      'MSS of a SYN clamped to the path MTU (TCP options are not modelled)',
    );
    expect(t.hops.find((h) => h.stage === 'mangle/FORWARD')!.rule).toBe(
      '-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu',
    );
  });
  it('NFLOG says where it logs and lets the packet on', () => {
    const t = trace(
      nodeFromRules(table('filter', ['-A FORWARD -j NFLOG --nflog-group 100 --nflog-prefix "policy x"'])),
      '10.244.1.5',
      '8.8.8.8',
      80,
    );
    expect(t.outcome).toBe('ACCEPT');
    expect(t.hops.find((h) => h.stage === 'filter/FORWARD')!.action).toBe(
      'logged to nflog group 100 with prefix "policy x"',
    );
  });
  it("a NAT port range keeps the packet's own port when it lies in the range, else takes the first", () => {
    // get_unique_tuple keeps an in-range tuple (checked in a netns: forward-rules-oracle).
    const final = (rule: string, table = 'nat') =>
      trace(nodeFromRules(table === 'nat' ? `*nat\n${rule}\nCOMMIT\n` : rule), '10.244.1.5', '8.8.8.8', 80).branches[0]!
        .final;
    expect(final('-A POSTROUTING -p tcp -j SNAT --to-source 192.168.0.2:30000-50000')).toBe(
      'tcp 192.168.0.2:40000 -> 8.8.8.8:80',
    );
    expect(final('-A POSTROUTING -p tcp -j SNAT --to-source 192.168.0.2:1000-2000')).toBe(
      'tcp 192.168.0.2:1000 -> 8.8.8.8:80',
    );
    expect(final('-A POSTROUTING -p tcp -j MASQUERADE --to-ports 39000-41000')).toBe(
      `tcp ${NODE_IP}:40000 -> 8.8.8.8:80`,
    );
    expect(final('-A PREROUTING -p tcp -j DNAT --to-destination 9.9.9.9:70-90')).toBe(
      'tcp 10.244.1.5:40000 -> 9.9.9.9:80',
    );
    expect(final('-A PREROUTING -p tcp -j DNAT --to-destination 9.9.9.9:8080-8090')).toBe(
      'tcp 10.244.1.5:40000 -> 9.9.9.9:8080',
    );
  });
  it('DNAT to one address (plain: read from the table, not a verdict object) and to ranges', () => {
    const final = (rule: string) =>
      trace(nodeFromRules(`*nat\n${rule}\nCOMMIT\n`), '10.244.1.5', '10.96.0.5', 80).branches[0]!.final;
    // An address above 2^31 (a negative int32 word), with and without a port.
    expect(final('-A PREROUTING -p tcp -j DNAT --to-destination 203.0.113.9:8080')).toBe(
      'tcp 10.244.1.5:40000 -> 203.0.113.9:8080',
    );
    expect(final('-A PREROUTING -p tcp -j DNAT --to-destination 203.0.113.9')).toBe(
      'tcp 10.244.1.5:40000 -> 203.0.113.9:80',
    );
    expect(final('-A PREROUTING -p tcp -j DNAT --to-destination 203.0.113.9:8080 --persistent')).toBe(
      'tcp 10.244.1.5:40000 -> 203.0.113.9:8080',
    );
    expect(final('-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.7-10.0.0.7:81')).toBe(
      'tcp 10.244.1.5:40000 -> 10.0.0.7:81',
    );
  });
  it('REDIRECT delivers to the node itself on the given port', () => {
    const n = nodeFromRules(
      table('nat', ['-A PREROUTING -p tcp -d 10.96.0.1 --dport 443 -j REDIRECT --to-ports 36001']),
    );
    const t = trace(n, '10.244.1.5', '10.96.0.1', 443);
    expect(t.endpoints).toEqual([{ address: '10.244.1.1:36001', probability: 1 }]);
    expect(t.branches[0]!.disposition).toBe('delivered to a local socket on 10.244.1.1:36001');
  });
  it('nat is consulted only for the first packet; later packets follow the binding', () => {
    const n = nodeFromRules(
      table('nat', [
        '-A PREROUTING -p tcp -m statistic --mode random --probability 0.5 -j DNAT --to-destination 10.0.0.1:80',
        '-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.2:80',
      ]),
    );
    const first = trace(n, '10.244.1.5', '10.96.0.5', 80, 'tcp', { commit: true });
    expect(first.endpoints.length).toBe(2);
    const ack = { syn: false, ack: true, fin: false, rst: false, psh: false, urg: false };
    const second = trace(n, '10.244.1.5', '10.96.0.5', 80, 'tcp', { tcpFlags: ack });
    expect(second.branches.length).toBe(1);
    expect(second.cost.rulesEvaluated).toBe(0);
    expect(second.branches[0]!.final).toBe(`tcp 10.244.1.5:40000 -> ${first.branches[0]!.endpoint}`);
  });
  it('NOTRACK in raw leaves the packet untracked: no NAT', () => {
    const n = nodeFromRules(
      table('raw', ['-A PREROUTING -p udp -j NOTRACK']) +
        table('nat', ['-A PREROUTING -p udp -j DNAT --to-destination 10.0.0.1:53']),
    );
    const t = trace(n, '10.244.1.5', '10.96.0.10', 53, 'udp');
    expect(t.endpoints).toEqual([]);
    expect(t.hops.some((h) => h.action === 'untracked (NOTRACK in raw)')).toBe(true);
  });
  it('locally generated packets take OUTPUT, and to a local address loop back into INPUT', () => {
    const n = nodeFromRules(
      table('nat', ['-A OUTPUT -p tcp -d 10.96.0.1 -j DNAT --to-destination 192.168.0.2:6443']) +
        table('filter', ['-A INPUT -p tcp --dport 6443 -j ACCEPT', '-A INPUT -j DROP']),
    );
    const t = trace(n, NODE_IP, '10.96.0.1', 443);
    expect(t.outcome).toBe('ACCEPT');
    expect(t.hops.map((h) => h.stage)).toContain('nat/OUTPUT');
    expect(t.hops.map((h) => h.stage)).toContain('filter/INPUT');
    expect(t.hops.map((h) => h.stage)).not.toContain('nat/PREROUTING');
  });
  it('marks set in nat are seen by filter and POSTROUTING (kube-proxy masquerade mark)', () => {
    const n = nodeFromRules(
      table('nat', [
        ':KUBE-MARK-MASQ - [0:0]',
        ':KUBE-POSTROUTING - [0:0]',
        '-A PREROUTING -d 10.96.0.5 -j KUBE-MARK-MASQ',
        '-A PREROUTING -p tcp -d 10.96.0.5 -j DNAT --to-destination 10.0.0.1:80',
        '-A POSTROUTING -j KUBE-POSTROUTING',
        '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
        '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
        '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
        '-A KUBE-POSTROUTING -j MASQUERADE',
      ]),
    );
    const t = trace(n, '10.244.1.5', '10.96.0.5', 80);
    expect(t.masquerade).toBe(true);
    expect(t.hops.filter((h) => h.action.startsWith('mark')).map((h) => h.action)).toEqual([
      'mark 0x0 -> 0x4000',
      'mark 0x4000 -> 0x0',
    ]);
    expect(trace(n, '10.244.1.5', '10.96.0.6', 80).masquerade).toBe(false);
  });
  it('LOG and TRACE continue', () => {
    const n = nodeFromRules(
      table('raw', ['-A PREROUTING -j TRACE']) +
        table('filter', ['-A FORWARD -j LOG --log-prefix "fwd: "', '-A FORWARD -j DROP']),
    );
    const t = trace(n, '10.244.1.5', '8.8.8.8', 80);
    expect(t.outcome).toBe('DROP');
    expect(t.hops.some((h) => h.action.startsWith('log "fwd: "'))).toBe(true);
  });
  it('a packet to nowhere with a route table but no route is NO_ROUTE', async () => {
    const { makeSimNode } = await import('../../src/engine');
    const { parseIpRoutes } = await import('../../src/net');
    const n0 = nodeFromRules(table('filter', []));
    const routes = parseIpRoutes('10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1\n');
    if (!routes.ok) throw new Error('routes');
    const n = makeSimNode({ ...n0, routes: routes.routes });
    expect(trace(n, '10.244.1.5', '8.8.8.8', 80).outcome).toBe('NO_ROUTE');
    expect(ip('8.8.8.8')).toBe(0x08080808);
  });
});
