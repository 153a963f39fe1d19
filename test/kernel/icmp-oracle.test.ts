// ICMP through a node, the kernel against knetsim: a client namespace behind the node's
// cni0 (10.244.1.5) sends one ICMP message (a ping by default) on a raw socket; the node
// forwards it out of eth0 (192.168.0.2/24) to a server at 192.168.0.9, or takes it itself.
// Raw ICMP sockets in the server and the node say where it arrived, as what, from whom;
// the client's says what came back (an echo reply its kernel answered, an error a REJECT
// sent). knetsim traces the same message on the same rules and, when it was delivered, the
// answer the far kernel sends (a query's counterpart) back through the node's conntrack.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TraceResult, tracePacket } from '../../src/engine';
import { icmpAnswerOf } from '../../src/net';
import { loadNftFile } from '../../src/nftables';
import { ip, nodeFromRules } from '../helpers/node-from-rules';
import { kernelGate } from './kernel-gate';
import { inNs, must, Namespaces, removeStale, vethToPeer } from './netns';
import { type CaseRules, rulesDump } from './rules-dump';

const why = kernelGate('ICMP oracle');

interface Case {
  readonly name: string;
  readonly to: string;
  /** The ICMP type and code sent (default an echo request, 8/0). */
  readonly type?: number;
  readonly code?: number;
  readonly rules: CaseRules;
  readonly forwardPolicy?: 'ACCEPT' | 'DROP';
  /** An nftables ruleset loaded beside the iptables rules. */
  readonly nft?: string;
  /** What the case is built to show, checked against the kernel so that it cannot pass by both losing the message. */
  readonly arrives: boolean;
  readonly answered?: boolean;
}

const CLIENT = '10.244.1.5';
const SERVER = '192.168.0.9';
const NODE = '192.168.0.2';

