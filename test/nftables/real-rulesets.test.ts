// nft rulesets as people and tools write them, beyond kube-proxy's: Debian's
// /etc/nftables.conf (`flush ruleset` then blocks, one-line chain headers), nft 1.1's
// priority names, firewalld's and netavark's inet tables with IPv6 and ICMP rules,
// iptables-nft's translations (tcp flags masks, mark arithmetic), limits and logs.
// Each text loads with nft 1.0.6 in a netns; the tcp flags semantics are nft's
// netlink code for them (`nft --debug=netlink`: a bare flag tests `& flag != 0`, a
// mask `& mask == value`, a set exact values).
import { describe, expect, it } from 'vitest';
import { nodeFromDumps, type TraceResult, tracePacket } from '../../src/engine';
import type { TcpFlags } from '../../src/net';
import { formatNftList, loadNftFile, parseNftList } from '../../src/nftables';
import { ip } from '../helpers/node-from-rules';

function trace(
  text: string,
  to: string,
  port: number,
  opts: { from?: string; tcpFlags?: TcpFlags; local?: boolean } = {},
): TraceResult {
  const built = nodeFromDumps({ name: 'n', nft: { text, file: 'ruleset' }, nodeAddresses: [ip('192.168.0.2')] });
  if (!built.ok) throw new Error(built.message);
  return tracePacket(built.node, {
    src: ip(opts.from ?? (opts.local ? '192.168.0.2' : '10.0.0.9')),
    dst: ip(to),
    protocol: 'tcp',
    dport: port,
    ...(opts.tcpFlags ? { tcpFlags: opts.tcpFlags } : {}),
    origin: opts.local ? { kind: 'local' } : { kind: 'interface', iface: 'eth0' },
  });
}

const ACK: TcpFlags = { syn: false, ack: true, fin: false, rst: false, psh: false, urg: false };

