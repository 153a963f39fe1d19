// A real node's `ip route show table all` holds tables other than main (policy
// routing: TPROXY's `local default` table, a CNI's per-interface tables) and
// multipath routes; `ip rule show` says when those tables are consulted. The
// texts below are what iproute2 printed in a namespace set up so (and
// test/kernel/policy-routing-oracle checks the choices against `ip route get`).
import { describe, expect, it } from 'vitest';
import { makeSimNode, tracePacket } from '../../src/engine';
import { nodeFromDumps } from '../../src/engine/node-from-dumps';
import { formatRoute, lookupRoute, parseIpRoutes, parseIpRules } from '../../src/net';
import { ip, nodeFromRules } from '../helpers/node-from-rules';

const ROUTES = [
  'default via 10.0.0.3 dev v0 table 2 ',
  'local default dev lo table 2005 scope host ',
  'default via 10.0.0.1 dev v0 ',
  '10.0.0.0/24 dev v0 proto kernel scope link src 10.0.0.2 ',
  '10.9.0.0/16 proto bird ',
  '\tnexthop via 10.0.0.3 dev v0 weight 1 ',
  '\tnexthop via 10.0.0.4 dev v0 weight 1 ',
  'local 10.0.0.2 dev v0 table local proto kernel scope host src 10.0.0.2 ',
  'broadcast 10.0.0.255 dev v0 table local proto kernel scope link src 10.0.0.2 ',
  'local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1 ',
  'fd00::/64 dev v0 proto kernel metric 256 pref medium',
  'local ::1 dev lo table local proto kernel metric 0 pref medium',
  'multicast ff00::/8 dev v0 table local proto kernel metric 256 pref medium',
  '2001:db8::/64 proto static metric 1024 pref medium',
  '\tnexthop via inet6 fe80::1 dev v0 weight 1 ',
  '\tnexthop via inet6 fe80::2 dev v0 weight 1 ',
  '10.5.0.0/16 via 10.0.0.5 dev v0 mtu lock 1400 advmss 1360 ',
].join('\n');

const RULES = [
  '0:\tfrom all lookup local',
  '100:\tfrom all fwmark 0x200/0xf00 lookup 2005',
  '1536:\tfrom 10.0.0.7 lookup 2',
  '32766:\tfrom all lookup main',
  '32767:\tfrom all lookup default',
].join('\n');

function parsedRoutes() {
  const r = parseIpRoutes(ROUTES);
  if (!r.ok) throw new Error(r.message);
  return r.routes;
}

describe('ip route show table all', () => {
  it('keeps each route in its table, multipath next hops with their route, and skips IPv6', () => {
    const routes = parsedRoutes();
    expect(routes.map((r) => [r.table, formatRoute(r)])).toEqual([
      ['2', 'default via 10.0.0.3 dev v0 table 2'],
      ['2005', 'local default dev lo table 2005'],
      ['main', 'default via 10.0.0.1 dev v0'],
      ['main', '10.0.0.0/24 dev v0 proto kernel scope link src 10.0.0.2'],
      [
        'main',
        '10.9.0.0/16 proto bird\n\tnexthop via 10.0.0.3 dev v0 weight 1\n\tnexthop via 10.0.0.4 dev v0 weight 1',
      ],
      ['local', 'local 10.0.0.2 dev v0 proto kernel src 10.0.0.2'],
      ['local', 'broadcast 10.0.0.255 dev v0 proto kernel scope link src 10.0.0.2'],
      ['local', 'local 127.0.0.0/8 dev lo proto kernel src 127.0.0.1'],
      ['main', '10.5.0.0/16 via 10.0.0.5 dev v0'],
    ]);
  });

  it('routes by local and main alone without policy rules: another table is not consulted', () => {
    const routes = parsedRoutes();
    // Table 2's default route comes first in the dump; table 2005's `local default` would make every address local.
    expect(lookupRoute(routes, ip('8.8.8.8'))).toMatchObject({ table: 'main', via: ip('10.0.0.1') });
    expect(lookupRoute(routes, ip('10.9.1.1'))).toMatchObject({ via: ip('10.0.0.3'), dev: 'v0' });
  });

  it('refuses what is no route, naming the line', () => {
    expect(parseIpRoutes('default via 10.0.0.1 dev eth0\nbogus dev eth0')).toEqual({
      ok: false,
      line: 2,
      message: '"bogus" is not a route destination',
    });
    expect(parseIpRoutes('10.9.0.0/16\n\tnexthop via 10.0.0.1 dev v0 weight 0')).toEqual({
      ok: false,
      line: 2,
      message: '"0" is not a next-hop weight (1-256)',
    });
  });
});

