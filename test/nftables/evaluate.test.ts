// The nft interpreter: each expression and statement kube-proxy uses, set and map
// look-ups that name their key and element, and numgen's exact branch probabilities.
import { describe, expect, it } from 'vitest';
import { parseIPv4 } from '../../src/net';
import {
  evaluateBaseChain,
  loadNftTransaction,
  type NftBranch,
  type NftPacketView,
  type NftTable,
} from '../../src/nftables';

function table(lines: string[]): NftTable {
  const r = loadNftTransaction(['add table ip t', ...lines].join('\n'), 'test');
  if (!r.ok) throw new Error(r.message);
  return r.value.ruleset.tables.get('ip t')!;
}

const ip = (t: string) => parseIPv4(t)!;
function packet(o: Partial<Omit<NftPacketView, 'src' | 'dst'>> & { src?: string; dst?: string } = {}): NftPacketView {
  return {
    protocol: 'tcp',
    sport: 40000,
    dport: 80,
    mark: 0,
    iifname: 'eth0',
    oifname: null,
    ctState: 'new',
    ctStatus: [],
    ctMark: 0,
    fibType: (a) => (a === ip('192.168.0.2') ? 'local' : 'unicast'),
    ...o,
    src: ip(o.src ?? '203.0.113.2'),
    dst: ip(o.dst ?? '10.96.0.10'),
  };
}

const BASE = 'add chain ip t in { type filter hook input priority 0 ; }';
function run(rules: string[], p: NftPacketView, extra: string[] = []): NftBranch[] {
  const t = table([BASE, ...extra, ...rules.map((r) => `add rule ip t in ${r}`)]);
  return evaluateBaseChain(t, t.chains.get('in')!, p);
}
const verdictOf = (rules: string[], p: NftPacketView, extra: string[] = []) =>
  run(rules, p, extra).map((b) => b.verdict);

/** One rule loaded into an input chain of a fresh table, as `nft -f` would take it (or refuse it). */
const load = (rule: string) =>
  loadNftTransaction(
    ['add table ip t', 'add chain ip t in { type filter hook input priority 0 ; }', `add rule ip t in ${rule}`].join(
      '\n',
    ),
    'test',
  );

