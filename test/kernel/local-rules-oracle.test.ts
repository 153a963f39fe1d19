// Rules kube-proxy does not write but users' dumps have (gotos from a built-in
// chain, NOTRACK, CONNMARK, MASQUERADE out of lo, iprange, length, ...), each
// loaded into a namespace shaped like test/helpers' node (eth0 at 192.168.0.2/24,
// cni0 at 10.244.1.1/24, both veths) and met by a real datagram a local socket
// sends from 127.0.0.1:40000 to 127.0.0.1:9 (20 bytes of payload, 48 in all).
// Sockets on ports 9, 10 and 11 say where it arrived and from where; knetsim's
// trace of the same packet on the same rules must say the same.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom, tracePacket } from '../../src/engine';
import { ip, nodeFromRules } from '../helpers/node-from-rules';
import { kernelGate } from './kernel-gate';
import { inNs, Namespaces, removeStale, run } from './netns';
import { type CaseRules, rulesDump } from './rules-dump';

const why = kernelGate('local rules oracle');

interface Case {
  readonly name: string;
  readonly rules: CaseRules;
  /** filter OUTPUT's policy (default ACCEPT). */
  readonly outputPolicy?: 'ACCEPT' | 'DROP';
}

const CASES: readonly Case[] = [
  {
    name: 'jump, RETURN, then ACCEPT',
    rules: { filter: [':X - [0:0]', '-A OUTPUT -p udp -j X', '-A X -j RETURN', '-A OUTPUT -p udp -j ACCEPT'] },
    outputPolicy: 'DROP',
  },
  {
    name: '-g from a built-in chain: its policy decides at the end',
    rules: { filter: [':X - [0:0]', '-A OUTPUT -p udp -g X', '-A OUTPUT -p udp -j ACCEPT'] },
    outputPolicy: 'DROP',
  },
  {
    name: '-g from a built-in chain to a chain that RETURNs',
    rules: { filter: [':X - [0:0]', '-A OUTPUT -g X', '-A OUTPUT -j ACCEPT', '-A X -j RETURN'] },
    outputPolicy: 'DROP',
  },
  {
    name: '-g inside a jumped-to chain returns to the jumper',
    rules: {
      filter: [':X - [0:0]', ':Y - [0:0]', '-A OUTPUT -j X', '-A OUTPUT -j ACCEPT', '-A X -g Y', '-A X -j DROP'],
    },
    outputPolicy: 'DROP',
  },
  {
    name: 'MARK --or-mark / --xor-mark then -m mark',
    rules: {
      filter: [
        '-A OUTPUT -j MARK --set-xmark 0x1/0xffffffff',
        '-A OUTPUT -j MARK --or-mark 0x6',
        '-A OUTPUT -j MARK --xor-mark 0x2',
        '-A OUTPUT -m mark --mark 0x5 -j ACCEPT',
      ],
    },
    outputPolicy: 'DROP',
  },
  {
    name: 'NOTRACK: the state is UNTRACKED',
    rules: { raw: ['-A OUTPUT -p udp -j NOTRACK'], filter: ['-A OUTPUT -m conntrack --ctstate UNTRACKED -j ACCEPT'] },
    outputPolicy: 'DROP',
  },
  {
    name: 'CT --notrack, and no connection: only --ctstate counts',
    rules: {
      raw: ['-A OUTPUT -p udp -j CT --notrack'],
      filter: ['-A OUTPUT -m conntrack --ctstate INVALID,UNTRACKED --ctorigdst 1.2.3.4 -j ACCEPT'],
    },
    outputPolicy: 'DROP',
  },
  {
    name: 'no connection and no --ctstate: no match',
    rules: { raw: ['-A OUTPUT -p udp -j NOTRACK'], filter: ['-A OUTPUT -m conntrack ! --ctstatus ASSURED -j ACCEPT'] },
    outputPolicy: 'DROP',
  },
  {
    name: 'NOTRACK skips nat',
    rules: { raw: ['-A OUTPUT -p udp -j NOTRACK'], nat: ['-A OUTPUT -p udp -j DNAT --to-destination 127.0.0.1:10'] },
  },
  {
    name: "a new connection's mark is 0",
    rules: {
      raw: ['-A OUTPUT -j MARK --set-mark 0x5'],
      filter: ['-A OUTPUT -j CONNMARK --restore-mark', '-A OUTPUT -m mark --mark 0x0 -j ACCEPT'],
    },
    outputPolicy: 'DROP',
  },
  {
    name: 'the connection keeps its CONNMARK through a DNAT',
    rules: {
      mangle: ['-A OUTPUT -j CONNMARK --set-mark 0x7'],
      nat: ['-A OUTPUT -p udp -j DNAT --to-destination 127.0.0.1:10'],
      filter: ['-A INPUT -m connmark --mark 0x7 -j CONNMARK --restore-mark', '-A INPUT -m mark ! --mark 0x7 -j DROP'],
    },
  },
  {
    name: 'nat OUTPUT DNAT, filter INPUT sees the new port',
    rules: {
      nat: ['-A OUTPUT -p udp --dport 9 -j DNAT --to-destination 127.0.0.1:10'],
      filter: ['-A INPUT -p udp --dport 11 -j DROP'],
    },
  },
  { name: 'REDIRECT', rules: { nat: ['-A OUTPUT -p udp -j REDIRECT --to-ports 11'] } },
  { name: 'SNAT out of lo', rules: { nat: ['-A POSTROUTING -o lo -p udp -j SNAT --to-source 127.0.0.2:5555'] } },
  {
    name: "MASQUERADE out of lo takes eth0's address",
    rules: { nat: ['-A POSTROUTING -o lo -p udp -j MASQUERADE --to-ports 6000'] },
  },
  {
    name: 'nat PREROUTING is not consulted for a looped-back packet',
    rules: { nat: ['-A PREROUTING -p udp -j DNAT --to-destination 127.0.0.1:11'] },
  },
  {
    name: 'ctstate DNAT in INPUT',
    rules: {
      nat: ['-A OUTPUT -p udp --dport 9 -j DNAT --to-destination 127.0.0.1:10'],
      filter: ['-A INPUT -m conntrack --ctstate DNAT --ctorigdstport 9 -j DROP'],
    },
  },
  {
    name: 'iprange and length',
    rules: {
      filter: [
        '-A OUTPUT -m iprange --src-range 127.0.0.1-127.0.0.5 ! --dst-range 10.0.0.0-10.0.0.5 -m length --length 48 -j ACCEPT',
      ],
    },
    outputPolicy: 'DROP',
  },
  {
    name: 'length outside the range',
    rules: { filter: ['-A OUTPUT -m length --length 49: -j ACCEPT'] },
    outputPolicy: 'DROP',
  },
  {
    name: 'NFLOG goes on; a local or looped-back datagram is unicast to -m pkttype',
    rules: {
      filter: [
        '-A OUTPUT -j NFLOG --nflog-group 5 --nflog-prefix probe',
        '-A OUTPUT -m pkttype --pkt-type unicast -j ACCEPT',
        '-A INPUT -m pkttype ! --pkt-type unicast -j DROP',
      ],
    },
    outputPolicy: 'DROP',
  },
  {
    name: '! -o lo and -o l+',
    rules: { filter: ['-A OUTPUT ! -o lo -j DROP', '-A OUTPUT -o l+ -j ACCEPT'] },
    outputPolicy: 'DROP',
  },
  {
    // The sender runs as root: user 0, group 0.
    name: "owner: the sending socket is root's",
    rules: {
      filter: [
        '-A OUTPUT -m owner --uid-owner 1-65534 -j DROP',
        '-A OUTPUT -m owner --gid-owner 1000 --suppl-groups -j DROP',
        '-A OUTPUT -m owner --socket-exists --uid-owner 0 --gid-owner 0-10 -j ACCEPT',
      ],
    },
    outputPolicy: 'DROP',
  },
  {
    name: 'owner in POSTROUTING: ! --uid-owner 0 and ! --socket-exists do not match a local datagram',
    rules: {
      mangle: ['-A POSTROUTING -m owner ! --uid-owner 0 -j DROP', '-A POSTROUTING -m owner ! --socket-exists -j DROP'],
    },
  },
  {
    name: 'policy: no IPsec, so --pol none matches and --pol ipsec does not',
    rules: {
      filter: [
        '-A INPUT -m policy --dir in --pol ipsec -j DROP',
        '-A OUTPUT -m policy --dir out --pol ipsec --proto esp --mode tunnel --tunnel-dst 127.0.0.1 -j DROP',
        '-A OUTPUT -m policy --dir out --pol none -j ACCEPT',
      ],
    },
    outputPolicy: 'DROP',
  },
];