describe('file structure', () => {
  it("Debian's /etc/nftables.conf: flush ruleset, then a table block with one-line chain headers", () => {
    const conf = [
      '#!/usr/sbin/nft -f',
      '',
      'flush ruleset',
      '',
      'table inet filter {',
      '\tchain input { type filter hook input priority filter; policy drop; }',
      '\tchain forward {',
      '\t\ttype filter hook forward priority filter; policy accept;',
      '\t}',
      '}',
      'add rule inet filter input tcp dport 22 accept',
    ].join('\n');
    const loaded = loadNftFile(conf, 'nftables.conf');
    if (!loaded.ok) throw new Error(loaded.message);
    const input = loaded.value.tables.get('inet filter')!.chains.get('input')!;
    expect(input.base).toMatchObject({ hook: 'input', priority: 0, policy: 'drop' });
    expect(trace(conf, '192.168.0.2', 22).outcome).toBe('ACCEPT');
    expect(trace(conf, '192.168.0.2', 80).outcome).toBe('DROP');
  });
  it("NAT through maps (Debian's load_balancing.nft): by numgen, by a hash, by a packet field; rules over several lines", () => {
    const text = [
      'table ip nat {',
      '\tchain prerouting {',
      '\t\ttype nat hook prerouting priority -300;',
      '\t\tip daddr 10.96.0.1 dnat to numgen inc mod 10 map {',
      '\t\t\t\t0-5 : 192.168.10.100, \\',
      '\t\t\t\t6-9 : 192.168.20.200 }',
      '\t\tip daddr 10.96.0.2 dnat to jhash ip saddr . tcp dport mod 2 map { 0 : 192.168.20.100, 1 : 192.168.30.100 }',
      '\t\tip daddr 10.96.0.3 ip protocol tcp dnat to 192.168.1.100 : numgen random mod 2 map { 0 : 4040 , 1 : 4050 }',
      '\t\tip daddr 10.96.0.4 dnat to ip saddr map { 10.0.0.0/24 : 192.168.40.1 }',
      '\t\tip daddr 10.96.0.5 dnat to ip saddr map { 10.9.0.0/24 : 192.168.40.1 }',
      '\t}',
      '}',
    ].join('\n');
    const endpoints = (to: string) =>
      trace(text, to, 80)
        .endpoints.map((e) => `${e.address} ${e.probability}`)
        .sort();
    expect(endpoints('10.96.0.1')).toEqual(['192.168.10.100:80 0.6', '192.168.20.200:80 0.4']);
    expect(endpoints('10.96.0.2')).toEqual(['192.168.20.100:80 0.5', '192.168.30.100:80 0.5']);
    expect(endpoints('10.96.0.3')).toEqual(['192.168.1.100:4040 0.5', '192.168.1.100:4050 0.5']);
    expect(endpoints('10.96.0.4')).toEqual(['192.168.40.1:80 1']);
    // No element for the key: the rule does not match, and the packet goes on undisturbed.
    expect(endpoints('10.96.0.5')).toEqual([]);
    expect(
      loadNftFile('table ip t {\n\tchain c {\n\t\ttcp dport 80 ip daddr set 10.0.0.1\n\t}\n}\n', 'f'),
    ).toMatchObject({
      ok: false,
      message: expect.stringContaining('"ip daddr set ...": rewriting a header field is not modelled'),
    });
  });
  it('NAT maps print as nft 1.0.6 lists them, and its listing reads back', () => {
    // nft list ruleset of these three rules (probed), loaded from the spelling with spaces around ":".
    const listed = [
      'table ip nat {',
      '\tchain pre {',
      '\t\ttype nat hook prerouting priority dstnat; policy accept;',
      '\t\tmeta l4proto tcp dnat to 10.1.1.1:tcp dport map { 80 : 8080, 443 : 8443 }',
      '\t\tdnat to numgen inc mod 2 map { 0 : 10.0.0.1, 1 : 10.0.0.2 }',
      '\t\tdnat to jhash ip saddr mod 2 seed 0x5 map { 0 : 10.0.0.1, 1 : 10.0.0.2 }',
      '\t}',
      '}',
      '',
    ].join('\n');
    const written = listed.replace('10.1.1.1:tcp', '10.1.1.1 : tcp').replace('priority dstnat', 'priority -100');
    const loaded = loadNftFile(written, 'f');
    if (!loaded.ok) throw new Error(loaded.message);
    expect(formatNftList(loaded.value)).toBe(listed);
    const again = parseNftList(listed);
    expect(again.ok && formatNftList(again.value)).toBe(listed);
    expect(trace(listed, '10.96.0.1', 443).endpoints.map((e) => e.address)).toEqual(['10.1.1.1:8443']);
  });
  it('rules over several lines: a set with comments inside, a vmap, a backslash; a comment never goes on', () => {
    const text = [
      'table ip t {',
      '\tchain input {',
      '\t\ttype filter hook input priority 0; policy accept;',
      '\t\t# a note ending in a backslash \\',
      '\t\ttcp dport 22 drop',
      '\t\tip saddr {',
      '\t\t\t# the office',
      '\t\t\t10.0.0.9, # its gateway',
      '\t\t\t10.0.0.10 } tcp dport 80 drop',
      '\t\tct state vmap {',
      '\t\t\testablished : accept }',
      '\t\ttcp dport 443 \\',
      '\t\t\tdrop',
      '\t}',
      '}',
    ].join('\n');
    const loaded = loadNftFile(text, 'f');
    if (!loaded.ok) throw new Error(loaded.message);
    expect(
      loaded.value.tables
        .get('ip t')!
        .chains.get('input')!
        .rules.map((r) => r.text),
    ).toEqual([
      'tcp dport 22 drop',
      'ip saddr { 10.0.0.9 , 10.0.0.10 } tcp dport 80 drop',
      'ct state vmap { established : accept }',
      'tcp dport 443 drop',
    ]);
    // As nft 1.0.6 loads the same file: port 22 dropped (the comment did not swallow its rule), 80 from the set.
    expect(trace(text, '192.168.0.2', 22).outcome).toBe('DROP');
    expect(trace(text, '192.168.0.2', 80, { from: '10.0.0.10' }).outcome).toBe('DROP');
    expect(trace(text, '192.168.0.2', 80, { from: '10.0.0.11' }).outcome).toBe('ACCEPT');
  });
  it("ct helper objects (Debian's ct_helpers.nft): set on a new connection by name or through a map", () => {
    const text = [
      'table inet filter {',
      '\tct helper ftp-standard {',
      '\t\ttype "ftp" protocol tcp;',
      '\t\tl3proto inet',
      '\t}',
      '\tct helper tftp-69 { type "tftp" protocol udp; }',
      '\tchain input {',
      '\t\ttype filter hook input priority 0; policy accept;',
      '\t\ttcp dport 21 ct helper set "ftp-standard"',
      '\t\tct helper set udp dport map {',
      '\t\t\t69 : "tftp-69" }',
      '\t}',
      '}',
    ].join('\n');
    const loaded = loadNftFile(text, 'f');
    if (!loaded.ok) throw new Error(loaded.message);
    expect([...loaded.value.tables.get('inet filter')!.helpers!.values()]).toEqual([
      { name: 'ftp-standard', type: 'ftp', protocol: 'tcp', l3proto: 'inet' },
      { name: 'tftp-69', type: 'tftp', protocol: 'udp' },
    ]);
    const t = trace(text, '192.168.0.2', 21);
    expect(t.hops.find((h) => h.stage.startsWith('nft'))?.action).toContain('conntrack helper ftp (ftp-standard)');
    expect(
      loadNftFile(
        'table ip t {\n\tchain c {\n\t\ttype filter hook input priority 0;\n\t\tct helper set "nope"\n\t}\n}\n',
        'f',
      ),
    ).toMatchObject({ ok: false, message: expect.stringContaining('no ct helper "nope" in the table') });
    // Probed with nft 1.0.6: a helper the kernel has not for that protocol is refused; one of another
    // protocol than the connection's is not attached (nft_ct_helper_obj_eval).
    const object = (type: string, proto: string) =>
      loadNftFile(`table ip t {\n\tct helper h { type "${type}" protocol ${proto}; }\n}\n`, 'f');
    expect(object('nosuch', 'tcp')).toMatchObject({
      ok: false,
      message: expect.stringContaining('no helper "nosuch"'),
    });
    expect(object('ftp', 'udp')).toMatchObject({
      ok: false,
      message: expect.stringContaining('no helper "ftp" for udp'),
    });
    const udp = [
      'table ip t {',
      '\tct helper ftp-h { type "ftp" protocol tcp; }',
      '\tchain input { type filter hook input priority 0; policy accept; ct helper set "ftp-h"; }',
      '}',
    ].join('\n');
    const built = nodeFromDumps({ name: 'n', nft: { text: udp, file: 'f' }, nodeAddresses: [ip('192.168.0.2')] });
    if (!built.ok) throw new Error(built.message);
    const hopOf = (protocol: 'tcp' | 'udp') =>
      tracePacket(built.node, {
        src: ip('10.0.0.9'),
        dst: ip('192.168.0.2'),
        protocol,
        dport: 21,
        origin: { kind: 'interface', iface: 'eth0' },
      }).hops.find((h) => h.stage.startsWith('nft') && h.action.includes('helper'));
    expect(hopOf('tcp')?.action).toContain('conntrack helper ftp (ftp-h)');
    expect(hopOf('udp')?.action).toContain('ct helper ftp-h is for tcp (ip): not attached to this udp connection');
    // The listing prints the object (objects, then sets, then chains) and reads back the same.
    const listed = formatNftList(loaded.value);
    expect(listed).toContain('\tct helper ftp-standard {\n\t\ttype "ftp" protocol tcp\n\t\tl3proto inet\n\t}\n');
    const again = parseNftList(listed);
    expect(again.ok && formatNftList(again.value)).toBe(listed);
  });
  it('define and $NAME; a table with no family is ip; include is refused', () => {
    const text = [
      'define ssh = 22',
      'table filter {',
      '\tchain input {',
      '\t\ttype filter hook input priority 0; policy drop;',
      '\t\ttcp dport $ssh accept',
      '\t}',
      '}',
    ].join('\n');
    const loaded = loadNftFile(text, 'f');
    if (!loaded.ok) throw new Error(loaded.message);
    expect([...loaded.value.tables.keys()]).toEqual(['ip filter']);
    expect(trace(text, '192.168.0.2', 22).outcome).toBe('ACCEPT');
    expect(loadNftFile('include "./inet-filter.nft"\n', 'f')).toEqual({
      ok: false,
      message: 'f: line 1: include "./inet-filter.nft": the included file is not at hand; put its rules into this one',
    });
  });
  it("a netdev ingress chain's device is read past (such chains do not see a routed IPv4 packet's way)", () => {
    const text =
      'table netdev filter {\n\tchain loinput { type filter hook ingress device lo priority 0; policy drop; }\n}\n';
    expect(parseNftList(text).ok).toBe(true);
    expect(
      loadNftFile(
        'add table netdev f\nadd chain netdev f c { type filter hook ingress devices = { eth0, eth1 } priority 0 ; }\n',
        'f',
      ).ok,
    ).toBe(true);
    expect(trace(text, '192.168.0.2', 22).outcome).toBe('ACCEPT');
  });
  it("nft 1.1's priority names at any hook (Debian 13's netavark lists `hook output priority dstnat`)", () => {
    const r = parseNftList(
      'table inet netavark {\n\tchain OUTPUT {\n\t\ttype nat hook output priority dstnat; policy accept;\n\t}\n}\n',
    );
    if (!r.ok) throw new Error(r.message);
    expect(r.value.tables.get('inet netavark')!.chains.get('OUTPUT')!.base).toMatchObject({ priority: -100 });
  });
});

