// ICMP packets through a node: the type and code stand where ports do; only a query
// (echo, timestamp, ...) opens a connection, and its reply is its counterpart type;
// NAT maps addresses only; the node answers an echo request delivered to it.
import { describe, expect, it } from 'vitest';
import { nodeFromDumps, samplePackets, type TraceResult, tracePacket } from '../../src/engine';
import {
  formatFlow,
  icmpCounterpart,
  invertTuple,
  isIcmpQuery,
  newEntry,
  parseConntrackList,
  vxlanSourcePort,
} from '../../src/net';
import { loadNftFile } from '../../src/nftables';
import { ip, nodeFromRules, trace } from '../helpers/node-from-rules';

/** An ICMP message from a pod behind cni0 (type, code where ports go). */
function ping(
  node: Parameters<typeof tracePacket>[0],
  to: string,
  type = 8,
  code = 0,
  from = '10.244.1.5',
): TraceResult {
  return trace(node, from, to, code, 'icmp', { sport: type });
}

const actions = (t: TraceResult, stage: string) => t.hops.filter((h) => h.stage === stage).map((h) => h.action);

describe('ICMP in conntrack', () => {
  it('the reply tuple of a query has its answer type; types without one keep theirs', () => {
    const request = { src: ip('10.0.0.1'), dst: ip('10.0.0.2'), protocol: 'icmp', sport: 8, dport: 0 } as const;
    expect(invertTuple(request)).toEqual({
      src: ip('10.0.0.2'),
      dst: ip('10.0.0.1'),
      protocol: 'icmp',
      sport: 0,
      dport: 0,
    });
    expect(invertTuple({ ...request, sport: 13 }).sport).toBe(14);
    expect(invertTuple({ ...request, sport: 3, dport: 3 })).toMatchObject({ sport: 3, dport: 3 });
    expect([8, 13, 15, 17].every(isIcmpQuery)).toBe(true);
    expect([0, 3, 5, 9, 11, 14].some(isIcmpQuery)).toBe(false);
    expect([0, 8, 14, 18].map((t) => icmpCounterpart(t))).toEqual([8, 0, 13, 17]);
  });

  it('prints type and code where ports go', () => {
    expect(formatFlow({ protocol: 'icmp', src: ip('10.0.0.1'), dst: ip('10.0.0.2'), sport: 8, dport: 0 })).toBe(
      'icmp 10.0.0.1 -> 10.0.0.2 type 8 code 0',
    );
    const e = newEntry({ src: ip('10.0.0.1'), dst: ip('10.0.0.2'), protocol: 'icmp', sport: 8, dport: 0 });
    expect(e.timeout).toBe(30);
  });

  it('a listing with a bad ICMP type says so', () => {
    expect(
      parseConntrackList(
        'icmp 1 29 src=1.1.1.1 dst=2.2.2.2 type=300 code=0 id=1 src=2.2.2.2 dst=1.1.1.1 type=0 code=0 id=1',
      ),
    ).toMatchObject({ ok: false, message: '"300" is not an ICMP type (type=)' });
  });

  it('VXLAN hashes no ports for ICMP: every message of a pair of pods leaves on one source port', () => {
    const inner = (sport: number, dport: number) =>
      ({
        src: ip('10.244.1.5'),
        dst: ip('10.244.2.7'),
        protocol: 'icmp',
        sport,
        dport,
        length: 84,
        tcpFlags: null,
        df: true,
        inner: null,
      }) as const;
    expect(vxlanSourcePort(inner(8, 0))).toBe(vxlanSourcePort(inner(3, 3)));
    const udp = { ...inner(8, 0), protocol: 'udp' } as const;
    expect(vxlanSourcePort({ ...udp, sport: 1000 })).not.toBe(vxlanSourcePort({ ...udp, sport: 1001 }));
  });
});

