// -m socket's answers for the sockets knetsim knows of: the one TPROXY assigned, the
// local end of an established connection (a reply to one the node opened, SNATed or
// not, or a packet of one it accepted), and a listener on a local destination (taken
// as bound to the wildcard address). The kernel's wildcard and transparent checks
// then apply (test/kernel/tproxy-oracle checks the listener case and TPROXY).
import { describe, expect, it } from 'vitest';
import type { ConnTuple } from '../../src/net';
import type { MatchEnv, NfPacket, PacketConntrack } from '../../src/netfilter';
import { socketMatch } from '../../src/netfilter/matches/socket-match';
import { ip } from '../helpers/node-from-rules';

const NODE = ip('192.168.0.2');

const env = {
  hook: 'PREROUTING',
  table: 'mangle',
  now: 0,
  clock: null,
  addrType: (a: number) => (a === NODE ? 'LOCAL' : 'UNICAST'),
  setTest: () => false,
  hasSet: () => false,
  routeTo: () => null,
} as MatchEnv;

function tuple(src: string, sport: number, dst: string, dport: number): ConnTuple {
  return { src: ip(src), sport, dst: ip(dst), dport, protocol: 'tcp' };
}

function packet(src: string, dst: string, extra: Partial<NfPacket> = {}): NfPacket {
  return {
    src: ip(src),
    dst: ip(dst),
    protocol: 'tcp',
    sport: 40000,
    dport: 443,
    length: 60,
    tcpFlags: null,
    fragment: false,
    ttl: 64,
    tos: 0,
    inIface: 'eth0',
    outIface: null,
    physIn: null,
    physOut: null,
    mark: 0x55,
    ct: null,
    ipvs: null,
    ...extra,
  };
}

function established(direction: 'ORIGINAL' | 'REPLY', original: ConnTuple, reply: ConnTuple): PacketConntrack {
  return { state: 'ESTABLISHED', direction, original, reply, seenReply: true, assured: true, confirmed: true, mark: 0 };
}

function matches(options: string[], p: NfPacket): boolean {
  const compiled = socketMatch.compile(
    options.map((name) => ({ name, negated: false, args: [] })),
    { protocol: 'tcp', table: 'mangle', portsAllowed: true },
  );
  if (typeof compiled === 'string') throw new Error(compiled);
  const passed = compiled.test!(p, env, { recent: new Map(), nfacct: new Map(), setEdits: [] });
  if (passed) compiled.effect?.(p, env, { recent: new Map(), nfacct: new Map(), setEdits: [] });
  return passed;
}

describe('-m socket', () => {
  it('a new connection through the node has no local socket', () => {
    expect(matches([], packet('10.244.1.5', '8.8.8.8'))).toBe(false);
    expect(matches(['--nowildcard'], packet('10.244.1.5', '8.8.8.8'))).toBe(false);
  });

  it('a new connection to the node meets a listener on the wildcard address: only --nowildcard takes it', () => {
    expect(matches([], packet('203.0.113.9', '192.168.0.2'))).toBe(false);
    expect(matches(['--nowildcard'], packet('203.0.113.9', '192.168.0.2'))).toBe(true);
    expect(matches(['--nowildcard', '--transparent'], packet('203.0.113.9', '192.168.0.2'))).toBe(false);
  });

  it('the reply to a connection the node opened meets its socket, also when the node SNATed it', () => {
    const original = tuple('192.168.0.2', 40000, '8.8.8.8', 443);
    const reply = packet('8.8.8.8', '192.168.0.2', {
      sport: 443,
      dport: 40000,
      ct: established('REPLY', original, tuple('8.8.8.8', 443, '192.168.0.2', 40000)),
    });
    expect(matches([], reply)).toBe(true);
    expect(matches(['--transparent'], reply)).toBe(false);
    // A pod's connection the node masqueraded: the original source is the pod's, so no socket here.
    const podOriginal = tuple('10.244.1.5', 40000, '8.8.8.8', 443);
    const masqueraded = packet('8.8.8.8', '192.168.0.2', {
      sport: 443,
      dport: 61000,
      ct: established('REPLY', podOriginal, tuple('8.8.8.8', 443, '192.168.0.2', 61000)),
    });
    expect(matches([], masqueraded)).toBe(false);
  });

  it("TPROXY's socket: transparent; bound to 0.0.0.0 it is a wildcard one", () => {
    const bound = packet('10.244.1.5', '10.96.0.10', { assignedSocket: { address: ip('127.0.0.1'), port: 15001 } });
    expect(matches(['--transparent'], bound)).toBe(true);
    const any = packet('10.244.1.5', '10.96.0.10', { assignedSocket: { address: 0, port: 15001 } });
    expect(matches(['--transparent'], any)).toBe(false);
    expect(matches(['--transparent', '--nowildcard'], any)).toBe(true);
  });

  it("--restore-skmark copies the socket's mark (none on knetsim's sockets) when it matches", () => {
    const p = packet('10.244.1.5', '10.96.0.10', { assignedSocket: { address: ip('127.0.0.1'), port: 15001 } });
    expect(matches(['--transparent', '--restore-skmark'], p)).toBe(true);
    expect(p.mark).toBe(0);
    const q = packet('10.244.1.5', '8.8.8.8');
    expect(matches(['--restore-skmark'], q)).toBe(false);
    expect(q.mark).toBe(0x55);
  });

  it('SCTP and ICMP packets have no socket for it', () => {
    expect(matches(['--nowildcard'], packet('203.0.113.9', '192.168.0.2', { protocol: 'sctp' }))).toBe(false);
  });
});