const CASES: readonly Case[] = [
  { name: 'an echo request forwarded and answered', to: SERVER, rules: {}, arrives: true, answered: true },
  {
    name: '-m icmp --icmp-type echo-request DROP',
    to: SERVER,
    rules: { filter: ['-A FORWARD -p icmp -m icmp --icmp-type echo-request -j DROP'] },
    arrives: false,
  },
  {
    name: 'an echo request is NEW, its answer ESTABLISHED (FORWARD policy DROP)',
    to: SERVER,
    rules: {
      filter: [
        '-A FORWARD -p icmp -m conntrack --ctstate NEW -m icmp --icmp-type 8 -j ACCEPT',
        '-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT',
      ],
    },
    forwardPolicy: 'DROP',
    arrives: true,
    answered: true,
  },
  {
    name: 'the answer of a request let through by its type alone is dropped (FORWARD policy DROP)',
    to: SERVER,
    rules: { filter: ['-A FORWARD -p icmp -m icmp --icmp-type echo-request -j ACCEPT'] },
    forwardPolicy: 'DROP',
    arrives: true,
    answered: false,
  },
  {
    name: 'a timestamp request is NEW and answered',
    to: SERVER,
    type: 13,
    rules: {
      filter: ['-A FORWARD -m conntrack --ctstate NEW -p icmp -m icmp ! --icmp-type timestamp-request -j DROP'],
    },
    arrives: true,
    answered: true,
  },
  {
    name: 'an echo reply with no request before it is INVALID',
    to: SERVER,
    type: 0,
    rules: { filter: ['-A FORWARD -m conntrack --ctstate INVALID -j DROP'] },
    arrives: false,
  },
  {
    name: 'an echo reply with no request is not NEW either',
    to: SERVER,
    type: 0,
    rules: { filter: ['-A FORWARD -m conntrack --ctstate NEW,ESTABLISHED,RELATED -j DROP'] },
    arrives: true,
  },
  {
    name: 'a port unreachable quoting no connection is INVALID, and -m icmp reads type/code',
    to: SERVER,
    type: 3,
    code: 3,
    rules: {
      mangle: ['-A FORWARD -p icmp -m icmp --icmp-type port-unreachable -j MARK --set-mark 1'],
      filter: ['-A FORWARD -m mark --mark 1 -m conntrack --ctstate INVALID -j ACCEPT', '-A FORWARD -j DROP'],
    },
    arrives: true,
  },
  {
    name: 'a router advertisement cannot open a connection: INVALID',
    to: SERVER,
    type: 9,
    rules: { filter: ['-A FORWARD -m conntrack --ctstate INVALID -j DROP'] },
    arrives: false,
  },
  {
    name: 'nat is not consulted for an INVALID message',
    to: SERVER,
    type: 3,
    code: 1,
    rules: { nat: ['-A POSTROUTING -o eth0 -j MASQUERADE'] },
    arrives: true,
  },
  {
    name: 'MASQUERADE: the server sees the node, the answer comes back to the client',
    to: SERVER,
    rules: { nat: ['-A POSTROUTING -o eth0 -j MASQUERADE'] },
    arrives: true,
    answered: true,
  },
  {
    name: 'DNAT of an echo request to another address',
    to: '192.168.0.77',
    rules: { nat: ['-A PREROUTING -d 192.168.0.77 -p icmp -j DNAT --to-destination 192.168.0.20'] },
    arrives: true,
    answered: true,
  },
  {
    name: 'a tcp port DNAT does not catch ICMP (a kube-proxy ClusterIP rule)',
    to: SERVER,
    rules: {
      nat: ['-A PREROUTING -d 192.168.0.9 -p tcp -m tcp --dport 80 -j DNAT --to-destination 192.168.0.20:8080'],
    },
    arrives: true,
    answered: true,
  },
  {
    name: 'an echo request to the node: INPUT, and the node answers',
    to: NODE,
    rules: { filter: ['-A INPUT -p udp -j DROP'] },
    arrives: true,
    answered: true,
  },
  {
    name: "the node's answer passes its OUTPUT rules",
    to: NODE,
    rules: { filter: ['-A OUTPUT -p icmp -m icmp --icmp-type echo-reply -j DROP'] },
    arrives: true,
    answered: false,
  },
  {
    name: 'REJECT an echo request: port unreachable to the client',
    to: SERVER,
    rules: { filter: ['-A FORWARD -p icmp -j REJECT'] },
    arrives: false,
  },
  {
    name: 'REJECT --reject-with icmp-host-prohibited',
    to: SERVER,
    rules: { filter: ['-A FORWARD -p icmp -j REJECT --reject-with icmp-host-prohibited'] },
    arrives: false,
  },
  {
    name: 'nft: icmp type and code by name, in a set',
    to: SERVER,
    type: 11,
    rules: {},
    nft: 'table ip knet {\n  chain forward_rules {\n    type filter hook forward priority 0; policy accept;\n    icmp type echo-request drop\n    icmp type { time-exceeded, parameter-problem } icmp code 0 meta mark set 7\n    meta mark != 7 drop\n  }\n}\n',
    arrives: true,
  },
  {
    name: 'nft: icmp type echo-request drop',
    to: SERVER,
    rules: {},
    nft: 'table ip knet {\n  chain forward_rules {\n    type filter hook forward priority 0; policy accept;\n    icmp type echo-request icmp code net-unreachable drop\n  }\n}\n',
    arrives: false,
  },
];

function typeOf(c: Case): number {
  return c.type ?? 8;
}

function dumpOf(c: Case): string {
  return rulesDump(c.rules, c.forwardPolicy ? { 'filter/FORWARD': c.forwardPolicy } : {});
}

