// Policy routing against the kernel: a router namespace with policy rules and
// routing tables of every kind knetsim reads (fwmark, from/to, iif, ipproto and
// ports, uidrange, not, goto, nop, suppress_prefixlength, blackhole/prohibit/
// unreachable actions; throw, unreachable and prohibit routes; a multipath route;
// a `local default` table as TPROXY set-ups have). knetsim reads the namespace's
// own `ip route show table all` and `ip rule show`, and for each of a few hundred
// packets must choose what `ip route get` says the kernel chooses: the device and
// gateway, local delivery, or a refusal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeFromDumps, seededRandom, tracePacket } from '../../src/engine';
import {
  formatIPv4,
  lookupRoute,
  type PolicyRule,
  parseIPv4,
  parseIpRoutes,
  parseIpRules,
  type Route,
  routeByPolicy,
} from '../../src/net';
import { kernelGate } from './kernel-gate';
import { inNs, Namespaces, removeStale, run } from './netns';

const why = kernelGate('policy routing oracle', ['ip']);

/** Devices of the router: where each leads (a namespace holding the peer address). */
const LINKS = [
  { dev: 'in0', address: '10.0.0.1/24' },
  { dev: 'r1', address: '10.1.0.1/24' },
  { dev: 'r2', address: '10.2.0.1/24' },
  { dev: 'r3', address: '10.3.0.1/24' },
] as const;

const SETUP = [
  'route add default via 10.1.0.2 dev r1',
  'route add local default dev lo table 2005',
  'route add default via 10.2.0.2 dev r2 table 2',
  'route add 10.9.0.0/16 via 10.3.0.2 dev r3 table 3',
  'route add throw 10.9.9.0/24 table 3',
  'route add default via 10.3.0.2 dev r3 table 4',
  'route add default via 10.2.0.2 dev r2 table 5',
  'route add 10.7.0.0/16 via 10.3.0.2 dev r3 table 5',
  'route add default via 10.3.0.2 dev r3 table 6',
  'route add 8.8.0.0/16 via 10.2.0.2 dev r2 table 7',
  'route add unreachable 8.8.4.0/24 table 7',
  'route add prohibit 10.7.0.0/16 table 8',
  'route add 1.1.0.0/16 nexthop via 10.2.0.2 dev r2 weight 1 nexthop via 10.2.0.3 dev r2 weight 3',
  'rule add pref 100 fwmark 0x200/0xf00 lookup 2005',
  'rule add pref 200 from 10.0.0.8/29 lookup 2',
  'rule add pref 300 to 10.9.0.0/16 lookup 3',
  'rule add pref 400 iif in0 ipproto udp dport 53 lookup 4',
  'rule add pref 500 not from 10.0.0.0/28 lookup 5 suppress_prefixlength 0',
  'rule add pref 600 fwmark 0x1/0x1 goto 800',
  'rule add pref 700 lookup 6',
  'rule add pref 750 nop',
  'rule add pref 800 uidrange 1000-2000 lookup 7',
  'rule add pref 900 fwmark 0x4/0x4 blackhole',
  'rule add pref 910 fwmark 0x8/0x8 prohibit',
  'rule add pref 920 fwmark 0x10/0x10 unreachable',
  'rule add pref 950 sport 1000-2000 lookup 8',
];

const DSTS = ['8.8.8.8', '8.8.4.4', '10.9.1.1', '10.9.9.9', '10.7.1.1', '10.1.0.2', '10.2.0.1', '1.1.1.1'];
const SRCS = ['10.0.0.5', '10.0.0.9', '10.0.0.20'];
const MARKS = [0, 0x200, 0x201, 0x1, 0x4, 0x8, 0x10, 0x205, 0x300];

type Choice = { kind: 'local' } | { kind: 'out'; dev: string; via: string | null } | { kind: 'refused' };

function kernelChoice(ns: string, args: readonly string[]): Choice {
  const r = run('ip', ['netns', 'exec', ns, 'ip', 'route', 'get', ...args]);
  if (r.status !== 0) return { kind: 'refused' };
  const first = r.stdout.split('\n')[0]!.trim();
  if (/^(unreachable|prohibit|blackhole)\b/.test(first)) return { kind: 'refused' };
  if (/^local\b/.test(first)) return { kind: 'local' };
  const dev = / dev (\S+)/.exec(first)?.[1];
  if (!dev) throw new Error(`ip route get ${args.join(' ')}: cannot read "${first}"`);
  return { kind: 'out', dev, via: / via (\S+)/.exec(first)?.[1] ?? null };
}

function knetsimChoice(
  routes: readonly Route[],
  rules: readonly PolicyRule[],
  key: Parameters<typeof routeByPolicy>[2],
): Choice {
  const found = routeByPolicy(routes, rules, key);
  if (found.kind !== 'route') return { kind: 'refused' };
  const r = found.route;
  if (r.type === 'local') return { kind: 'local' };
  if (r.type !== 'unicast') return { kind: 'refused' };
  return { kind: 'out', dev: r.dev!, via: r.via === null ? null : formatIPv4(r.via) };
}