describe('matches and statements', () => {
  const chain = (rules: string[]) =>
    [
      'table inet f {',
      '\tchain input {',
      '\t\ttype filter hook input priority 0; policy accept;',
      ...rules.map((r) => `\t\t${r}`),
      '\t}',
      '}',
    ].join('\n');
  it('IPv6 and ICMP tests never match an IPv4 TCP packet; nfproto is ipv4', () => {
    const text = chain([
      'ip6 saddr fe80::/10 drop',
      'meta nfproto ipv6 drop',
      'icmpv6 type { nd-neighbor-solicit, nd-router-advert } drop',
      'icmp type echo-request drop',
      'meta nfproto ipv4 tcp dport 81 drop',
    ]);
    expect(trace(text, '192.168.0.2', 80, { from: '10.0.0.11' }).outcome).toBe('ACCEPT');
    expect(trace(text, '192.168.0.2', 81).outcome).toBe('DROP');
  });
  it('iif and oif by name (quoted as nft lists them), pkttype, ct direction', () => {
    const text = chain([
      'iif "lo" accept',
      'meta pkttype host tcp dport 81 drop',
      'ct direction original tcp dport 82 drop',
    ]);
    expect(trace(text, '192.168.0.2', 81).outcome).toBe('DROP');
    expect(trace(text, '192.168.0.2', 82).outcome).toBe('DROP');
    expect(trace(text, '192.168.0.2', 83).outcome).toBe('ACCEPT');
  });
  it('meta skuid: the owner of the socket a local process sent from (Istio lets uid 1337 out)', () => {
    const text = [
      'table ip f {',
      '\tchain output {',
      '\t\ttype filter hook output priority 0; policy accept;',
      '\t\tmeta skuid 1337 accept',
      '\t\tskuid 0 tcp dport 81 drop',
      '\t}',
      '}',
    ].join('\n');
    expect(trace(text, '8.8.8.8', 81, { local: true }).outcome).toBe('DROP');
    expect(trace(text, '8.8.8.8', 80, { local: true }).outcome).toBe('ACCEPT');
  });
  it('tcp flags: bare flags test any bit, a mask tests equality under it, a set exact values', () => {
    const text = chain([
      'tcp dport 80 tcp flags & (fin|syn|rst|ack) != syn drop',
      'tcp dport 81 tcp flags syn / fin,syn,rst,ack drop',
      'tcp dport 82 tcp flags & (fin | syn | rst | ack) == syn drop',
      'tcp dport 83 tcp flags syn,ack drop',
      'tcp dport 84 tcp flags { ack, syn } drop',
      'tcp dport 85 tcp flags ack drop',
    ]);
    const outcomes = (flags?: TcpFlags) =>
      [80, 81, 82, 83, 84, 85].map((p) => trace(text, '192.168.0.2', p, flags ? { tcpFlags: flags } : {}).outcome);
    expect(outcomes()).toEqual(['ACCEPT', 'DROP', 'DROP', 'DROP', 'DROP', 'ACCEPT']);
    expect(outcomes(ACK)).toEqual(['DROP', 'ACCEPT', 'ACCEPT', 'DROP', 'DROP', 'DROP']);
  });
  it('mark arithmetic as iptables-nft writes MARK --set-xmark (`meta mark set mark and 0xfffff0ff xor 0xc00`)', () => {
    const text = chain([
      'meta mark set mark and 0xfffff0ff xor 0xc00',
      'meta mark & 0x00000f00 == 0x00000c00 tcp dport 81 drop',
    ]);
    expect(trace(text, '192.168.0.2', 81).outcome).toBe('DROP');
  });
  it('limit: the first packets fit a fresh bucket (so `over` is not met); log goes on', () => {
    const text = chain([
      'limit rate over 5/second drop',
      'limit rate 10/minute burst 10 packets log prefix "in: " level info flags all counter',
      'log group 100 snaplen 80 tcp dport 81 drop',
    ]);
    expect(trace(text, '192.168.0.2', 80, { from: '10.0.0.11' }).outcome).toBe('ACCEPT');
    expect(trace(text, '192.168.0.2', 81).outcome).toBe('DROP');
  });
});

