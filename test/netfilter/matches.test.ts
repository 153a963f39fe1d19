// One test per match extension: a rule with the match, a packet that meets it and one that does not.
import { describe, expect, it } from 'vitest';
import type { SetLookup } from '../../src/engine';
import { loadIptables, type NetfilterState, saveState } from '../../src/netfilter';
import { ip, NODE_IP, nodeFromRules, table, trace } from '../helpers/node-from-rules';

function nodeState(text: string): NetfilterState {
  const loaded = loadIptables(text, 'test');
  if (!loaded.ok) throw new Error(loaded.message);
  return loaded.state;
}

/** Rules in filter FORWARD: DROP when the match holds; the verdict tells whether it did. */
function dropsWhen(match: string, opts: { sets?: SetLookup } = {}) {
  return nodeFromRules(table('filter', [`-A FORWARD ${match} -j DROP`]), opts);
}

describe('header matches', () => {
  it('-s / -d with prefixes and negation', () => {
    const n = dropsWhen('-s 10.244.1.0/24 ! -d 10.96.0.0/12');
    expect(trace(n, '10.244.1.5', '8.8.8.8', 53).outcome).toBe('DROP');
    expect(trace(n, '10.244.1.5', '10.96.0.10', 53).outcome).toBe('ACCEPT');
    expect(trace(n, '10.244.2.5', '8.8.8.8', 53).outcome).toBe('ACCEPT');
  });
  it('-p with negation, -i / -o with + wildcards', () => {
    const n = dropsWhen('! -p udp -i cni+ -o eth0');
    expect(trace(n, '10.244.1.5', '8.8.8.8', 53, 'tcp').outcome).toBe('DROP');
    expect(trace(n, '10.244.1.5', '8.8.8.8', 53, 'udp').outcome).toBe('ACCEPT');
    expect(trace(n, '203.0.113.1', '8.8.8.8', 53, 'tcp').outcome).toBe('ACCEPT');
  });
});

describe('protocols no traced packet carries', () => {
  it('-p gre / ipencap / 112 load and print as iptables-save does, and match no TCP or UDP packet unless negated', () => {
    // Names and numbers as iptables resolves them through /etc/protocols (checked against iptables-save in a netns).
    const n = nodeFromRules(table('filter', ['-A FORWARD -p 4 -j DROP', '-A FORWARD -p 112 -j DROP']));
    const t = trace(n, '10.244.1.5', '8.8.8.8', 80);
    expect(t.outcome).toBe('ACCEPT');
    expect(trace(dropsWhen('! -p gre'), '10.244.1.5', '8.8.8.8', 80).outcome).toBe('DROP');
    const saved = saveState(
      nodeState(table('filter', ['-A FORWARD -p 4', '-A FORWARD -p VRRP', '-A FORWARD -p 250', '-A FORWARD -p mh'])),
    );
    expect(saved.split('\n').filter((l) => l.startsWith('-A'))).toEqual([
      '-A FORWARD -p ipencap',
      '-A FORWARD -p vrrp',
      '-A FORWARD -p 250',
      '-A FORWARD -p mobility-header',
    ]);
    expect(() => dropsWhen('-p nosuch')).toThrow('unknown protocol "nosuch" specified');
    expect(() => dropsWhen('-p gre --dport 80')).toThrow('unknown option "--dport"');
  });
});

