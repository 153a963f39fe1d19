// `conntrack -L` as conntrack-tools 1.4.7 printed it in a netns (accounting on), and
// the same with `-o extended`; what a trace does with a listed TCP connection a SYN
// reopens (TIME_WAIT).
import { describe, expect, it } from 'vitest';
import { makeSimNode, tracePacket } from '../../src/engine';
import { ConntrackTable, formatEntry, formatIPv4, parseConntrackList } from '../../src/net';
import { ip, nodeFromRules } from '../helpers/node-from-rules';

const LISTING = [
  'udp      17 29 src=10.0.0.1 dst=10.96.0.10 sport=44385 dport=53 packets=1 bytes=29 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=44385 packets=1 bytes=29 mark=16384 use=1',
  'udp      17 29 src=10.0.0.1 dst=10.96.0.77 sport=59615 dport=53 packets=1 bytes=29 [UNREPLIED] src=10.96.0.77 dst=10.0.0.1 sport=53 dport=59615 packets=0 bytes=0 mark=16384 use=1',
  'tcp      6 59 CLOSE_WAIT src=10.0.0.1 dst=10.96.0.11 sport=47182 dport=80 packets=3 bytes=164 src=10.0.0.2 dst=10.0.0.1 sport=8080 dport=47182 packets=2 bytes=112 [ASSURED] mark=0 use=1',
  'icmp     1 29 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=0 packets=1 bytes=28 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=0 packets=1 bytes=28 mark=0 use=1',
  'conntrack v1.4.7 (conntrack-tools): 4 flow entries have been shown.',
].join('\n');

describe('conntrack -L', () => {
  it('reads each entry: tuples, NAT, replied or not, assured, mark, TCP state; ICMP type and code where ports are', () => {
    const parsed = parseConntrackList(LISTING);
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.skipped).toBe(0);
    const [dns, unreplied, http, ping] = parsed.entries;
    expect(ping).toMatchObject({
      original: { protocol: 'icmp', sport: 8, dport: 0 },
      reply: { protocol: 'icmp', sport: 0, dport: 0 },
      seenReply: true,
      counters: { original: { packets: 1, bytes: 28 }, reply: { packets: 1, bytes: 28 } },
    });
    // Listed back as conntrack lists it, less the echo identifier knetsim does not keep.
    expect(formatEntry(ping!)).toBe(
      'icmp     1 29 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 packets=1 bytes=28 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 packets=1 bytes=28 mark=0 use=1',
    );
    expect(formatIPv4(dns!.reply.src)).toBe('10.0.0.2');
    expect(dns).toMatchObject({ seenReply: true, assured: false, mark: 16384, timeout: 29 });
    expect(unreplied).toMatchObject({ seenReply: false });
    expect(http).toMatchObject({ tcpState: 'CLOSE_WAIT', assured: true, seenReply: true });
    expect([http!.original.dport, http!.reply.sport]).toEqual([80, 8080]);
  });

  it('reads -o extended and /proc/net/nf_conntrack lines the same, and skips IPv6 ones', () => {
    const extended = LISTING.split('\n')
      .slice(0, 4)
      .map((l) => `ipv4     2 ${l}`)
      .concat([
        'ipv6     10 tcp      6 431999 ESTABLISHED src=fd00::1 dst=fd00::2 sport=1 dport=2 src=fd00::2 dst=fd00::1 sport=2 dport=1 [ASSURED] mark=0 zone=0 use=2',
      ])
      .join('\n');
    const a = parseConntrackList(LISTING);
    const b = parseConntrackList(extended);
    if (!a.ok || !b.ok) throw new Error('unread');
    expect(b.entries).toEqual(a.entries);
    expect(b.skipped).toBe(1);
  });

  it('names the line and what is wrong with it', () => {
    expect(
      parseConntrackList(
        'udp      17 29 src=10.0.0.1 dst=10.96.0.300 sport=1 dport=53 src=1.1.1.1 dst=10.0.0.1 sport=53 dport=1',
      ),
    ).toEqual({
      ok: false,
      line: 1,
      message: '"10.96.0.300" is not an IPv4 address (dst=)',
    });
    expect(parseConntrackList('\nfoo 1 2 src=1.2.3.4')).toMatchObject({
      ok: false,
      line: 2,
      message: '"foo" is not a protocol conntrack lists',
    });
    expect(parseConntrackList('udp x 29 src=1.1.1.1')).toMatchObject({ ok: false, line: 1 });
    expect(
      parseConntrackList(
        'tcp 6 5 ESTABLISHED src=1.1.1.1 dst=2.2.2.2 sport=1 dport=70000 src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1',
      ),
    ).toMatchObject({
      ok: false,
      message: '"70000" is not a port (dport=)',
    });
  });
});