describe.skipIf(why !== null)('policy routing: knetsim and the kernel route alike', () => {
  const ns = new Namespaces();
  let router = '';
  let routes: Route[] = [];
  let rules: PolicyRule[] = [];
  beforeAll(() => {
    removeStale();
    router = ns.create('router');
    for (const link of LINKS) {
      const peer = ns.create('peer');
      inNs(router, 'ip', ['link', 'add', link.dev, 'type', 'veth', 'peer', 'name', 'p0', 'netns', peer]);
      inNs(router, 'ip', ['addr', 'add', link.address, 'dev', link.dev]);
      inNs(router, 'ip', ['link', 'set', link.dev, 'up']);
      inNs(peer, 'ip', ['link', 'set', 'p0', 'up']);
    }
    inNs(router, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    for (const line of SETUP) inNs(router, 'ip', line.split(' '));
    const routeText = inNs(router, 'ip', ['route', 'show', 'table', 'all']);
    const parsedRoutes = parseIpRoutes(routeText);
    if (!parsedRoutes.ok) throw new Error(`ip route line ${parsedRoutes.line}: ${parsedRoutes.message}`);
    routes = parsedRoutes.routes;
    const parsedRules = parseIpRules(inNs(router, 'ip', ['rule', 'show']));
    if (!parsedRules.ok) throw new Error(`ip rule line ${parsedRules.line}: ${parsedRules.message}`);
    rules = parsedRules.rules;
  });
  afterAll(() => ns.cleanup());

  it('reads every table and rule of the dumps', () => {
    expect(rules.map((r) => r.priority)).toEqual([
      0, 100, 200, 300, 400, 500, 600, 700, 750, 800, 900, 910, 920, 950, 32766, 32767,
    ]);
    const tables = new Set(routes.map((r) => r.table));
    expect([...tables].sort()).toEqual(['2', '2005', '3', '4', '5', '6', '7', '8', 'local', 'main']);
    const multipath = routes.find((r) => r.nexthops);
    expect(multipath?.nexthops?.map((h) => [h.via === null ? null : formatIPv4(h.via), h.weight])).toEqual([
      ['10.2.0.2', 1],
      ['10.2.0.3', 3],
    ]);
    // Without the policy rules, only local and main count: table 2's default route is not main's.
    expect(lookupRoute(routes, parseIPv4('8.8.8.8')!)?.dev).toBe('r1');
  });

  it('chooses what ip route get chooses, for packets coming in and packets the node makes', () => {
    const random = seededRandom(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const differences: string[] = [];
    let compared = 0;
    for (let n = 0; n < 300; n++) {
      const incoming = random() < 0.6;
      const dst = pick(DSTS);
      const src = incoming ? pick(SRCS) : pick(['10.0.0.1', '10.1.0.1']);
      const mark = pick(MARKS);
      const protocol = pick(['tcp', 'udp'] as const);
      const dport = pick([53, 80]);
      const sport = pick([1500, 40000]);
      const uid = incoming ? 0 : pick([0, 1500]);
      const args = [dst, 'from', src, ...(incoming ? ['iif', 'in0'] : ['uid', String(uid)])];
      args.push('mark', `0x${mark.toString(16)}`, 'ipproto', protocol, 'sport', String(sport), 'dport', String(dport));
      const kernel = kernelChoice(router, args);
      // The multipath route's path is the kernel's hash of the flow: any of its paths agrees.
      const ours = knetsimChoice(routes, rules, {
        dst: parseIPv4(dst)!,
        src: parseIPv4(src)!,
        mark,
        iif: incoming ? 'in0' : 'lo',
        oif: null,
        uid,
        protocol: protocol === 'tcp' ? 6 : 17,
        sport,
        dport,
      });
      compared++;
      const agree =
        JSON.stringify(kernel) === JSON.stringify(ours) ||
        (dst === '1.1.1.1' &&
          kernel.kind === 'out' &&
          ours.kind === 'out' &&
          kernel.dev === 'r2' &&
          ['10.2.0.2', '10.2.0.3'].includes(kernel.via ?? ''));
      if (!agree)
        differences.push(`${args.join(' ')}: kernel ${JSON.stringify(kernel)}, knetsim ${JSON.stringify(ours)}`);
    }
    expect(compared).toBe(300);
    expect(differences).toEqual([]);
  });

  it('a multipath route spreads flows over its paths by weight, as knetsim branches it (chi-square, 0.1% level)', () => {
    // 1.1.0.0/16 has paths via 10.2.0.2 (weight 1) and 10.2.0.3 (weight 3); the kernel hashes each
    // flow's addresses with a key drawn at boot, so over many flows the shares are the weights'.
    // Sources 10.0.0.2-7 with mark 0x1 reach main (the rules send others to other tables).
    const lines: string[] = [];
    for (let a = 0; a < 200; a++)
      for (let b = 2; b < 12; b++) lines.push(`route get 1.1.${a}.${b} from 10.0.0.${2 + (b % 6)} iif in0 mark 0x1`);
    const out = inNs(router, 'ip', ['-batch', '-'], `${lines.join('\n')}\n`);
    const vias = out
      .split('\n')
      .filter((l) => /^1\.1\./.test(l))
      .map((l) => / via (\S+)/.exec(l)?.[1]);
    expect(vias.length).toBe(lines.length);
    const low = vias.filter((v) => v === '10.2.0.2').length;
    const high = vias.filter((v) => v === '10.2.0.3').length;
    expect(low + high).toBe(lines.length);
    const found = routeByPolicy(routes, rules, {
      dst: parseIPv4('1.1.0.2')!,
      src: parseIPv4('10.0.0.2')!,
      mark: 0x1,
      iif: 'in0',
      oif: null,
      uid: 0,
      protocol: 17,
      sport: 0,
      dport: 0,
    });
    if (found.kind !== 'route') throw new Error('no route');
    const weights = found.route.nexthops!.map((h) => h.weight);
    const total = weights[0]! + weights[1]!;
    const expected = [(lines.length * weights[0]!) / total, (lines.length * weights[1]!) / total];
    const chi = (low - expected[0]!) ** 2 / expected[0]! + (high - expected[1]!) ** 2 / expected[1]!;
    // One degree of freedom: 10.83 is the 0.1% point.
    expect(chi).toBeLessThan(10.83);
  });

  it("-m rpfilter looks the source up through the rules: --validmark routes by the packet's mark", () => {
    // The mark sends the way back to 10.0.0.7 out of r1 (table 2): a packet from it on r0 then fails
    // strict rpfilter with --validmark, and passes without (mark 0: main, out of r0).
    const node = ns.create('rpf');
    const client = ns.create('client');
    const peer = ns.create('peer');
    inNs(node, 'ip', ['link', 'add', 'r0', 'type', 'veth', 'peer', 'name', 'c0', 'netns', client]);
    inNs(node, 'ip', ['link', 'add', 'r1', 'type', 'veth', 'peer', 'name', 'p0', 'netns', peer]);
    inNs(node, 'ip', ['addr', 'add', '10.0.0.1/24', 'dev', 'r0']);
    inNs(node, 'ip', ['addr', 'add', '10.1.0.1/24', 'dev', 'r1']);
    for (const dev of ['r0', 'r1']) inNs(node, 'ip', ['link', 'set', dev, 'up']);
    inNs(client, 'ip', ['addr', 'add', '10.0.0.7/24', 'dev', 'c0']);
    inNs(client, 'ip', ['link', 'set', 'c0', 'up']);
    inNs(peer, 'ip', ['link', 'set', 'p0', 'up']);
    inNs(node, 'ip', ['rule', 'add', 'pref', '50', 'fwmark', '0x5', 'to', '10.0.0.7', 'lookup', '2']);
    inNs(node, 'ip', ['route', 'add', '10.0.0.7', 'via', '10.1.0.2', 'dev', 'r1', 'onlink', 'table', '2']);
    const RULES = [
      '*raw',
      ':PREROUTING ACCEPT [0:0]',
      '-A PREROUTING -s 10.0.0.7/32 -j MARK --set-xmark 0x5/0xffffffff',
      '-A PREROUTING -s 10.0.0.7/32 -m rpfilter',
      '-A PREROUTING -s 10.0.0.7/32 -m rpfilter --validmark',
      'COMMIT',
      '',
    ].join('\n');
    inNs(node, 'iptables-restore', [], RULES);
    inNs(client, 'python3', [
      '-c',
      "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x', ('10.0.0.1', 9))",
    ]);
    run('sleep', ['0.3']);
    const counts = inNs(node, 'iptables-save', ['-c', '-t', 'raw'])
      .split('\n')
      .filter((l) => l.includes('-A PREROUTING'))
      .map((l) => Number(/^\[(\d+):/.exec(l)![1]));
    expect(counts).toEqual([1, 1, 0]);
    const built = nodeFromDumps({
      iptables: { text: inNs(node, 'iptables-save', []), file: 'iptables-save' },
      routes: { text: inNs(node, 'ip', ['route', 'show', 'table', 'all']), file: 'routes' },
      ipRules: { text: inNs(node, 'ip', ['rule', 'show']), file: 'rules' },
    });
    if (!built.ok) throw new Error(built.message);
    const t = tracePacket(built.node, {
      src: parseIPv4('10.0.0.7')!,
      dst: parseIPv4('10.0.0.1')!,
      protocol: 'udp',
      dport: 9,
      origin: { kind: 'interface', iface: 'r0' },
    });
    const matched = t.hops.flatMap((h) => ('rule' in h && h.rule ? [h.rule] : []));
    expect(matched).toEqual([
      '-A PREROUTING -s 10.0.0.7/32 -j MARK --set-xmark 0x5/0xffffffff',
      '-A PREROUTING -s 10.0.0.7/32 -m rpfilter',
    ]);
  });
});