describe('protocol matches', () => {
  it('tcp --dport range, --sport, --syn', () => {
    const n = dropsWhen('-p tcp -m tcp --dport 8000:8100 --syn');
    expect(trace(n, '10.244.1.5', '8.8.8.8', 8080).outcome).toBe('DROP');
    expect(trace(n, '10.244.1.5', '8.8.8.8', 8200).outcome).toBe('ACCEPT');
    const ack = { syn: false, ack: true, fin: false, rst: false, psh: false, urg: false };
    expect(trace(n, '10.244.1.5', '8.8.8.8', 8080, 'tcp', { tcpFlags: ack }).outcome).toBe('ACCEPT');
    const s = dropsWhen('-p tcp --sport 1000');
    expect(trace(s, '10.244.1.5', '8.8.8.8', 80, 'tcp', { sport: 1000 }).outcome).toBe('DROP');
  });
  it('udp and sctp ports require their protocol', () => {
    const n = dropsWhen('-p udp -m udp ! --dport 53');
    expect(trace(n, '10.244.1.5', '8.8.8.8', 54, 'udp').outcome).toBe('DROP');
    expect(trace(n, '10.244.1.5', '8.8.8.8', 53, 'udp').outcome).toBe('ACCEPT');
    const s = dropsWhen('-p sctp -m sctp --dport 9');
    expect(trace(s, '10.244.1.5', '8.8.8.8', 9, 'sctp').outcome).toBe('DROP');
    expect(trace(s, '10.244.1.5', '8.8.8.8', 9, 'tcp').outcome).toBe('ACCEPT');
  });
  it('multiport --dports with a range', () => {
    const n = dropsWhen('-p tcp -m multiport --dports 80,443,9000:9010');
    expect(trace(n, '10.244.1.5', '8.8.8.8', 443).outcome).toBe('DROP');
    expect(trace(n, '10.244.1.5', '8.8.8.8', 9005).outcome).toBe('DROP');
    expect(trace(n, '10.244.1.5', '8.8.8.8', 8080).outcome).toBe('ACCEPT');
  });
});