describe('a listed connection in a trace', () => {
  const listed = (state: string) => {
    const parsed = parseConntrackList(
      `tcp      6 100 ${state} src=10.244.1.5 dst=10.96.0.1 sport=40000 dport=443 src=192.168.0.10 dst=10.244.1.5 sport=6443 dport=40000 [ASSURED] mark=0 use=1`,
    );
    if (!parsed.ok) throw new Error(parsed.message);
    const table = new ConntrackTable();
    for (const e of parsed.entries) table.update(e);
    return makeSimNode({ ...nodeFromRules('*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n'), conntrack: table });
  };
  const syn = {
    src: ip('10.244.1.5'),
    dst: ip('10.96.0.1'),
    protocol: 'tcp',
    sport: 40000,
    dport: 443,
    origin: { kind: 'interface', iface: 'cni0' },
  } as const;
  it('a packet of an established one keeps its NAT: its endpoint is the listed one', () => {
    const ack = { syn: false, ack: true, fin: false, rst: false, psh: false, urg: false };
    const t = tracePacket(listed('ESTABLISHED'), { ...syn, tcpFlags: ack });
    expect(t.endpoints.map((e) => e.address)).toEqual(['192.168.0.10:6443']);
  });
  it('a SYN meeting one in TIME_WAIT reopens it: a new connection the rules decide', () => {
    const t = tracePacket(listed('TIME_WAIT'), syn);
    expect(t.endpoints).toEqual([]);
    expect(t.hops.filter((h) => 'stage' in h && h.stage === 'conntrack').map((h) => h.action)).toEqual([
      'a SYN reopens the closed connection (TIME_WAIT): its entry is dropped',
      'new connection (ctstate NEW)',
      'connection confirmed',
    ]);
  });
});

describe("a listed connection's counters (nf_conntrack_acct) and -m connbytes", () => {
  const node = (line: string, rule: string) => {
    const parsed = parseConntrackList(line);
    if (!parsed.ok) throw new Error(parsed.message);
    const table = new ConntrackTable();
    for (const e of parsed.entries) table.update(e);
    return makeSimNode({
      ...nodeFromRules(`*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD ${rule} -j DROP\nCOMMIT\n`),
      conntrack: table,
    });
  };
  const COUNTED =
    'udp      17 20 src=10.244.1.5 dst=192.168.0.9 sport=40000 dport=53 packets=4 bytes=240 src=192.168.0.9 dst=10.244.1.5 sport=53 dport=40000 packets=2 bytes=200 mark=0 use=1';
  const UNCOUNTED =
    'udp      17 20 src=10.244.1.5 dst=192.168.0.9 sport=40000 dport=53 src=192.168.0.9 dst=10.244.1.5 sport=53 dport=40000 mark=0 use=1';
  const datagram = {
    src: ip('10.244.1.5'),
    dst: ip('192.168.0.9'),
    protocol: 'udp',
    sport: 40000,
    dport: 53,
    length: 60,
    origin: { kind: 'interface', iface: 'cni0' },
  } as const;
  it('reads packets= and bytes= of each way', () => {
    const parsed = parseConntrackList(COUNTED);
    expect(parsed.ok && parsed.entries[0]!.counters).toEqual({
      original: { packets: 4, bytes: 240 },
      reply: { packets: 2, bytes: 200 },
    });
    const uncounted = parseConntrackList(UNCOUNTED);
    expect(uncounted.ok && uncounted.entries[0]!.counters).toBeUndefined();
  });
  it('the next packet counts itself on top of the listed counts; a connection without accounting never matches', () => {
    const outcome = (line: string, rule: string) => tracePacket(node(line, rule), datagram).outcome;
    const rule = (range: string, mode: string, dir: string) =>
      `-m connbytes --connbytes ${range} --connbytes-mode ${mode} --connbytes-dir ${dir}`;
    expect(outcome(COUNTED, rule('5:5', 'packets', 'original'))).toBe('DROP');
    expect(outcome(COUNTED, rule('300:300', 'bytes', 'original'))).toBe('DROP');
    expect(outcome(COUNTED, rule('7:7', 'packets', 'both'))).toBe('DROP');
    // (240 + 60 + 200) / 7 packets = 71 bytes a packet.
    expect(outcome(COUNTED, rule('71:71', 'avgpkt', 'both'))).toBe('DROP');
    expect(outcome(COUNTED, rule('2:2', 'packets', 'reply'))).toBe('DROP');
    expect(outcome(UNCOUNTED, rule('0', 'packets', 'both'))).toBe('ACCEPT');
    expect(outcome(UNCOUNTED, '-m connbytes ! --connbytes 5:9 --connbytes-mode packets --connbytes-dir both')).toBe(
      'ACCEPT',
    );
  });
  it('a connection a trace keeps has counted its first packet: the reply is the second, the first the reply way', () => {
    const rules =
      '*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -m connbytes --connbytes 2:2 --connbytes-mode packets --connbytes-dir both -m connbytes --connbytes 1:1 --connbytes-mode packets --connbytes-dir reply -j DROP\nCOMMIT\n';
    const kept = nodeFromRules(rules);
    expect(tracePacket(kept, { ...datagram, commit: true }).outcome).toBe('ACCEPT');
    const reply = {
      ...datagram,
      src: datagram.dst,
      dst: datagram.src,
      sport: 53,
      dport: 40000,
      origin: { kind: 'interface', iface: 'eth0' },
    } as const;
    expect(tracePacket(kept, reply).outcome).toBe('DROP');
    // Not kept: the reply is a new connection's first packet.
    expect(tracePacket(nodeFromRules(rules), reply).outcome).toBe('ACCEPT');
  });
});