describe('matches', () => {
  it('ip saddr/daddr against addresses, prefixes, != and anonymous sets', () => {
    expect(verdictOf(['ip saddr 203.0.113.0/25 drop'], packet())).toEqual(['drop']);
    expect(verdictOf(['ip saddr != 203.0.113.0/25 drop'], packet())).toEqual(['accept']);
    expect(verdictOf(['ip saddr != { 203.0.113.128/25 , 10.0.0.0/8 } drop'], packet())).toEqual(['drop']);
    expect(verdictOf(['ip daddr 10.96.0.10 reject'], packet())).toEqual(['reject']);
  });
  it('meta l4proto, th dport and tcp dport (no port on ICMP; tcp dport needs TCP)', () => {
    expect(verdictOf(['meta l4proto udp drop'], packet())).toEqual(['accept']);
    expect(verdictOf(['th dport 80 drop'], packet({ protocol: 'udp' }))).toEqual(['drop']);
    expect(verdictOf(['tcp dport 80 drop'], packet({ protocol: 'udp' }))).toEqual(['accept']);
    // Service names as nft resolves them: any protocol's (ntp is 123 for tcp too).
    expect(verdictOf(['tcp dport http drop'], packet())).toEqual(['drop']);
    expect(verdictOf(['tcp dport ntp drop'], packet({ dport: 123 }))).toEqual(['drop']);
    expect(verdictOf(['tcp dport http-alt drop'], packet({ dport: 8080 }))).toEqual(['drop']);
    expect(verdictOf(['th dport 1-100 drop'], packet({ protocol: 'icmp' }))).toEqual(['accept']);
  });
  it('IPv4 header fields: protocol, ttl, length, version, hdrlength, dscp and ecn (by value, name, range or set)', () => {
    // A TCP packet with TTL 63 and TOS 0xb9 (DSCP EF, ECN ECT(1)), 60 bytes long.
    const p = packet({ ttl: 63, tos: 0xb9, length: 60 });
    const drops = (rule: string) => verdictOf([`${rule} drop`], p)[0] === 'drop';
    expect(['ip protocol tcp', 'ip protocol 6', 'ip protocol { udp, tcp }', 'ip protocol != udp'].map(drops)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(['ip ttl 63', 'ip ttl 1-63', 'ip ttl < 64', 'ip ttl 64', 'ip ttl > 63'].map(drops)).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
    expect(['meta length 60', 'meta length > 60'].map(drops)).toEqual([true, false]);
    expect(['ip length 60', 'ip version 4', 'ip hdrlength 5', 'ip hdrlength 6'].map(drops)).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(
      [
        'ip dscp ef',
        'ip dscp 0x2e',
        'ip dscp { cs1, ef }',
        'ip dscp cs0',
        'ip dscp 0x22-0x2e',
        'ip dscp va',
        'ip dscp lephb',
      ].map(drops),
    ).toEqual([true, true, true, false, true, false, false]);
    expect(['ip ecn ect1', 'ip ecn 1', 'ip ecn ce'].map(drops)).toEqual([true, true, false]);
    expect(verdictOf(['ip dscp be drop'], packet({ tos: 0 }))).toEqual(['drop']);
  });
  it('refuses what nft refuses, and ip id (its value differs from packet to packet)', () => {
    expect(load('ip dscp 64 drop')).toMatchObject({
      ok: false,
      message: expect.stringContaining('"64" is not a DSCP value'),
    });
    expect(load('ip ecn ect2 drop')).toMatchObject({ ok: false, message: expect.stringContaining('not an ECN value') });
    expect(load('ip id 5 drop')).toMatchObject({ ok: false, message: expect.stringContaining('"ip id"') });
  });
  it('ct state, ct status and fib type', () => {
    expect(verdictOf(['ct state established,related accept', 'drop'], packet({ ctState: 'established' }))).toEqual([
      'accept',
    ]);
    expect(verdictOf(['ct status dnat drop'], packet({ ctStatus: ['dnat'] }))).toEqual(['drop']);
    expect(verdictOf(['fib saddr type local drop'], packet({ src: '192.168.0.2' }))).toEqual(['drop']);
    expect(verdictOf(['fib daddr type local drop'], packet())).toEqual(['accept']);
  });
  it('marks: set with or/xor, tested with and', () => {
    const b = run(['mark set mark or 0x4000', 'mark and 0x4000 == 0 return', 'mark set mark xor 0x4000'], packet());
    expect(b.map((x) => x.mark)).toEqual([0]);
    const steps = b[0]!.steps.map((s) => s.action);
    expect(steps[0]).toBe('mark 0x0 -> 0x4000');
    expect(run(['mark set mark or 0x4000'], packet({ mark: 1 }))[0]!.mark).toBe(0x4001);
  });
});

describe('look-ups', () => {
  const sets = [
    'add map ip t svc { type ipv4_addr . inet_proto . inet_service : verdict ; }',
    'add chain ip t target',
    'add rule ip t target drop',
    'add element ip t svc { 10.96.0.10 . tcp . 80 : goto target }',
    'add set ip t ranges { type ipv4_addr ; flags interval ; }',
    'add element ip t ranges { 10.0.0.0/8 , 192.168.0.1-192.168.0.9 }',
  ];
  it('a verdict map on a concatenated key names the key and the element', () => {
    const b = run(['ip daddr . meta l4proto . th dport vmap @svc'], packet(), sets);
    expect(b.map((x) => x.verdict)).toEqual(['drop']);
    expect(b[0]!.steps[0]!.action).toBe(
      'ip daddr . meta l4proto . th dport 10.96.0.10 . tcp . 80 matched @svc element 10.96.0.10 . tcp . 80 : goto target',
    );
    const miss = run(['ip daddr . meta l4proto . th dport vmap @svc'], packet({ dport: 81 }), sets);
    expect(miss.map((x) => x.verdict)).toEqual(['accept']);
    expect(miss[0]!.steps[0]!.action).toContain('10.96.0.10 . tcp . 81: no element in @svc');
  });
  it('a large map of exact keys is looked up by hash, with the same answers as a scan', () => {
    const many = [
      'add map ip t big { type ipv4_addr . inet_proto . inet_service : verdict ; }',
      'add chain ip t hit',
      'add rule ip t hit drop',
      ...Array.from({ length: 50 }, (_, i) => `add element ip t big { 10.96.1.${i} . tcp . ${80 + i} : goto hit }`),
    ];
    const rule = ['ip daddr . meta l4proto . th dport vmap @big'];
    expect(verdictOf(rule, packet({ dst: '10.96.1.7', dport: 87 }), many)).toEqual(['drop']);
    expect(verdictOf(rule, packet({ dst: '10.96.1.7', dport: 88 }), many)).toEqual(['accept']);
    expect(verdictOf(rule, packet({ dst: '10.96.1.7', dport: 87, protocol: 'udp' }), many)).toEqual(['accept']);
  });
  it('interval sets hold prefixes and ranges', () => {
    expect(verdictOf(['ip saddr @ranges drop'], packet({ src: '192.168.0.5' }), sets)).toEqual(['drop']);
    expect(verdictOf(['ip saddr @ranges drop'], packet({ src: '192.168.0.10' }), sets)).toEqual(['accept']);
  });
  it('numgen random mod N forks into N branches of exactly 1/N', () => {
    const chains = ['a', 'b', 'c'].flatMap((c) => [`add chain ip t ${c}`, `add rule ip t ${c} drop`]);
    const b = run(['numgen random mod 3 vmap { 0 : goto a , 1 : goto b , 2 : goto c }'], packet(), chains);
    expect(b.map((x) => x.probability)).toEqual([1 / 3, 1 / 3, 1 / 3]);
    expect(b.map((x) => x.steps.at(-1)!.chain).sort()).toEqual(['a', 'b', 'c']);
  });
  it('a numgen value without an element fails the look-up for its share of packets', () => {
    const chains = ['add chain ip t a', 'add rule ip t a drop'];
    const b = run(['numgen random mod 4 vmap { 0 : goto a }', 'reject'], packet(), chains);
    expect(b.map((x) => [x.verdict, x.probability]).sort()).toEqual([
      ['drop', 0.25],
      ['reject', 0.75],
    ]);
  });
  it('a dynamic set learns the source (update) and matches it afterwards', () => {
    const extra = ['add set ip t aff { type ipv4_addr ; flags dynamic,timeout ; timeout 3h ; }'];
    const b = run(['update @aff { ip saddr }'], packet(), extra);
    expect(b[0]!.setUpdates).toEqual([{ set: 'aff', key: '203.0.113.2' }]);
    const t = table([BASE, ...extra, 'add rule ip t in ip saddr @aff drop']);
    const learnt = new Map([['aff', new Map([['203.0.113.2', 10800]])]]);
    expect(evaluateBaseChain(t, t.chains.get('in')!, packet(), { dynamic: learnt, now: 100 })[0]!.verdict).toBe('drop');
    // Past its timeout the member is gone.
    expect(evaluateBaseChain(t, t.chains.get('in')!, packet(), { dynamic: learnt, now: 10800 })[0]!.verdict).toBe(
      'accept',
    );
  });
});

describe('iptables-nft translations', () => {
  it('meta random & 2147483647 < N matches with probability N / 2^31, forking the walk', () => {
    const b = run(['meta random & 2147483647 < 536870912 drop'], packet());
    expect(b.map((x) => [x.verdict, x.probability]).sort()).toEqual([
      ['accept', 0.75],
      ['drop', 0.25],
    ]);
  });
  it('relational comparisons; an untranslated xt match: nfacct and empty protocol matches match, others are refused', () => {
    expect(verdictOf(['th dport < 1024 drop'], packet())).toEqual(['drop']);
    expect(verdictOf(['th dport >= 1024 drop'], packet())).toEqual(['accept']);
    const b = run(['xt match nfacct drop'], packet());
    expect(b[0]!.verdict).toBe('drop');
    expect(b[0]!.steps[0]!.action).toContain('xt match nfacct: an iptables extension nft could not translate');
    // The listing has no options for the others (`xt match set` is KUBE-LOOP-BACK dst,dst,src or anything else).
    expect(() => run(['xt match set masquerade'], packet())).toThrow(
      /"xt match set": nft lists this iptables extension/,
    );
    expect(() => run(['xt target MASQUERADE'], packet())).toThrow(/"xt target MASQUERADE"/);
  });
});

describe('verdicts and NAT', () => {
  it('jump returns, goto does not; a chain end returns; the policy decides last', () => {
    const extra = ['add chain ip t j', 'add rule ip t j return'];
    expect(verdictOf(['jump j', 'drop'], packet(), extra)).toEqual(['drop']);
    expect(verdictOf(['goto j', 'drop'], packet(), extra)).toEqual(['accept']);
  });
  it('dnat and masquerade end the chain with a binding', () => {
    // NAT works in chains of type nat alone (the kernel refuses it elsewhere: "Operation not supported").
    const natRun = (rule: string, hook: string) => {
      const t = table([`add chain ip t in { type nat hook ${hook} priority 0 ; }`, `add rule ip t in ${rule}`]);
      return evaluateBaseChain(t, t.chains.get('in')!, packet());
    };
    const b = natRun('meta l4proto tcp dnat to 10.244.1.5:8080', 'prerouting');
    const one = (a: string, p: number | null) => ({ minAddress: ip(a), maxAddress: ip(a), minPort: p, maxPort: p });
    expect(b[0]!.nat).toEqual({ kind: 'dnat', ...one('10.244.1.5', 8080), flags: [] });
    expect(natRun('masquerade fully-random', 'postrouting')[0]!.nat).toEqual({
      kind: 'masquerade',
      minPort: null,
      maxPort: null,
      flags: ['fully-random'],
    });
  });
  it('NAT to address and port ranges, prefixes, redirect and masquerade ports, as nft writes them', () => {
    const natRun = (rule: string, hook: string) => {
      const t = table([`add chain ip t in { type nat hook ${hook} priority 0 ; }`, `add rule ip t in ${rule}`]);
      return evaluateBaseChain(t, t.chains.get('in')!, packet())[0]!.nat;
    };
    expect(natRun('dnat to 10.0.0.1-10.0.0.3', 'prerouting')).toMatchObject({
      minAddress: ip('10.0.0.1'),
      maxAddress: ip('10.0.0.3'),
      minPort: null,
    });
    expect(natRun('tcp dport 80 dnat to 10.0.0.1:8080-8090 random,persistent', 'prerouting')).toEqual({
      kind: 'dnat',
      minAddress: ip('10.0.0.1'),
      maxAddress: ip('10.0.0.1'),
      minPort: 8080,
      maxPort: 8090,
      flags: ['random', 'persistent'],
    });
    expect(natRun('snat to 192.0.2.0/30', 'postrouting')).toMatchObject({
      minAddress: ip('192.0.2.0'),
      maxAddress: ip('192.0.2.3'),
    });
    expect(natRun('tcp dport 80 redirect to :15001', 'prerouting')).toEqual({
      kind: 'redirect',
      minPort: 15001,
      maxPort: 15001,
      flags: [],
    });
    expect(natRun('meta l4proto { tcp, udp } masquerade to :1024-65535', 'postrouting')).toMatchObject({
      minPort: 1024,
      maxPort: 65535,
    });
    // An ip6 NAT statement in an inet table acts on IPv6 packets only: an IPv4 packet goes past it.
    const t = loadNftTransaction(
      [
        'add table inet t',
        'add chain inet t in { type nat hook prerouting priority 0 ; }',
        'add rule inet t in dnat ip6 to [2001:db8::1]',
      ].join('\n'),
      'test',
    );
    if (!t.ok) throw new Error(t.message);
    const inet = t.value.ruleset.tables.get('inet t')!;
    expect(evaluateBaseChain(inet, inet.chains.get('in')!, packet())[0]!.nat).toBeNull();
  });
  it("ct zone set gives the branch its zone; ct zone reads a connection's (none without one)", () => {
    const b = run(['ct zone set 7'], packet());
    expect(b[0]!.zone).toBe(7);
    expect(b[0]!.steps[0]!.action).toBe('conntrack zone 7: the connection is looked up and kept there');
    expect(verdictOf(['ct zone 7 drop'], packet({ ctDirection: 'original', ctZone: 7 }))).toEqual(['drop']);
    expect(verdictOf(['ct zone 0 drop'], packet({ ctDirection: 'original' }))).toEqual(['drop']);
    expect(verdictOf(['ct zone 0 drop'], packet({ ctDirection: null }))).toEqual(['accept']);
    expect(load('ct original zone set 3')).toMatchObject({
      ok: false,
      message: expect.stringContaining('direction zones'),
    });
    expect(load('ct zone set mark')).toMatchObject({ ok: false, message: expect.stringContaining('not modelled') });
  });
  it('queue hands the packet to a userspace program, whose verdict is taken as accept', () => {
    const b = run(['udp dport 53 queue flags bypass to 0', 'drop'], packet({ protocol: 'udp', dport: 53 }));
    expect(b.map((x) => x.verdict)).toEqual(['accept']);
    expect(b[0]!.steps[0]!.action).toBe(
      'to userspace, queue 0: the program reading it decides; taken as accepted (when none listens, with bypass the kernel accepts it)',
    );
    const old = run(['queue num 2-4 fanout'], packet());
    expect(old[0]!.steps[0]!.action).toContain('one of queues 2-4');
    // As nft 1.0.6 refuses them.
    expect(load('queue num 3 bypass,fanout')).toMatchObject({
      ok: false,
      message: expect.stringContaining('fanout requires a range to be specified'),
    });
    expect(load('queue to 1 accept')).toMatchObject({
      ok: false,
      message: expect.stringContaining('nothing may follow'),
    });
    // nft 1.0.6 takes flags after the number in the older spelling only.
    expect(load('queue to 3 bypass')).toMatchObject({ ok: false });
    expect(load('queue num 3 bypass')).toMatchObject({ ok: true });
  });
  it('refuses NAT nft refuses: a port mapping with no transport protocol, a statement at a hook it does not work at', () => {
    // Each refused by nft 1.0.6 in a netns.
    const load = (rule: string, hook: string) =>
      loadNftTransaction(
        ['add table ip t', `add chain ip t in { type nat hook ${hook} priority 0 ; }`, `add rule ip t in ${rule}`].join(
          '\n',
        ),
        'test',
      );
    expect(load('dnat to 10.0.0.1:8080', 'prerouting')).toMatchObject({
      ok: false,
      message: expect.stringContaining('transport protocol mapping is only valid after transport protocol match'),
    });
    expect(load('th dport 53 dnat to 10.0.0.1:53', 'prerouting')).toMatchObject({ ok: false });
    expect(load('ip protocol tcp dnat to 10.0.0.1:53', 'prerouting')).toMatchObject({ ok: true });
    expect(load('masquerade', 'prerouting')).toMatchObject({
      ok: false,
      message: expect.stringContaining('masquerade works only in postrouting chains'),
    });
    expect(load('snat to 1.2.3.4', 'prerouting')).toMatchObject({ ok: false });
    // NAT through a map is modelled (real-rulesets.test.ts); a port from a map still needs a transport match.
    expect(load('dnat to ip daddr map { 10.96.0.1 : 10.0.0.1 }', 'prerouting')).toMatchObject({ ok: true });
    expect(load('dnat to 10.0.0.1 : tcp dport map { 80 : 8080 }', 'prerouting')).toMatchObject({
      ok: false,
      message: expect.stringContaining('transport protocol mapping is only valid after transport protocol match'),
    });
  });
});