describe('state and marks', () => {
  it('-m conntrack --ctstate NEW and ! --ctstate', () => {
    expect(trace(dropsWhen('-m conntrack --ctstate NEW'), '10.244.1.5', '8.8.8.8', 80).outcome).toBe('DROP');
    expect(trace(dropsWhen('-m conntrack ! --ctstate NEW'), '10.244.1.5', '8.8.8.8', 80).outcome).toBe('ACCEPT');
    expect(trace(dropsWhen('-m state --state ESTABLISHED,RELATED'), '10.244.1.5', '8.8.8.8', 80).outcome).toBe(
      'ACCEPT',
    );
  });
  it('NOTRACK in raw: the state is UNTRACKED, and without a connection only --ctstate is looked at', () => {
    // As xt_conntrack does (and a netns showed, for each of these rules in filter OUTPUT after raw NOTRACK):
    // no connection and a state option: the state decides; no state option: the match fails.
    const untracked = (rule: string) =>
      nodeFromRules(
        `*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -j NOTRACK\nCOMMIT\n${table('filter', [`-A FORWARD ${rule} -j DROP`])}`,
      );
    const outcome = (rule: string) => trace(untracked(rule), '10.244.1.5', '8.8.8.8', 80).outcome;
    expect(outcome('-m conntrack --ctstate UNTRACKED')).toBe('DROP');
    expect(outcome('-m state --state UNTRACKED')).toBe('DROP');
    expect(outcome('-m conntrack --ctstate INVALID')).toBe('ACCEPT');
    expect(outcome('-m conntrack --ctstate NEW')).toBe('ACCEPT');
    expect(outcome('-m conntrack --ctstate UNTRACKED --ctorigdst 1.2.3.4')).toBe('DROP');
    expect(outcome('-m conntrack ! --ctstatus ASSURED')).toBe('ACCEPT');
    // With a connection the other options count as usual.
    expect(trace(dropsWhen('-m conntrack ! --ctstatus ASSURED'), '10.244.1.5', '8.8.8.8', 80).outcome).toBe('DROP');
  });
  it('--ctstate DNAT and --ctorigdst after a DNAT', () => {
    const n = nodeFromRules(
      table('nat', ['-A PREROUTING -p tcp -d 10.96.0.1 -j DNAT --to-destination 10.244.2.9:8443']) +
        table('filter', ['-A FORWARD -m conntrack --ctstate DNAT --ctorigdst 10.96.0.1 --ctorigdstport 443 -j DROP']),
    );
    expect(trace(n, '10.244.1.5', '10.96.0.1', 443).outcome).toBe('DROP');
    expect(trace(n, '10.244.1.5', '10.96.0.2', 443).outcome).toBe('ACCEPT');
  });
  it('branches split before a DNAT each see their own connection: only the DNATed one is --ctstate DNAT', () => {
    const n = nodeFromRules(
      table('nat', [
        '-A PREROUTING -p tcp -m statistic --mode random --probability 0.5 -j DNAT --to-destination 10.244.2.9:8443',
      ]) + table('filter', ['-A FORWARD -m conntrack --ctstate DNAT -j DROP']),
    );
    const t = trace(n, '10.244.1.5', '10.96.0.1', 443);
    expect(t.branches.map((b) => [b.outcome, b.probability]).sort()).toEqual([
      ['ACCEPT', 0.5],
      ['DROP', 0.5],
    ]);
  });
  it('-m owner: the sending socket of a packet made on the node (root unless the request says)', () => {
    const n = nodeFromRules(
      table('filter', [
        '-A OUTPUT -m owner --uid-owner 1000-1999 --gid-owner 50 --suppl-groups -j DROP',
        '-A OUTPUT -m owner ! --socket-exists -j DROP',
      ]),
    );
    const from = (socket?: { uid: number; gid: number; groups: number[] }) =>
      trace(n, NODE_IP, '8.8.8.8', 53, 'udp', socket ? { socket } : {}).outcome;
    expect(from()).toBe('ACCEPT');
    expect(from({ uid: 1500, gid: 50, groups: [50] })).toBe('DROP');
    // The group matches through a supplementary group only with --suppl-groups (given here).
    expect(from({ uid: 1500, gid: 7, groups: [7, 50] })).toBe('DROP');
    expect(from({ uid: 1500, gid: 7, groups: [7] })).toBe('ACCEPT');
    expect(from({ uid: 2000, gid: 50, groups: [50] })).toBe('ACCEPT');
    // A forwarded packet has no socket: only a rule whose every test is negated matches it.
    expect(trace(n, '10.244.1.5', '8.8.8.8', 53, 'udp').outcome).toBe('ACCEPT');
    const negated = nodeFromRules(
      table('mangle', ['-A POSTROUTING -m owner ! --uid-owner 0 ! --socket-exists -j DROP']),
    );
    expect(trace(negated, '10.244.1.5', '8.8.8.8', 53, 'udp').outcome).toBe('DROP');
    expect(trace(negated, NODE_IP, '8.8.8.8', 53, 'udp').outcome).toBe('ACCEPT');
  });
  it('-m policy: no IPsec, so --pol none always matches and --pol ipsec never', () => {
    const n = nodeFromRules(
      table('filter', [
        '-A FORWARD -m policy --dir in --pol ipsec -j DROP',
        '-A FORWARD -m policy --dir out --pol none -j REJECT',
      ]),
    );
    expect(trace(n, '10.244.1.5', '8.8.8.8', 53, 'udp').outcome).toBe('REJECT');
  });
  it('MARK then -m mark, with masks', () => {
    const n = nodeFromRules(
      table('mangle', ['-A PREROUTING -j MARK --set-xmark 0x4000/0x4000']) +
        table('filter', ['-A FORWARD -m mark --mark 0x4000/0x4000 -j DROP']),
    );
    expect(trace(n, '10.244.1.5', '8.8.8.8', 80).outcome).toBe('DROP');
    expect(trace(dropsWhen('-m mark --mark 0x4000/0x4000'), '10.244.1.5', '8.8.8.8', 80).outcome).toBe('ACCEPT');
  });
  it("a new connection's mark is 0; CONNMARK's mark stays with the connection through NAT; -m connmark reads it", () => {
    // As a netns showed: raw OUTPUT MARK 0x5 then CONNMARK --restore-mark gives mark 0 (the connection's);
    // CONNMARK --set-mark in mangle, a DNAT in nat, then --restore-mark in filter INPUT gives 0x7.
    const fresh = nodeFromRules(
      table('raw', ['-A PREROUTING -j MARK --set-mark 0x5']) +
        table('filter', ['-A FORWARD -j CONNMARK --restore-mark', '-A FORWARD -m mark --mark 0x0 -j DROP']),
    );
    expect(trace(fresh, '10.244.1.5', '8.8.8.8', 80).outcome).toBe('DROP');
    const kept = (rule: string) =>
      nodeFromRules(
        table('mangle', ['-A PREROUTING -j CONNMARK --set-mark 0x7']) +
          table('nat', ['-A PREROUTING -p tcp -d 10.96.0.1 -j DNAT --to-destination 10.244.2.9:8443']) +
          table('filter', [`-A FORWARD ${rule} -j DROP`]),
      );
    expect(trace(kept('-m connmark --mark 0x7'), '10.244.1.5', '10.96.0.1', 443).outcome).toBe('DROP');
    expect(trace(kept('-m connmark ! --mark 0x7'), '10.244.1.5', '10.96.0.1', 443).outcome).toBe('ACCEPT');
    expect(trace(kept('-m connmark --mark 0x4/0x4'), '10.244.1.5', '10.96.0.1', 443).outcome).toBe('DROP');
    const untracked = nodeFromRules(
      table('raw', ['-A PREROUTING -j NOTRACK']) + table('filter', ['-A FORWARD -m connmark ! --mark 0x7 -j DROP']),
    );
    expect(trace(untracked, '10.244.1.5', '8.8.8.8', 80).outcome).toBe('ACCEPT');
  });
  it('CONNMARK --save-mark and --restore-mark carry a mark through the connection', () => {
    const n = nodeFromRules(
      table('mangle', [
        '-A PREROUTING -j MARK --set-mark 0x7',
        '-A PREROUTING -j CONNMARK --save-mark',
        '-A PREROUTING -j MARK --set-mark 0x0',
        '-A PREROUTING -j CONNMARK --restore-mark',
      ]) + table('filter', ['-A FORWARD -m mark --mark 0x7 -j DROP']),
    );
    expect(trace(n, '10.244.1.5', '8.8.8.8', 80).outcome).toBe('DROP');
  });
});