describe('ip rule show', () => {
  it('reads selectors and actions as iproute2 prints them', () => {
    const text = [
      '1000:\tnot from 10.0.0.0/8 lookup 100',
      '1002:\tfrom all iif lo oif eth1 uidrange 1000-2000 lookup 6',
      '1003:\tfrom all ipproto tcp dport 80 lookup 7',
      '1004:\tfrom all sport 1000-2000 lookup 8',
      '1006:\tfrom all lookup 10 suppress_prefixlength 0',
      '1007:\tfrom all goto 32766',
      '1008:\tfrom all blackhole',
      '1024:\tfrom all fwmark 0x80 lookup main',
      '1600:\tfrom all iif ghost [detached] lookup 3',
      '2004:\tfrom all lookup 20 proto openr',
      '0:\tfrom all lookup local',
    ].join('\n');
    const parsed = parseIpRules(text);
    if (!parsed.ok) throw new Error(parsed.message);
    const r = parsed.rules;
    expect(r.map((x) => x.priority)).toEqual([0, 1000, 1002, 1003, 1004, 1006, 1007, 1008, 1024, 1600, 2004]);
    expect(r[1]).toMatchObject({ not: true, from: { address: ip('10.0.0.0'), length: 8 }, table: '100' });
    expect(r[2]).toMatchObject({ iif: 'lo', oif: 'eth1', uidrange: [1000, 2000], table: '6' });
    expect(r[3]).toMatchObject({ ipproto: 6, dport: [80, 80] });
    expect(r[4]).toMatchObject({ sport: [1000, 2000] });
    expect(r[5]).toMatchObject({ suppressPrefixLength: 0, table: '10' });
    expect(r[6]).toMatchObject({ action: 'goto', gotoPriority: 32766 });
    expect(r[7]).toMatchObject({ action: 'blackhole' });
    expect(r[8]).toMatchObject({ fwmark: 0x80, fwmask: 0xffffffff, table: 'main' });
    expect(r[9]).toMatchObject({ iif: 'ghost', iifDetached: true });
  });

  it('refuses a line it cannot read, naming it', () => {
    expect(parseIpRules('0:\tfrom all lookup local\n5:\tfrom all frobnicate 3 lookup 2')).toEqual({
      ok: false,
      line: 2,
      message: '"frobnicate" is not an ip rule selector or action this reader knows',
    });
    expect(parseIpRules('7:\tfrom 10.0.0.300 lookup 2')).toMatchObject({
      ok: false,
      message: '"10.0.0.300" is not an IPv4 source prefix',
    });
    expect(parseIpRules('7:\tfrom all')).toMatchObject({ ok: false, message: expect.stringContaining('no action') });
    expect(parseIpRules('from all lookup main')).toMatchObject({ ok: false, line: 1 });
  });
});