// Prints the first ICMP message this host receives: where, to and from whom, type and code.
// It makes the file argv[2] once its socket listens, so the sender need not guess how long
// python takes to start; it listens until the sender is done (the file argv[3] exists), so a
// slow start of the sender under a busy suite cannot outlast its window (10 s at most). Each line is
// one write: the processes share the pipe, and with PYTHONUNBUFFERED print writes a line's end apart.
const LISTEN_SCRIPT = `
import os, socket, select, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
open(sys.argv[2], 'w').close()
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    # The sender's done flag is read before waiting, so a message queued by then is still read.
    done = os.path.exists(sys.argv[3])
    if select.select([s], [], [], 0.2 if done else 0.05)[0]:
        data, (host, _) = s.recvfrom(2048)
        ihl = (data[0] & 15) * 4
        sys.stdout.write('arrived at %s %s from %s type %d code %d\\n' % (sys.argv[1], socket.inet_ntoa(data[16:20]), host, data[ihl], data[ihl + 1]))
        break
    if done:
        break
`;

// Sends one ICMP message (type, code; identifier 0x1234, 56 bytes of data) and prints what comes back in 1 s.
const SEND_SCRIPT = `
import socket, select, struct, sys
def checksum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff
src, dst, kind, code = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.bind((src, 0))
msg = struct.pack('!BBHHH', kind, code, 0, 0x1234, 1) + b'x' * 56
msg = msg[:2] + struct.pack('!H', checksum(msg)) + msg[4:]
try:
    s.sendto(msg, (dst, 0))
except OSError:
    pass
if select.select([s], [], [], 1.0)[0]:
    data, (host, _) = s.recvfrom(2048)
    ihl = (data[0] & 15) * 4
    sys.stdout.write('client got type %d code %d\\n' % (data[ihl], data[ihl + 1]))
`;

let scripts = { dir: '', listen: '', send: '' };

function writeScripts(): void {
  const dir = mkdtempSync(join(tmpdir(), 'knetsim-icmp-'));
  scripts = { dir, listen: join(dir, 'listen.py'), send: join(dir, 'send.py') };
  writeFileSync(scripts.listen, LISTEN_SCRIPT);
  writeFileSync(scripts.send, SEND_SCRIPT);
}

