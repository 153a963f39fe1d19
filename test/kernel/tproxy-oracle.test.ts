// TPROXY and -m socket against the kernel. A node namespace between a client
// (10.0.1.5 behind r0) and a sink (behind e0, the default route) hands UDP to
// port 53 to a transparent proxy socket on 127.0.0.1:14938 with TPROXY, as
// Cilium's DNS proxy does. With the fwmark rule to a `local default` table the
// proxy gets the datagram; without it the kernel forwards nothing (ip_forward
// drops a packet that has a socket). knetsim reads the namespace's own
// iptables-save, ip route and ip rule dumps and must say the same. And -m socket
// on a datagram to a listener bound to 0.0.0.0: passed over unless --nowildcard.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeFromDumps, type TraceResult, tracePacket } from '../../src/engine';
import { ip } from '../helpers/node-from-rules';
import { kernelGate } from './kernel-gate';
import { inNs, Namespaces, removeStale, run } from './netns';

const why = kernelGate('TPROXY oracle', ['ip', 'iptables-restore', 'iptables-save', 'python3']);

const RULES = `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:CILIUM_PRE_mangle - [0:0]
-A PREROUTING -m comment --comment "cilium-feeder: CILIUM_PRE_mangle" -j CILIUM_PRE_mangle
-A CILIUM_PRE_mangle -p udp -m udp --dport 53 -m comment --comment "cilium: TPROXY to host cilium-dns-egress proxy" -j TPROXY --on-port 14938 --on-ip 127.0.0.1 --tproxy-mark 0x200/0xffffffff
-A INPUT -p udp -m udp --dport 9 -m socket -j MARK --set-xmark 0x1/0x1
-A INPUT -p udp -m udp --dport 9 -m socket --nowildcard -j MARK --set-xmark 0x2/0x2
-A FORWARD -p udp -m udp --dport 53
COMMIT
`;

/** A transparent UDP socket on 127.0.0.1:14938 and a plain one on 0.0.0.0:9: what each received. */
const LISTEN = `
import socket, select, sys
t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t.setsockopt(socket.SOL_IP, 19, 1)  # IP_TRANSPARENT
t.bind(('127.0.0.1', 14938))
w = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
w.bind(('0.0.0.0', 9))
print('ready', flush=True)
got = set()
end = __import__('time').time() + 3
while len(got) < 2 and __import__('time').time() < end:
    r, _, _ = select.select([t, w], [], [], 0.2)
    for s in r:
        s.recv(100)
        got.add('proxy' if s is t else 'port9')
print(' '.join(sorted(got)))
`;

const SEND = `
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('10.0.1.5', 40000))
s.sendto(b'q', ('10.96.0.10', 53))
s.sendto(b'q', ('10.0.1.1', 9))
`;

interface KernelRun {
  readonly received: string;
  /** Packet counts of the mangle rules as iptables-save lists them: INPUT's two, FORWARD's, then TPROXY's. */
  readonly counts: readonly number[];
  readonly dumps: { readonly rules: string; readonly routes: string; readonly ipRules: string };
}