describe('address types, sets, statistics, recent', () => {
  it('-m addrtype --dst-type LOCAL sees the node addresses, with --limit-iface-in only the incoming ones', () => {
    const n = nodeFromRules(table('filter', ['-A INPUT -m addrtype --dst-type LOCAL --limit-iface-in -j DROP']));
    expect(trace(n, '203.0.113.1', '192.168.0.2', 80).outcome).toBe('DROP');
    // Arriving on eth0 for cni0's address: LOCAL for the node, not for eth0.
    expect(trace(n, '203.0.113.1', '10.244.1.1', 80).outcome).toBe('ACCEPT');
    const any = nodeFromRules(table('filter', ['-A INPUT -m addrtype --dst-type LOCAL -j DROP']));
    expect(trace(any, '203.0.113.1', '10.244.1.1', 80).outcome).toBe('DROP');
    const bcast = dropsWhen('-m addrtype --dst-type BROADCAST');
    expect(trace(bcast, '10.244.1.5', '10.244.1.255', 80, 'udp').outcome).not.toBe('DROP');
  });
  it('-m set asks the set with the packet fields the flags name', () => {
    const asked: string[] = [];
    const sets: SetLookup = {
      lookups: 0,
      has: (name) => name === 'S',
      test: (name, flags, p) => {
        asked.push(`${name} ${flags.join(',')}`);
        return p.dst === ip('10.96.0.10') && p.dport === 53;
      },
    };
    const n = dropsWhen('-m set --match-set S dst,dst', { sets });
    expect(trace(n, '10.244.1.5', '10.96.0.10', 53, 'udp').outcome).toBe('DROP');
    expect(trace(n, '10.244.1.5', '10.96.0.11', 53, 'udp').outcome).toBe('ACCEPT');
    expect(asked[0]).toBe('S dst,dst');
  });
  it('-m statistic --mode random splits the trace with exact probabilities', () => {
    const n = nodeFromRules(
      table('nat', [
        '-A PREROUTING -p tcp -m statistic --mode random --probability 0.3333333333 -j DNAT --to-destination 10.0.0.1:80',
        '-A PREROUTING -p tcp -m statistic --mode random --probability 0.5000000000 -j DNAT --to-destination 10.0.0.2:80',
        '-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.3:80',
      ]),
    );
    const t = trace(n, '10.244.1.5', '10.96.0.5', 80);
    const share = Object.fromEntries(t.endpoints.map((e) => [e.address, e.probability]));
    expect(share['10.0.0.1:80']).toBeCloseTo(1 / 3, 9);
    expect(share['10.0.0.2:80']).toBeCloseTo(1 / 3, 9);
    expect(share['10.0.0.3:80']).toBeCloseTo(1 / 3, 9);
    expect(t.branches.length).toBe(3);
  });
  it('-m statistic --mode nth reports the long-run share', () => {
    const n = nodeFromRules(
      table('nat', [
        '-A PREROUTING -p tcp -m statistic --mode nth --every 4 --packet 0 -j DNAT --to-destination 10.0.0.1:80',
      ]),
    );
    const t = trace(n, '10.244.1.5', '10.96.0.5', 80);
    expect(t.endpoints).toEqual([{ address: '10.0.0.1:80', probability: 0.25 }]);
  });
  it('-m recent --set then --rcheck --seconds in one walk (ClientIP affinity)', () => {
    const n = nodeFromRules(
      table('nat', [
        ':SEP - [0:0]',
        '-A PREROUTING -p tcp -m recent --name SEP --rcheck --seconds 10800 --reap -j DNAT --to-destination 10.0.0.9:80',
        '-A PREROUTING -p tcp -j SEP',
        '-A SEP -p tcp -m recent --name SEP --set -j DNAT --to-destination 10.0.0.1:80',
      ]),
    );
    const t = trace(n, '10.244.1.5', '10.96.0.5', 80);
    expect(t.endpoints).toEqual([{ address: '10.0.0.1:80', probability: 1 }]);
  });
  it('comment, nfacct, limit and LOG do not change the verdict; nfacct counts', () => {
    const n = dropsWhen(
      '-m comment --comment "x y" -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -m limit --limit 5/min',
    );
    const t = trace(n, '10.244.1.5', '8.8.8.8', 80);
    expect(t.outcome).toBe('DROP');
    expect(t.branches[0]!.nfacct).toEqual({ ct_state_invalid_dropped_pkts: 1 });
  });
  it('-m physdev --physdev-is-in: a pod behind the cni0 bridge, as br_netfilter shows it', () => {
    const n = dropsWhen('-m physdev --physdev-is-in');
    expect(trace(n, '10.244.1.5', '8.8.8.8', 80).outcome).toBe('DROP');
    expect(trace(n, '203.0.113.1', '8.8.8.8', 80).outcome).toBe('ACCEPT');
  });
  it('-m physdev only matches bridged packets', () => {
    expect(trace(dropsWhen('-m physdev --physdev-is-bridged'), '10.244.1.5', '8.8.8.8', 80).outcome).toBe('ACCEPT');
    expect(trace(dropsWhen('-m physdev ! --physdev-is-bridged'), '10.244.1.5', '8.8.8.8', 80).outcome).toBe('DROP');
  });
  it('-m iprange --src-range / --dst-range, with negation; -m length on the IP total length', () => {
    expect(trace(dropsWhen('-m iprange --src-range 10.244.1.1-10.244.1.9'), '10.244.1.5', '8.8.8.8', 80).outcome).toBe(
      'DROP',
    );
    expect(trace(dropsWhen('-m iprange --src-range 10.244.1.6-10.244.1.9'), '10.244.1.5', '8.8.8.8', 80).outcome).toBe(
      'ACCEPT',
    );
    const both = dropsWhen('-m iprange --src-range 10.244.1.5 ! --dst-range 8.8.0.0-8.8.255.255');
    expect(trace(both, '10.244.1.5', '8.8.8.8', 80).outcome).toBe('ACCEPT');
    expect(trace(both, '10.244.1.5', '9.9.9.9', 80).outcome).toBe('DROP');
    // A bare TCP SYN is 60 bytes.
    expect(trace(dropsWhen('-m length --length 60'), '10.244.1.5', '8.8.8.8', 80).outcome).toBe('DROP');
    expect(trace(dropsWhen('-m length --length 61:'), '10.244.1.5', '8.8.8.8', 80).outcome).toBe('ACCEPT');
    expect(trace(dropsWhen('-m length ! --length :59'), '10.244.1.5', '8.8.8.8', 80).outcome).toBe('DROP');
  });
  it('-m pkttype: broadcast and multicast by the destination of a packet that came in; unicast otherwise', () => {
    const n = (type: string) =>
      nodeFromRules(
        table('filter', [
          `-A INPUT -m pkttype --pkt-type ${type} -j DROP`,
          `-A FORWARD -m pkttype --pkt-type ${type} -j DROP`,
        ]),
      );
    expect(trace(n('broadcast'), '10.244.1.5', '10.244.1.255', 80, 'udp').outcome).toBe('DROP');
    expect(trace(n('unicast'), '10.244.1.5', '10.244.1.255', 80, 'udp').outcome).toBe('ACCEPT');
    expect(trace(n('host'), '10.244.1.5', '8.8.8.8', 80).outcome).toBe('DROP');
    expect(trace(n('multicast'), '10.244.1.5', '8.8.8.8', 80).outcome).toBe('ACCEPT');
  });
  it('-m rpfilter: the way back to the source must leave by the device the packet came in on (--loose: any)', () => {
    const n = (options: string) =>
      nodeFromRules(table('raw', [`-A PREROUTING -m rpfilter ${options} --invert -j DROP`]));
    // 10.244.1.5 is reached by cni0, 203.0.113.1 by eth0 (the default).
    expect(trace(n(''), '10.244.1.5', '8.8.8.8', 80).outcome).toBe('ACCEPT');
    expect(trace(n(''), '203.0.113.1', '8.8.8.8', 80).outcome).toBe('ACCEPT');
    const spoofed = { origin: { kind: 'interface', iface: 'cni0' } } as const;
    expect(trace(n(''), '203.0.113.1', '8.8.8.8', 80, 'tcp', spoofed).outcome).toBe('DROP');
    expect(trace(n('--loose'), '203.0.113.1', '8.8.8.8', 80, 'tcp', spoofed).outcome).toBe('ACCEPT');
    expect(trace(n('--validmark'), '203.0.113.1', '8.8.8.8', 80, 'tcp', spoofed).outcome).toBe('DROP');
  });
  it('icmp --icmp-type 255 is any type, as the kernel stores "any"', () => {
    const n = dropsWhen('-p icmp -m icmp --icmp-type 255/0');
    expect(trace(n, '10.244.1.5', '8.8.8.8', 0, 'icmp', { sport: 8 }).outcome).toBe('DROP');
    expect(trace(n, '10.244.1.5', '8.8.8.8', 0, 'icmp', { sport: 3 }).outcome).toBe('DROP');
  });

  it('icmp --icmp-type needs -p icmp', () => {
    const n = dropsWhen('-p icmp -m icmp --icmp-type echo-request');
    expect(trace(n, '10.244.1.5', '8.8.8.8', 0, 'icmp', { sport: 8 }).outcome).toBe('DROP');
    expect(trace(n, '10.244.1.5', '8.8.8.8', 0, 'icmp', { sport: 0 }).outcome).toBe('ACCEPT');
  });
});