describe('traces through policy rules', () => {
  const MARKING =
    '*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 80 -j MARK --set-xmark 0x200/0xf00\nCOMMIT\n';
  const node = () => {
    const built = nodeFromDumps({
      iptables: { text: MARKING, file: 'mangle' },
      routes: { text: ROUTES, file: 'routes' },
      ipRules: { text: RULES, file: 'rules' },
    });
    if (!built.ok) throw new Error(built.message);
    return built.node;
  };
  const trace = (src: string, dst: string, dport: number) =>
    tracePacket(node(), {
      src: ip(src),
      dst: ip(dst),
      protocol: 'tcp',
      dport,
      origin: { kind: 'interface', iface: 'v0' },
    });

  it('a packet marked in mangle PREROUTING is routed by the fwmark rule: table 2005 delivers it here', () => {
    const t = trace('10.0.0.9', '8.8.8.8', 80);
    expect(t.branches.map((b) => [b.outcome, b.disposition])).toEqual([
      ['ACCEPT', 'delivered to a local socket on 8.8.8.8:80'],
    ]);
    expect(t.hops.filter((h) => 'stage' in h && h.stage === 'routing').map((h) => h.action)).toEqual([
      '8.8.8.8 is local: INPUT (rule 100: from all fwmark 0x200/0xf00 lookup 2005)',
    ]);
  });

  it('an unmarked packet takes main; one from 10.0.0.7 takes table 2, and the trace names the rule', () => {
    expect(trace('10.0.0.9', '8.8.8.8', 53).branches.map((b) => b.disposition)).toEqual(['sent out v0 via 10.0.0.1']);
    const t = trace('10.0.0.7', '8.8.8.8', 53);
    expect(t.branches.map((b) => b.disposition)).toEqual(['sent out v0 via 10.0.0.3']);
    expect(t.hops.filter((h) => 'stage' in h && h.stage === 'routing').map((h) => h.action)).toEqual([
      'forward: out v0 via 10.0.0.3 (rule 1536: from 10.0.0.7 lookup 2)',
    ]);
  });

  it('a multipath route: each path is a branch with its share of the weights (the kernel hashes each flow to one)', () => {
    const routes = parseIpRoutes(
      [
        '10.9.0.0/16 proto bird',
        '\tnexthop via 10.0.0.3 dev v0 weight 1',
        '\tnexthop via 10.0.0.4 dev v0 weight 3',
      ].join('\n'),
    );
    if (!routes.ok) throw new Error(routes.message);
    const node = makeSimNode({ ...nodeFromRules('*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n'), routes: routes.routes });
    const request = {
      src: ip('10.244.1.5'),
      dst: ip('10.9.1.1'),
      protocol: 'udp',
      dport: 53,
      origin: { kind: 'interface', iface: 'cni0' },
    } as const;
    const t = tracePacket(node, request);
    const byPath = <T extends { disposition: string }>(bs: readonly T[]) =>
      [...bs].sort((a, b) => (a.disposition < b.disposition ? -1 : 1));
    expect(byPath(t.branches).map((b) => [b.probability, b.disposition])).toEqual([
      [0.25, 'sent out v0 via 10.0.0.3'],
      [0.75, 'sent out v0 via 10.0.0.4'],
    ]);
    expect(
      byPath(t.branches).map((b) => b.hops.filter((h) => 'stage' in h && h.stage === 'routing').map((h) => h.action)),
    ).toEqual([
      ['forward: out v0 via 10.0.0.3 (multipath path 1 of 2, weight 1/4: the kernel hashes each flow to one path)'],
      ['forward: out v0 via 10.0.0.4 (multipath path 2 of 2, weight 3/4: the kernel hashes each flow to one path)'],
    ]);
    // A sampled packet takes one path, drawn by weight.
    const draws = [0.2, 0.3, 0.9];
    const out = draws.map(
      (x) => tracePacket(node, { ...request, sample: () => x }).branches.map((b) => b.disposition)[0],
    );
    expect(out).toEqual(['sent out v0 via 10.0.0.3', 'sent out v0 via 10.0.0.4', 'sent out v0 via 10.0.0.4']);
    // A packet the node makes branches likewise.
    const local = tracePacket(node, { ...request, src: ip('192.168.0.2'), origin: { kind: 'local' } });
    expect(byPath(local.branches).map((b) => [b.probability, b.disposition])).toEqual([
      [0.25, 'sent out v0 via 10.0.0.3'],
      [0.75, 'sent out v0 via 10.0.0.4'],
    ]);
  });

  it('policy rules without the routes of every table are refused', () => {
    const built = nodeFromDumps({
      iptables: { text: MARKING, file: 'mangle' },
      ipRules: { text: RULES, file: 'rules' },
    });
    expect(built).toEqual({ ok: false, message: 'rules: policy rules need the routes of every table (--routes)' });
  });
});