function dumpOf(c: Case): string {
  return rulesDump(c.rules, c.outputPolicy ? { 'filter/OUTPUT': c.outputPolicy } : {});
}

const SEND = `
import socket, select
rx = []
for port in (9, 10, 11):
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind(('0.0.0.0', port)); rx.append((port, r))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 40000))
try:
    s.sendto(b'x' * 20, ('127.0.0.1', 9))
except OSError:
    pass
ready, _, _ = select.select([r for _, r in rx], [], [], 0.5)
got = 'nothing arrived'
for port, r in rx:
    if r in ready:
        data, (host, sport) = r.recvfrom(100)
        got = 'arrived on %d from %s:%d' % (port, host, sport)
print(got)
`;

/** What the kernel did with the datagram, in the words knetsim's trace gives below. */
function kernelArrival(ns: Namespaces, c: Case): string {
  const name = ns.create('rules');
  for (const [dev, address] of [
    ['eth0', '192.168.0.2/24'],
    ['cni0', '10.244.1.1/24'],
  ] as const) {
    inNs(name, 'ip', ['link', 'add', dev, 'type', 'veth', 'peer', 'name', `${dev}p`]);
    inNs(name, 'ip', ['addr', 'add', address, 'dev', dev]);
    inNs(name, 'ip', ['link', 'set', dev, 'up']);
    inNs(name, 'ip', ['link', 'set', `${dev}p`, 'up']);
  }
  inNs(name, 'iptables-restore', [], dumpOf(c));
  return inNs(name, 'python3', ['-c', SEND]).trim();
}