describe('fib look-ups as iptables-nft translates rpfilter and addrtype --limit-iface-in', () => {
  const ROUTES = [
    'default via 192.168.0.1 dev eth0',
    '10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1',
    '192.168.0.0/24 dev eth0 proto kernel scope link src 192.168.0.2',
    'local 192.168.0.2 dev eth0 table local proto kernel scope host src 192.168.0.2',
    'local 10.244.1.1 dev cni0 table local proto kernel scope host src 10.244.1.1',
  ].join('\n');
  const ruleset = (rule: string) =>
    `table ip raw {\n\tchain PREROUTING {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\t${rule}\n\t}\n}\n`;
  const from = (rule: string, iface: string, dst = '8.8.8.8') => {
    const built = nodeFromDumps({
      name: 'n',
      nft: { text: ruleset(rule), file: 'r' },
      routes: { text: ROUTES, file: 'routes' },
    });
    if (!built.ok) throw new Error(built.message);
    return tracePacket(built.node, {
      src: ip('10.244.1.5'),
      dst: ip(dst),
      protocol: 'tcp',
      dport: 443,
      origin: { kind: 'interface', iface },
    }).outcome;
  };
  it('strict reverse path (`fib saddr . mark . iif oif missing drop`): the way back must leave by the device it came in by', () => {
    expect(from('fib saddr . mark . iif oif missing drop', 'cni0')).toBe('ACCEPT');
    expect(from('fib saddr . mark . iif oif missing drop', 'eth0')).toBe('DROP');
    // Loose (no iif): any way back will do.
    expect(from('fib saddr oif missing drop', 'eth0')).toBe('ACCEPT');
    expect(from('fib saddr . iif oif "cni0" drop', 'cni0')).toBe('DROP');
  });
  it('`fib daddr . iif type local`: local to the device it came in by only', () => {
    expect(from('fib daddr . iif type local drop', 'eth0', '192.168.0.2')).toBe('DROP');
    expect(from('fib daddr . iif type local drop', 'cni0', '192.168.0.2')).toBe('ACCEPT');
    expect(from('fib daddr type local drop', 'cni0', '192.168.0.2')).toBe('DROP');
  });
});