describe('conntrack zones (CT --zone)', () => {
  const LINE =
    'udp      17 20 src=10.244.1.5 dst=192.168.0.9 sport=40000 dport=53 src=192.168.0.9 dst=10.244.1.5 sport=53 dport=40000 mark=0 zone=1 use=1';
  const node = (raw: string) => {
    const parsed = parseConntrackList(LINE);
    if (!parsed.ok) throw new Error(parsed.message);
    const table = new ConntrackTable();
    for (const e of parsed.entries) table.update(e);
    return makeSimNode({
      ...nodeFromRules(`*raw\n:PREROUTING ACCEPT [0:0]\n${raw}COMMIT\n`),
      conntrack: table,
    });
  };
  const datagram = {
    src: ip('10.244.1.5'),
    dst: ip('192.168.0.9'),
    protocol: 'udp',
    sport: 40000,
    dport: 53,
    origin: { kind: 'interface', iface: 'cni0' },
  } as const;
  const conntrackSays = (raw: string) =>
    tracePacket(node(raw), datagram)
      .hops.filter((h) => h.stage === 'conntrack')
      .map((h) => h.action)[0];
  it('reads zone= and lists it back', () => {
    const parsed = parseConntrackList(LINE);
    expect(parsed.ok && parsed.entries[0]!.zone).toBe(1);
    expect(parsed.ok && formatEntry(parsed.entries[0]!)).toContain(' mark=0 zone=1 use=1');
  });
  it('a packet finds the connection only in its zone', () => {
    expect(conntrackSays('')).toBe('new connection (ctstate NEW)');
    expect(conntrackSays('-A PREROUTING -j CT --zone 2\n')).toBe('new connection (ctstate NEW) in zone 2');
    expect(conntrackSays('-A PREROUTING -j CT --zone 1\n')).toMatch(/^existing connection \(original direction\)/);
  });
  it("a connection's helper: CT --helper attaches it, conntrack -L lists it after the zone, with the counters after each tuple", () => {
    const line =
      'tcp      6 119 SYN_SENT src=127.0.0.1 dst=127.0.0.1 sport=42784 dport=21 packets=1 bytes=60 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=21 dport=42784 packets=0 bytes=0 mark=0 zone=2 helper=ftp use=1';
    // As conntrack 1.4.7 listed a connection a CT --helper ftp --zone 2 rule made (probed), read and printed back.
    const parsed = parseConntrackList(line);
    expect(parsed.ok && parsed.entries[0]!.helper).toBe('ftp');
    expect(parsed.ok && formatEntry(parsed.entries[0]!)).toBe(line);
    const made = node('-A PREROUTING -p udp -j CT --zone 1 --helper tftp\n');
    const t = tracePacket(made, { ...datagram, dport: 69 });
    expect(t.hops.find((h) => h.stage === 'raw/PREROUTING' && h.rule)?.action).toBe(
      'conntrack zone 1: the connection is looked up and kept there; conntrack helper tftp: it watches the connection for the ones it announces (related connections are not modelled)',
    );
  });
});