describe('an ICMP packet through the rules', () => {
  const FORWARD_ICMP = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD DROP [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    '-A FORWARD -m conntrack --ctstate INVALID -j LOG --log-prefix "invalid "',
    '-A FORWARD -m conntrack --ctstate INVALID -j DROP',
    '-A FORWARD -p icmp -m icmp --icmp-type echo-request -j ACCEPT',
    '-A FORWARD -p icmp -m icmp --icmp-type 3/3 -j ACCEPT',
    '-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT',
    'COMMIT',
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    '-A PREROUTING -d 10.96.0.1/32 -p icmp -j DNAT --to-destination 192.168.0.9',
    '-A POSTROUTING -s 10.244.0.0/16 -o eth0 -j MASQUERADE',
    'COMMIT',
    '',
  ].join('\n');

  it('an echo request is NEW and -m icmp reads its type; masquerading keeps its type and code', () => {
    const t = ping(nodeFromRules(FORWARD_ICMP), '8.8.8.8');
    expect(t.outcome).toBe('ACCEPT');
    expect(t.masquerade).toBe(true);
    expect(actions(t, 'conntrack')).toEqual([
      'new connection (ctstate NEW)',
      'new SNAT binding: source becomes 192.168.0.2',
      'connection confirmed',
    ]);
    expect(t.branches[0]!.final).toBe('icmp 192.168.0.2 -> 8.8.8.8 type 8 code 0');
    // The answer: an echo reply to the node's address, and to the pod once conntrack has undone the SNAT.
    expect(t.branches[0]!.reply).toEqual({
      sent: 'icmp 8.8.8.8 -> 192.168.0.2 type 0 code 0',
      received: 'icmp 8.8.8.8 -> 10.244.1.5 type 0 code 0',
    });
  });

  it('an error or an answer with nothing before it belongs to no connection: INVALID, and nat is skipped', () => {
    for (const [type, code] of [
      [0, 0],
      [3, 3],
      [11, 0],
    ] as const) {
      const t = ping(nodeFromRules(FORWARD_ICMP), '8.8.8.8', type, code);
      expect(t.outcome).toBe('DROP');
      expect(t.masquerade).toBe(false);
      expect(actions(t, 'conntrack')[0]).toMatch(/^no connection: ICMP type \d+ cannot open one/);
    }
  });

  it('DNAT of ICMP changes the address only; the endpoint has no port', () => {
    const t = ping(nodeFromRules(FORWARD_ICMP), '10.96.0.1');
    expect(t.endpoints).toEqual([{ address: '192.168.0.9', probability: 1 }]);
    expect(t.branches[0]!.final).toBe('icmp 192.168.0.2 -> 192.168.0.9 type 8 code 0');
    expect(t.branches[0]!.reply?.received).toBe('icmp 10.96.0.1 -> 10.244.1.5 type 0 code 0');
  });

  it('a later echo reply finds the connection: conntrack undoes the NAT on it, type and code untouched', () => {
    const node = nodeFromRules(FORWARD_ICMP);
    const request = { src: ip('10.244.1.5'), dst: ip('10.96.0.1'), protocol: 'icmp', sport: 8, dport: 0 } as const;
    const first = tracePacket(node, { ...request, origin: { kind: 'interface', iface: 'cni0' }, commit: true });
    expect(first.outcome).toBe('ACCEPT');
    const reply = tracePacket(node, {
      src: ip('192.168.0.9'),
      dst: ip('192.168.0.2'),
      protocol: 'icmp',
      sport: 0,
      dport: 0,
      origin: { kind: 'interface', iface: 'eth0' },
    });
    expect(actions(reply, 'conntrack')).toEqual([
      'existing connection (reply direction)',
      "destination rewritten to 10.244.1.5 by the connection's NAT",
      "source rewritten to 10.96.0.1 by the connection's NAT",
    ]);
    expect(reply.branches[0]!.final).toBe('icmp 10.96.0.1 -> 10.244.1.5 type 0 code 0');
  });

  it('an echo request to the node is answered by the kernel itself', () => {
    const t = ping(nodeFromRules(FORWARD_ICMP), '192.168.0.2');
    expect(t.outcome).toBe('ACCEPT');
    expect(t.hops.at(-1)?.action).toBe(
      'delivered to 192.168.0.2: the kernel answers the echo request itself (echo reply from 192.168.0.2)',
    );
    const other = ping(nodeFromRules(FORWARD_ICMP), '192.168.0.2', 3, 3);
    expect(other.hops.at(-1)?.action).toBe(
      'delivered to 192.168.0.2: ICMP type 3 code 3, handled by the kernel (no reply)',
    );
  });

  it('sampled pings keep their type and code (sampled TCP/UDP connections take new source ports)', () => {
    const s = samplePackets(
      nodeFromRules(FORWARD_ICMP),
      {
        src: ip('10.244.1.5'),
        dst: ip('8.8.8.8'),
        protocol: 'icmp',
        sport: 8,
        dport: 0,
        origin: { kind: 'interface', iface: 'cni0' },
      },
      20,
    );
    expect([s.outcomes, s.masqueraded]).toEqual([{ ACCEPT: 20 }, 20]);
  });

  it('tcp/udp port rules do not catch ICMP (a kube-proxy ClusterIP rule)', () => {
    const node = nodeFromRules(
      [
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        '-A PREROUTING -d 10.96.0.10/32 -p tcp -m tcp --dport 53 -j DNAT --to-destination 10.244.2.3:53',
        '-A PREROUTING -d 10.96.0.10/32 -p udp -m udp --dport 53 -j DNAT --to-destination 10.244.2.3:53',
        'COMMIT',
        '',
      ].join('\n'),
    );
    const t = ping(node, '10.96.0.10');
    expect(t.endpoints).toEqual([]);
    expect(t.cost.rulesEvaluated).toBe(2);
  });
});

describe('nft matches ICMP type and code', () => {
  const node = () => {
    const built = nodeFromDumps({
      nft: {
        text: [
          'table inet filter {',
          '  chain forward {',
          '    type filter hook forward priority 0; policy accept;',
          '    icmp type echo-request icmp code 0 drop',
          '    icmp type { destination-unreachable, time-exceeded } icmp code port-unreachable accept',
          '    meta l4proto icmp counter reject',
          '  }',
          '}',
        ].join('\n'),
        file: 'test.nft',
      },
      nodeAddresses: [ip('192.168.0.2')],
    });
    if (!built.ok) throw new Error(built.message);
    return built.node;
  };
  it('by names and in sets', () => {
    expect(ping(node(), '8.8.8.8').outcome).toBe('DROP');
    expect(ping(node(), '8.8.8.8', 3, 3).outcome).toBe('ACCEPT');
    expect(ping(node(), '8.8.8.8', 3, 1).outcome).toBe('REJECT');
    expect(ping(node(), '8.8.8.8', 13, 0).outcome).toBe('REJECT');
    // A UDP datagram has no ICMP header: every icmp test fails, meta l4proto too.
    expect(trace(node(), '10.244.1.5', '8.8.8.8', 53, 'udp').outcome).toBe('ACCEPT');
  });
  it('a value that is no ICMP type is refused when the ruleset loads', () => {
    const loaded = loadNftFile(
      'table ip t {\n  chain c {\n    type filter hook forward priority 0;\n    icmp type echo-bogus drop\n  }\n}\n',
      'bad.nft',
    );
    expect(loaded.ok).toBe(false);
    if (!loaded.ok) expect(loaded.message).toContain('"echo-bogus" is not an ICMP type (0-255 or a name)');
  });
});