function kernelRun(ns: Namespaces, policyRouting: boolean): KernelRun {
  const node = ns.create('tproxy');
  const client = ns.create('client');
  const sink = ns.create('sink');
  inNs(node, 'ip', ['link', 'add', 'r0', 'type', 'veth', 'peer', 'name', 'c0', 'netns', client]);
  inNs(node, 'ip', ['link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 's0', 'netns', sink]);
  inNs(node, 'ip', ['addr', 'add', '10.0.1.1/24', 'dev', 'r0']);
  inNs(node, 'ip', ['addr', 'add', '192.168.1.10/24', 'dev', 'e0']);
  for (const dev of ['r0', 'e0']) inNs(node, 'ip', ['link', 'set', dev, 'up']);
  inNs(client, 'ip', ['addr', 'add', '10.0.1.5/24', 'dev', 'c0']);
  inNs(client, 'ip', ['link', 'set', 'c0', 'up']);
  inNs(client, 'ip', ['route', 'add', 'default', 'via', '10.0.1.1']);
  inNs(sink, 'ip', ['addr', 'add', '192.168.1.2/24', 'dev', 's0']);
  inNs(sink, 'ip', ['link', 'set', 's0', 'up']);
  inNs(node, 'ip', ['route', 'add', 'default', 'via', '192.168.1.2', 'dev', 'e0']);
  inNs(node, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  if (policyRouting) {
    inNs(node, 'ip', ['rule', 'add', 'pref', '9', 'fwmark', '0x200/0xf00', 'lookup', '2004']);
    inNs(node, 'ip', ['route', 'add', 'local', 'default', 'dev', 'lo', 'table', '2004']);
  }
  inNs(node, 'iptables-restore', [], RULES);
  // The listener runs while the client sends (ip netns exec in the background through sh).
  const out = `/tmp/${node}.out`;
  run('sh', ['-c', `ip netns exec ${node} python3 -c "$1" > ${out} 2>&1 &`, 'sh', LISTEN]);
  for (let i = 0; i < 50 && !run('cat', [out]).stdout.includes('ready'); i++) run('sleep', ['0.1']);
  inNs(client, 'python3', ['-c', SEND]);
  for (let i = 0; i < 40 && run('cat', [out]).stdout.trim().split('\n').length < 2; i++) run('sleep', ['0.1']);
  const received = run('cat', [out]).stdout.trim().split('\n').slice(1).join(' ');
  run('rm', ['-f', out]);
  const saved = inNs(node, 'iptables-save', ['-c', '-t', 'mangle']);
  const counts = saved
    .split('\n')
    .filter((l) => /^\[\d+:\d+\] -A (CILIUM_PRE_mangle|INPUT|FORWARD) /.test(l))
    .map((l) => Number(/^\[(\d+):/.exec(l)![1]));
  return {
    received,
    counts,
    dumps: {
      rules: inNs(node, 'iptables-save', []),
      routes: inNs(node, 'ip', ['route', 'show', 'table', 'all']),
      ipRules: inNs(node, 'ip', ['rule', 'show']),
    },
  };
}

function knetsimTrace(dumps: KernelRun['dumps'], dst: string, dport: number): TraceResult {
  const built = nodeFromDumps({
    iptables: { text: dumps.rules, file: 'iptables-save' },
    routes: { text: dumps.routes, file: 'routes' },
    ipRules: { text: dumps.ipRules, file: 'rules' },
  });
  if (!built.ok) throw new Error(built.message);
  return tracePacket(built.node, {
    src: ip('10.0.1.5'),
    dst: ip(dst),
    protocol: 'udp',
    sport: 40000,
    dport,
    origin: { kind: 'interface', iface: 'r0' },
  });
}

/** The rules of a trace that matched, by their text, for comparing with the kernel's counters. */
function matchedRules(t: TraceResult): string[] {
  return t.hops.flatMap((h) => ('rule' in h && h.rule ? [h.rule] : []));
}

describe.skipIf(why !== null)('TPROXY and -m socket: the kernel and knetsim agree', () => {
  const ns = new Namespaces();
  beforeAll(() => removeStale());
  afterAll(() => ns.cleanup());

  it('with a fwmark rule to a local table, the transparent proxy gets the datagram', () => {
    const k = kernelRun(ns, true);
    expect(k.received).toBe('port9 proxy');
    // At port 9 only the --nowildcard rule matched; FORWARD saw nothing; TPROXY matched once.
    expect(k.counts).toEqual([0, 1, 0, 1]);
    const toProxy = knetsimTrace(k.dumps, '10.96.0.10', 53);
    expect(toProxy.branches.map((b) => [b.outcome, b.disposition])).toEqual([
      [
        'ACCEPT',
        "delivered to the transparent proxy's socket on 127.0.0.1:14938 (TPROXY; the packet keeps its destination 10.96.0.10:53)",
      ],
    ]);
    const toPort9 = knetsimTrace(k.dumps, '10.0.1.1', 9);
    expect(toPort9.outcome).toBe('ACCEPT');
    expect(matchedRules(toPort9)).toEqual([
      '-A PREROUTING -m comment --comment "cilium-feeder: CILIUM_PRE_mangle" -j CILIUM_PRE_mangle',
      '-A INPUT -p udp -m udp --dport 9 -m socket --nowildcard -j MARK --set-xmark 0x2/0x2',
    ]);
    ns.cleanup();
  });

  it('without it, the packet TPROXY gave a socket is not forwarded', () => {
    const k = kernelRun(ns, false);
    expect(k.received).toBe('port9');
    expect(k.counts).toEqual([0, 1, 0, 1]);
    const t = knetsimTrace(k.dumps, '10.96.0.10', 53);
    expect(t.branches.map((b) => b.outcome)).toEqual(['DROP']);
    expect(t.branches[0]!.disposition).toContain('ip_forward drops');
    ns.cleanup();
  });
});