function knetsimArrival(c: Case): string {
  const t = tracePacket(nodeFromRules(dumpOf(c)), {
    src: ip('127.0.0.1'),
    dst: ip('127.0.0.1'),
    protocol: 'udp',
    sport: 40000,
    dport: 9,
    length: 48,
    origin: { kind: 'local' },
  });
  if (t.outcome !== 'ACCEPT') return 'nothing arrived';
  const [, from, sport, port] = /^udp (\S+):(\d+) -> \S+:(\d+)$/.exec(t.branches[0]!.final) ?? [];
  return `arrived on ${port} from ${from}:${sport}`;
}

describe.skipIf(why !== null)('rules met by a local datagram: the kernel and knetsim agree', () => {
  const ns = new Namespaces();
  beforeAll(() => removeStale());
  afterAll(() => ns.cleanup());
  it.each(CASES)('$name', (c) => {
    try {
      expect(knetsimArrival(c)).toBe(kernelArrival(ns, c));
    } finally {
      ns.cleanup();
    }
  });
  it('-m statistic --mode nth counts packets: seven datagrams in a row, each a new connection', () => {
    // The kernel's counter starts at every - 1 - packet; knetsim's sampled packets run the same counter.
    for (const packet of [0, 1, 2]) {
      const rules = { filter: [`-A OUTPUT -p udp -m statistic --mode nth --every 3 --packet ${packet} -j DROP`] };
      const name = ns.create('rules');
      inNs(name, 'iptables-restore', [], rulesDump(rules));
      const SEND_SEVEN = `
import socket
out = ''
for i in range(7):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 40000 + i))
    try:
        s.sendto(b'x', ('127.0.0.1', 9)); out += 'S'
    except PermissionError:
        out += 'D'
print(out)
`;
      const kernel = inNs(name, 'python3', ['-c', SEND_SEVEN]).trim();
      ns.cleanup();
      const node = nodeFromRules(rulesDump(rules));
      const draw = seededRandom(1);
      let sim = '';
      for (let i = 0; i < 7; i++) {
        const t = tracePacket(node, {
          src: ip('127.0.0.1'),
          dst: ip('127.0.0.1'),
          protocol: 'udp',
          sport: 40000 + i,
          dport: 9,
          origin: { kind: 'local' },
          sample: draw,
        });
        sim += t.outcome === 'ACCEPT' ? 'S' : 'D';
      }
      expect(sim).toBe(kernel);
    }
  });
  it('the namespaces are gone', () => {
    expect(run('ip', ['netns', 'list']).stdout).not.toContain('-rules');
  });
});