describe('review follow-ups (each form loads with nft 1.0.6, or is what it lists)', () => {
  const chain = (rules: string[]) =>
    [
      'table inet f {',
      '\tchain input {',
      '\t\ttype filter hook input priority 0; policy accept;',
      ...rules.map((r) => `\t\t${r}`),
      '\t}',
      '}',
    ].join('\n');
  it('tcp flags with an operator and a mask, "|" in set elements, log flags of two words', () => {
    const text = chain([
      'tcp dport 80 tcp flags != syn / fin,syn,rst,ack drop',
      'tcp dport 81 tcp flags { syn | ack, syn } drop',
      'tcp dport 82 log flags tcp sequence,options drop',
    ]);
    expect([80, 81, 82].map((p) => trace(text, '192.168.0.2', p).outcome)).toEqual(['ACCEPT', 'DROP', 'DROP']);
  });
  it("a one-line set inside a table block; users' own comments; `fib ... oif exists`", () => {
    const text = [
      'table ip f {',
      '\tset blocked { type ipv4_addr; elements = { 10.0.0.9, 10.0.0.10 }; }',
      '\tchain input {',
      '\t\ttype filter hook input priority 0; policy accept;',
      '\t\t# policy: drop what the set names',
      '\t\tip saddr @blocked drop # length check is elsewhere',
      '\t\ttcp dport 81 fib daddr oif exists drop',
      '\t}',
      '}',
    ].join('\n');
    expect(trace(text, '192.168.0.2', 80).outcome).toBe('DROP');
    expect(trace(text, '192.168.0.2', 81, { from: '10.0.0.20' }).outcome).toBe('DROP');
    expect(trace(text, '192.168.0.2', 82, { from: '10.0.0.20' }).outcome).toBe('ACCEPT');
  });
  it("an ip6 table's NAT to IPv6 addresses loads (and leaves IPv4 alone)", () => {
    const text =
      'table ip6 nat {\n\tchain PREROUTING {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\ttcp dport 8080 dnat to [fd00::2]:80\n\t}\n}\n';
    expect(parseNftList(text).ok).toBe(true);
    expect(trace(text, '8.8.8.8', 8080).outcome).toBe('ACCEPT');
  });
  it('defines that double at every step are refused, not left to exhaust memory', () => {
    const lines = ['define A0 = 1'];
    for (let i = 1; i < 30; i++) lines.push(`define A${i} = $A${i - 1},$A${i - 1}`);
    const r = loadNftFile(lines.join('\n'), 'f');
    expect(r).toMatchObject({ ok: false, message: expect.stringContaining('defines expand to more than') });
  });
});