describe('review follow-ups (each checked with iproute2 and the kernel in a netns)', () => {
  it('IPv6 routes printed as `default ...` are skipped, not read as IPv4', () => {
    const r = parseIpRoutes(
      [
        'default via fd00::1 dev eth0 metric 1024 pref medium',
        'default dev eth1 table 100 metric 1024 pref medium',
        'default via 10.0.0.1 dev eth0',
      ].join('\n'),
    );
    if (!r.ok) throw new Error(r.message);
    expect(r.routes.map((x) => formatRoute(x))).toEqual(['default via 10.0.0.1 dev eth0']);
  });
  it('a dead next hop takes no flows', () => {
    const r = parseIpRoutes(
      [
        '10.9.0.0/16 proto bird',
        '\tnexthop via 10.0.0.3 dev v0 weight 1',
        '\tnexthop via 10.1.0.1 dev v1 weight 3 dead linkdown',
      ].join('\n'),
    );
    if (!r.ok) throw new Error(r.message);
    const node = makeSimNode({ ...nodeFromRules('*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n'), routes: r.routes });
    const t = tracePacket(node, {
      src: ip('10.244.1.5'),
      dst: ip('10.9.1.1'),
      protocol: 'udp',
      dport: 53,
      origin: { kind: 'interface', iface: 'cni0' },
    });
    expect(t.branches.map((b) => [b.probability, b.disposition])).toEqual([[1, 'sent out v0 via 10.0.0.3']]);
  });
  it("a packet the node makes: OUTPUT sees each path's device; a source on one path's device takes that path", () => {
    const r = parseIpRoutes(
      [
        '10.9.0.0/16 proto bird',
        '\tnexthop via 192.168.0.1 dev eth0 weight 1',
        '\tnexthop via 10.244.1.9 dev cni0 weight 3',
        '192.168.0.0/24 dev eth0 proto kernel scope link src 192.168.0.2',
        '10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1',
      ].join('\n'),
    );
    if (!r.ok) throw new Error(r.message);
    const node = makeSimNode({
      ...nodeFromRules('*filter\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -o cni0 -j DROP\nCOMMIT\n'),
      routes: r.routes,
    });
    const from = (src: string) =>
      tracePacket(node, { src: ip(src), dst: ip('10.9.1.1'), protocol: 'udp', dport: 53, origin: { kind: 'local' } })
        .branches.map((b) => [b.outcome, b.probability])
        .sort();
    expect(from('127.0.0.1')).toEqual([
      ['ACCEPT', 0.25],
      ['DROP', 0.75],
    ]);
    expect(from('192.168.0.2')).toEqual([['ACCEPT', 1]]);
    expect(from('10.244.1.1')).toEqual([['DROP', 1]]);
  });
  it("with --ip-rules, the node's own address is delivered here even when the dump has no local table", () => {
    const built = nodeFromDumps({
      iptables: { text: '', file: 'i' },
      routes: {
        text: 'default via 10.0.0.1 dev eth0\n10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.2\n',
        file: 'r',
      },
      ipRules: { text: RULES, file: 'rules' },
    });
    if (!built.ok) throw new Error(built.message);
    const t = tracePacket(built.node, {
      src: ip('10.0.0.9'),
      dst: ip('10.0.0.2'),
      protocol: 'tcp',
      dport: 22,
      origin: { kind: 'interface', iface: 'eth0' },
    });
    expect(t.branches.map((b) => b.disposition)).toEqual(['delivered to a local socket on 10.0.0.2:22']);
  });
  it('ip rule: a goto to no rule ([unresolved]) and a named interface group', () => {
    const parsed = parseIpRules(
      '90:\tfrom all goto 200 [unresolved]\n160:\tfrom all lookup 103 suppress_ifgroup default\n',
    );
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.rules.map((r) => [r.action, r.suppressIfgroup])).toEqual([
      ['goto', null],
      ['lookup', 0],
    ]);
  });
});

describe('TPROXY without a port', () => {
  it('--on-port 0 hands the packet to the proxy on its own destination port', () => {
    const built = nodeFromDumps({
      iptables: {
        text: '*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p udp -j TPROXY --on-port 0 --on-ip 127.0.0.1 --tproxy-mark 0x200/0xf00\nCOMMIT\n',
        file: 'mangle',
      },
      routes: { text: ROUTES, file: 'routes' },
      ipRules: { text: RULES, file: 'rules' },
    });
    if (!built.ok) throw new Error(built.message);
    const t = tracePacket(built.node, {
      src: ip('10.0.0.9'),
      dst: ip('10.96.0.10'),
      protocol: 'udp',
      dport: 53,
      origin: { kind: 'interface', iface: 'v0' },
    });
    expect(t.branches.map((b) => b.disposition)).toEqual([
      "delivered to the transparent proxy's socket on 127.0.0.1:53 (TPROXY; the packet keeps its destination 10.96.0.10:53)",
    ]);
  });
});
