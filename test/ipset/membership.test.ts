import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  addElement,
  createRegistry,
  createSet,
  elementForFlags,
  IPPROTO,
  type IpSet,
  type IpsetRegistry,
  matchSet,
  type PacketFields,
  parseElement,
  parseIpsetSave,
  parseSetFlags,
  testMembership,
} from '../../src/ipset/index';
import { parseIPv4 } from '../../src/net/ipv4';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const ip = (text: string) => parseIPv4(text)!;

function load(text: string): IpsetRegistry {
  const result = parseIpsetSave(text);
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

function setOf(text: string, name: string): IpSet {
  return load(text).sets.get(name)!;
}

/** A look-up built from element text, the way `ipset test` hands the kernel an element. */
function test(set: IpSet, element: string): boolean {
  const keys = parseElement(set.type, element);
  if (!keys.ok || keys.value.length !== 1) throw new Error(`bad probe ${element}`);
  const { ip: a, proto, port, ip2 } = keys.value[0]!;
  return testMembership(set, { ip: a, proto, port, ip2 }).member;
}

const tcp = (src: string, sport: number, dst: string, dport: number): PacketFields => ({
  src: ip(src),
  dst: ip(dst),
  proto: IPPROTO.TCP,
  sport,
  dport,
});

describe('membership agrees with the kernel (ipset test results captured from ipset 7.17)', () => {
  const registry = load(fixture('options.save'));
  const rows = fixture('kernel-test-results.tsv')
    .trim()
    .split('\n')
    .map((line) => line.split('\t') as [string, string, string]);
  it.each(rows)('%s %s is %s', (name, element, expected) => {
    expect(test(registry.sets.get(name)!, element)).toBe(expected === 'in');
  });
});

describe('hash:net', () => {
  const set = setOf(
    'create N hash:net\nadd N 10.0.0.0/8\nadd N 10.1.0.0/16 nomatch\nadd N 10.1.2.0/24\nadd N 10.1.2.3\n',
    'N',
  );

  it('lets the most specific prefix decide, whatever the order of the entries', () => {
    expect(testMembership(set, { ip: ip('10.9.9.9') }).member).toBe(true); // /8
    expect(testMembership(set, { ip: ip('10.1.9.9') }).member).toBe(false); // /16 nomatch
    expect(testMembership(set, { ip: ip('10.1.2.9') }).member).toBe(true); // /24 inside the nomatch /16
    expect(testMembership(set, { ip: ip('11.0.0.1') }).member).toBe(false);
  });

  it('reports the deciding entry and one probe per prefix length tried', () => {
    const excluded = testMembership(set, { ip: ip('10.1.9.9') });
    expect(excluded.entry?.options.nomatch).toBe(true);
    expect(excluded.probes).toBe(3); // /32, /24, then the /16 hit
    expect(testMembership(set, { ip: ip('10.1.2.3') }).probes).toBe(1);
    expect(testMembership(set, { ip: ip('11.0.0.1') }).probes).toBe(4);
  });

  it('stops probing a prefix length once its last entry is deleted', () => {
    const restored = parseIpsetSave(
      'create N hash:net\nadd N 10.0.0.0/8\nadd N 10.1.0.0/16 nomatch\ndel N 10.1.0.0/16\n',
    );
    expect(restored.ok).toBe(true);
    if (!restored.ok) return;
    const n = restored.value.sets.get('N')!;
    expect(testMembership(n, { ip: ip('10.1.0.1') })).toMatchObject({ member: true, probes: 1 });
  });
});

describe('hash:ip,port,net (KUBE-LOAD-BALANCER-SOURCE-CIDR, matched dst,dst,src)', () => {
  const registry = load(fixture('kube-proxy-ipvs.save'));
  const flags = parseSetFlags('dst,dst,src');
  if (!flags.ok) throw new Error('flags');
  const match = (packet: PacketFields) => {
    const r = matchSet(registry, 'KUBE-LOAD-BALANCER-SOURCE-CIDR', flags.value, packet);
    return r.ok && r.value.member;
  };

  it('matches a client inside an allowed source range and refuses others', () => {
    expect(match(tcp('203.0.113.77', 40000, '198.51.100.8', 443))).toBe(true);
    expect(match(tcp('10.0.0.1', 40000, '198.51.100.8', 443))).toBe(true); // a /32 source
    expect(match(tcp('10.0.0.2', 40000, '198.51.100.8', 443))).toBe(false);
    expect(match(tcp('203.0.113.77', 40000, '198.51.100.8', 80))).toBe(false);
    expect(match({ ...tcp('203.0.113.77', 40000, '198.51.100.8', 443), proto: IPPROTO.UDP })).toBe(false);
  });

  it('honours nomatch inside an allowed range', () => {
    const set = setOf(
      'create S hash:ip,port,net\nadd S 1.1.1.1,tcp:80,10.0.0.0/8\nadd S 1.1.1.1,tcp:80,10.9.0.0/16 nomatch\n',
      'S',
    );
    const lookup = (src: string) => elementForFlags('hash:ip,port,net', flags.value, tcp(src, 1, '1.1.1.1', 80))!;
    expect(testMembership(set, lookup('10.8.0.1')).member).toBe(true);
    expect(testMembership(set, lookup('10.9.0.1')).member).toBe(false);
  });
});

describe('hash:ip,port (KUBE-CLUSTER-IP, matched dst,dst)', () => {
  const registry = load(fixture('kube-proxy-ipvs.save'));
  const dstdst = ['dst', 'dst'] as const;

  it('matches destination address, protocol and port', () => {
    const udp = { ...tcp('10.244.1.3', 5353, '10.96.0.10', 53), proto: IPPROTO.UDP };
    expect(matchSet(registry, 'KUBE-CLUSTER-IP', dstdst, udp)).toMatchObject({ ok: true, value: { member: true } });
    const wrongPort = tcp('10.244.1.3', 5353, '10.96.0.10', 54);
    expect(matchSet(registry, 'KUBE-CLUSTER-IP', dstdst, wrongPort)).toMatchObject({ value: { member: false } });
    const sctp = { ...tcp('10.244.1.3', 5353, '10.96.200.3', 9999), proto: IPPROTO.SCTP };
    expect(matchSet(registry, 'KUBE-CLUSTER-IP', dstdst, sctp)).toMatchObject({ value: { member: true } });
  });

  it('takes a port without protocol as tcp, as ipset does', () => {
    const set = createSet('S', 'hash:ip,port');
    if (!set.ok) throw new Error('create');
    expect(addElement(set.value, '10.96.0.1,443')).toMatchObject({ ok: true, value: 1 });
    const lookup = elementForFlags('hash:ip,port', dstdst, tcp('1.1.1.1', 1, '10.96.0.1', 443))!;
    expect(testMembership(set.value, lookup).member).toBe(true);
    expect(testMembership(set.value, { ...lookup, proto: IPPROTO.UDP }).member).toBe(false);
  });

  it('reads ICMP type/code and uses port 0 for portless protocols', () => {
    const set = setOf('create S hash:ip,port\nadd S 1.1.1.1,icmp:echo-request\nadd S 1.1.1.1,gre:0\n', 'S');
    const icmp: PacketFields = {
      src: ip('2.2.2.2'),
      dst: ip('1.1.1.1'),
      proto: IPPROTO.ICMP,
      icmpType: 8,
      icmpCode: 0,
    };
    expect(testMembership(set, elementForFlags(set.type, dstdst, icmp)!).member).toBe(true);
    const reply = { ...icmp, icmpType: 0 };
    expect(testMembership(set, elementForFlags(set.type, dstdst, reply)!).member).toBe(false);
    const gre: PacketFields = { src: ip('2.2.2.2'), dst: ip('1.1.1.1'), proto: 47 };
    expect(testMembership(set, elementForFlags(set.type, dstdst, gre)!).member).toBe(true);
  });

  it('does not match non-first fragments on a port dimension', () => {
    const packet = { ...tcp('1.1.1.1', 1, '10.96.0.1', 443), laterFragment: true };
    expect(elementForFlags('hash:ip,port', dstdst, packet)).toBeNull();
  });
});

describe('hash:ip,port,ip (KUBE-LOOP-BACK, matched dst,dst,src)', () => {
  const registry = load(fixture('kube-proxy-ipvs.save'));
  const flags = ['dst', 'dst', 'src'] as const;
  it('matches a pod reaching itself through its service (hairpin)', () => {
    const hairpin = tcp('10.244.1.3', 40000, '10.244.1.3', 8080);
    expect(matchSet(registry, 'KUBE-LOOP-BACK', flags, hairpin)).toMatchObject({ value: { member: true } });
    const other = tcp('10.244.1.4', 40000, '10.244.1.3', 8080);
    expect(matchSet(registry, 'KUBE-LOOP-BACK', flags, other)).toMatchObject({ value: { member: false } });
  });
});

describe('hash:ip (KUBE-IPVS-IPS) and its masks', () => {
  it('matches a destination address', () => {
    const registry = load(fixture('kube-proxy-ipvs.save'));
    expect(matchSet(registry, 'KUBE-IPVS-IPS', ['dst'], tcp('1.1.1.1', 1, '10.96.0.10', 53))).toMatchObject({
      value: { member: true, probes: 1 },
    });
    expect(matchSet(registry, 'KUBE-IPVS-IPS', ['src'], tcp('1.1.1.1', 1, '10.96.0.10', 53))).toMatchObject({
      value: { member: false },
    });
  });

  it('masks addresses with netmask and bitmask, on add and on look-up', () => {
    const set = setOf(
      'create A hash:ip netmask 24\nadd A 10.244.7.99\ncreate B hash:ip bitmask 255.0.255.0\nadd B 10.11.12.13\n',
      'A',
    );
    expect(testMembership(set, { ip: ip('10.244.7.1') }).member).toBe(true);
    const b = setOf('create B hash:ip bitmask 255.0.255.0\nadd B 10.11.12.13\n', 'B');
    expect(testMembership(b, { ip: ip('10.99.12.200') }).member).toBe(true);
    expect(testMembership(b, { ip: ip('10.99.13.200') }).member).toBe(false);
  });

  it('expands a CIDR or range given to add into its addresses', () => {
    const set = setOf('create A hash:ip\nadd A 10.0.0.0/30\nadd A 10.0.1.9-10.0.1.7\n', 'A');
    expect(set.entries.size).toBe(7);
    expect(testMembership(set, { ip: ip('10.0.0.3') }).member).toBe(true);
    expect(testMembership(set, { ip: ip('10.0.0.4') }).member).toBe(false);
  });
});

describe('bitmap:port (KUBE-NODE-PORT-TCP, matched dst)', () => {
  const registry = load(fixture('kube-proxy-ipvs.save'));

  it('matches the destination port of tcp and udp packets only', () => {
    const packet = tcp('1.1.1.1', 1, '172.18.0.2', 30080);
    expect(matchSet(registry, 'KUBE-NODE-PORT-TCP', ['dst'], packet)).toMatchObject({ value: { member: true } });
    expect(matchSet(registry, 'KUBE-NODE-PORT-TCP', ['src'], packet)).toMatchObject({ value: { member: false } });
    // The kernel's bitmap:port reads ports of tcp and udp only (ip_set_get_ip_port), not sctp.
    const sctp = { ...packet, proto: IPPROTO.SCTP };
    expect(elementForFlags('bitmap:port', ['dst'], sctp)).toBeNull();
  });

  it('refuses elements outside its range and never matches outside it', () => {
    const set = setOf('create P bitmap:port range 1000-2000\nadd P 1000\nadd P 2000\n', 'P');
    expect(testMembership(set, { port: 1000 }).member).toBe(true);
    expect(testMembership(set, { port: 2000 }).member).toBe(true);
    expect(testMembership(set, { port: 1500 }).member).toBe(false);
    expect(testMembership(set, { port: 999 })).toEqual({ member: false, probes: 0 });
    expect(addElement(set, '2001')).toMatchObject({ ok: false });
  });
});

describe('elementForFlags and matchSet', () => {
  it('needs at least as many flags as the set has dimensions, and ignores extra ones', () => {
    const packet = tcp('1.1.1.1', 1, '2.2.2.2', 80);
    expect(elementForFlags('hash:ip,port', ['dst'], packet)).toBeNull();
    expect(elementForFlags('hash:ip,port', ['src', 'dst', 'dst'], packet)).toEqual({
      ip: ip('1.1.1.1'),
      proto: IPPROTO.TCP,
      port: 80,
    });
    expect(elementForFlags('hash:net', ['src'], packet)).toEqual({ ip: ip('1.1.1.1') });
  });

  it('counts look-ups and probes in the registry, and refuses a missing set', () => {
    const registry = load('create N hash:net\nadd N 10.0.0.0/8\nadd N 10.1.0.0/16\n');
    matchSet(registry, 'N', ['dst'], tcp('1.1.1.1', 1, '10.1.0.1', 80));
    matchSet(registry, 'N', ['dst'], tcp('1.1.1.1', 1, '11.0.0.1', 80));
    expect(registry.stats).toEqual({ lookups: 2, probes: 3 });
    expect(matchSet(registry, 'NOPE', ['dst'], tcp('1.1.1.1', 1, '2.2.2.2', 80))).toEqual({
      ok: false,
      error: { token: 'NOPE', reason: 'set "NOPE" does not exist' },
    });
    expect(createRegistry().stats).toEqual({ lookups: 0, probes: 0 });
  });

  it('parses direction flags', () => {
    expect(parseSetFlags('dst,dst,src')).toEqual({ ok: true, value: ['dst', 'dst', 'src'] });
    expect(parseSetFlags('dst,up')).toEqual({
      ok: false,
      error: { token: 'dst,up', reason: '"up" in "dst,up" is neither src nor dst' },
    });
  });
});