describe('fib over a multipath route back', () => {
  it('the way back passes reverse-path checks by any of its live paths (fib_info_nh_uses_dev)', () => {
    const routes = [
      '10.244.0.0/16 proto bird',
      '\tnexthop via 192.168.0.1 dev eth0 weight 1',
      '\tnexthop via 10.1.0.1 dev eth1 weight 1',
      'default via 192.168.0.1 dev eth0',
      '192.168.0.0/24 dev eth0 proto kernel scope link src 192.168.0.2',
      '10.1.0.0/24 dev eth1 proto kernel scope link src 10.1.0.2',
    ].join('\n');
    const text =
      'table ip raw {\n\tchain PREROUTING {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tfib saddr . iif oif missing drop\n\t}\n}\n';
    const built = nodeFromDumps({ name: 'n', nft: { text, file: 'r' }, routes: { text: routes, file: 'routes' } });
    if (!built.ok) throw new Error(built.message);
    const from = (iface: string) =>
      tracePacket(built.node, {
        src: ip('10.244.1.5'),
        dst: ip('8.8.8.8'),
        protocol: 'tcp',
        dport: 443,
        origin: { kind: 'interface', iface },
      }).outcome;
    expect(from('eth1')).toBe('ACCEPT');
    expect(from('eth0')).toBe('ACCEPT');
  });
});