/** Builds client, node and server, loads the rules in the node, sends; where the message arrived and what came back. */
function kernelView(ns: Namespaces, c: Case): string[] {
  const node = ns.create('icmpnode');
  const client = ns.create('icmpclient');
  const server = ns.create('icmpserver');
  vethToPeer(node, 'cni0', '10.244.1.1/24', client, { peerAddress: `${CLIENT}/24`, gateway: '10.244.1.1' });
  vethToPeer(node, 'eth0', `${NODE}/24`, server, { peerAddress: `${SERVER}/24`, gateway: NODE });
  inNs(server, 'ip', ['addr', 'add', '192.168.0.20/32', 'dev', 'peer0']);
  inNs(node, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  // The kernel's ICMP rate limit would hold back a second error or answer within a second; none here.
  for (const n of [node, server]) inNs(n, 'sysctl', ['-qw', 'net.ipv4.icmp_ratelimit=0']);
  inNs(node, 'iptables-restore', [], dumpOf(c));
  if (c.nft) inNs(node, 'nft', ['-f', '-'], c.nft);
  const out = must('sh', [
    '-c',
    `rm -f ${scripts.dir}/ready-* ${scripts.dir}/sent; ` +
      `ip netns exec ${node} python3 ${scripts.listen} node ${scripts.dir}/ready-node ${scripts.dir}/sent & ` +
      `ip netns exec ${server} python3 ${scripts.listen} server ${scripts.dir}/ready-server ${scripts.dir}/sent & ` +
      `while [ ! -e ${scripts.dir}/ready-node ] || [ ! -e ${scripts.dir}/ready-server ]; do sleep 0.02; done; ` +
      `ip netns exec ${client} python3 ${scripts.send} ${CLIENT} ${c.to} ${typeOf(c)} ${c.code ?? 0}; ` +
      `touch ${scripts.dir}/sent; wait`,
  ]);
  const lines = out.split('\n');
  return [
    lines.find((x) => x.startsWith('arrived')) ?? 'nothing arrived',
    lines.find((x) => x.startsWith('client got')) ?? 'client got nothing',
  ];
}

const REJECT_CODES: Readonly<Record<string, number>> = {
  'icmp-net-unreachable': 0,
  'icmp-host-unreachable': 1,
  'icmp-port-unreachable': 3,
  'icmp-proto-unreachable': 2,
  'icmp-net-prohibited': 9,
  'icmp-host-prohibited': 10,
  'icmp-admin-prohibited': 13,
};

/** The parts of an ICMP flow as a trace prints it: "icmp SRC -> DST type T code C". */
function icmpFlow(text: string): { from: string; to: string; type: number; code: number } {
  const m = /^icmp (\S+) -> (\S+) type (\d+) code (\d+)$/.exec(text);
  if (!m) throw new Error(`not an ICMP flow: ${text}`);
  return { from: m[1]!, to: m[2]!, type: Number(m[3]), code: Number(m[4]) };
}

function knetsimView(c: Case): string[] {
  const base = nodeFromRules(dumpOf(c));
  const nft = c.nft === undefined ? null : loadNftFile(c.nft, 'case');
  if (nft && !nft.ok) throw new Error(nft.message);
  const node = nft ? { ...base, nft: nft.value } : base;
  const t = tracePacket(node, {
    src: ip(CLIENT),
    dst: ip(c.to),
    protocol: 'icmp',
    sport: typeOf(c),
    dport: c.code ?? 0,
    origin: { kind: 'interface', iface: 'cni0' },
    commit: true,
  });
  if (t.outcome === 'REJECT') {
    const hop = t.hops.find((h) => h.action.startsWith('REJECT'));
    const code = REJECT_CODES[/with (\S+)/.exec(hop?.action ?? '')?.[1] ?? 'icmp-port-unreachable'];
    return ['nothing arrived', `client got type 3 code ${code}`];
  }
  if (t.outcome !== 'ACCEPT') return ['nothing arrived', 'client got nothing'];
  const b = t.branches[0]!;
  const f = icmpFlow(b.final);
  const arrival = `arrived at ${b.exit === null ? 'node' : 'server'} ${f.to} from ${f.from} type ${f.type} code ${f.code}`;
  return [arrival, answer(node, t, b.exit === null)];
}

/** The far kernel's answer to a delivered query (echo, timestamp), traced back through the node. */
function answer(node: Parameters<typeof tracePacket>[0], t: TraceResult, atNode: boolean): string {
  const f = icmpFlow(t.branches[0]!.final);
  const answered = icmpAnswerOf(f.type);
  if (answered === undefined) return 'client got nothing';
  const back = tracePacket(node, {
    src: ip(f.to),
    dst: ip(f.from),
    protocol: 'icmp',
    sport: answered,
    dport: f.code,
    origin: atNode ? { kind: 'local' } : { kind: 'interface', iface: 'eth0' },
  });
  const reached = icmpFlow(back.branches[0]!.final);
  return back.outcome === 'ACCEPT' && reached.to === CLIENT
    ? `client got type ${reached.type} code ${reached.code}`
    : 'client got nothing';
}

describe.skipIf(why !== null)('ICMP through a node: the kernel and knetsim agree', () => {
  const ns = new Namespaces();
  beforeAll(() => {
    removeStale();
    writeScripts();
  });
  afterAll(() => {
    ns.cleanup();
    rmSync(scripts.dir, { recursive: true, force: true });
  });
  it.each(CASES)('$name', (c) => {
    try {
      const kernel = kernelView(ns, c);
      expect(kernel[0]!.startsWith('arrived')).toBe(c.arrives);
      if (c.answered !== undefined) expect(kernel[1] !== 'client got nothing').toBe(c.answered);
      expect(knetsimView(c)).toEqual(kernel);
    } finally {
      ns.cleanup();
    }
  });
});
