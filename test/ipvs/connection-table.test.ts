import { describe, expect, it } from 'vitest';
import {
  addService,
  createIpvsTable,
  deleteServer,
  type IpvsTable,
  ipvsLookup,
  ipvsReply,
  makeVirtualService,
  schedule,
  serviceKey,
  TCP_TIMEOUTS,
  UDP_TIMEOUT,
} from '../../src/ipvs/index';
import { ACK, SYN } from '../../src/net/index';
import { ip, srv } from './servers';

const FIN_ACK = { ...ACK, fin: true };

function table(spec: Parameters<typeof makeVirtualService>[0]): IpvsTable {
  const t = createIpvsTable();
  const added = addService(t, makeVirtualService(spec));
  if (!added.ok) throw new Error(added.error);
  return t;
}

const VIP = ip('10.96.0.10');
const servers = () => [srv('10.244.0.1'), srv('10.244.0.2')];
const service = (t: IpvsTable) => [...t.services.values()][0]!.service;
const counts = (t: IpvsTable) => service(t).servers.map((s) => [s.activeConns, s.inactConns, s.persistConns]);

const tcp = (src: string, sport: number, flags = SYN) => ({
  protocol: 'tcp' as const,
  src: ip(src),
  sport,
  dst: VIP,
  dport: 80,
  tcpFlags: flags,
});

describe('ipvsLookup', () => {
  it('finds a service by protocol, address and port and counts the probes', () => {
    const t = table({ protocol: 'tcp', address: VIP, port: 80, scheduler: 'rr', servers: servers() });
    expect(ipvsLookup(t, { protocol: 'tcp', dst: VIP, dport: 80 })?.port).toBe(80);
    expect(ipvsLookup(t, { protocol: 'udp', dst: VIP, dport: 80 })).toBeNull();
    expect(t.stats.serviceLookups).toBe(2);
  });
});

describe('connection table', () => {
  it('creates an entry on the SYN (inactive, SYN_RECV, 60 s) and reuses it', () => {
    const t = table({ protocol: 'tcp', address: VIP, port: 80, scheduler: 'rr', servers: servers() });
    const first = schedule(t, tcp('10.0.0.1', 40000), 0);
    expect(first.kind === 'forward' && first.via).toBe('scheduler');
    if (first.kind !== 'forward') return;
    expect(first.connection.state).toBe('SYN_RECV');
    expect(first.connection.expires).toBe(TCP_TIMEOUTS.SYN_RECV);
    // A new TCP connection counts as inactive until established: servers are [rr picks the head].
    expect(counts(t)).toEqual([
      [0, 1, 0],
      [0, 0, 0],
    ]);
    const again = schedule(t, tcp('10.0.0.1', 40000, ACK), 1);
    expect(again.kind === 'forward' && again.via).toBe('connection');
    expect(again.kind === 'forward' && again.connection.daddr).toBe(ip('10.244.0.1'));
    expect(counts(t)).toEqual([
      [1, 0, 0],
      [0, 0, 0],
    ]);
    expect(again.kind === 'forward' && again.connection.expires).toBe(1 + TCP_TIMEOUTS.ESTABLISHED);
    // A second client goes to the next server.
    const other = schedule(t, tcp('10.0.0.2', 40000), 2);
    expect(other.kind === 'forward' && other.connection.daddr).toBe(ip('10.244.0.2'));
  });

  it('moves through FIN to inactive and forgets the entry when its timer fires', () => {
    const t = table({ protocol: 'tcp', address: VIP, port: 80, scheduler: 'rr', servers: servers() });
    schedule(t, tcp('10.0.0.1', 40000), 0);
    schedule(t, tcp('10.0.0.1', 40000, ACK), 0);
    const reply = ipvsReply(
      t,
      { protocol: 'tcp', src: ip('10.244.0.1'), sport: 80, dst: ip('10.0.0.1'), dport: 40000, tcpFlags: FIN_ACK },
      5,
    );
    expect(reply?.state).toBe('FIN_WAIT');
    expect(counts(t)[0]).toEqual([0, 1, 0]);
    schedule(t, tcp('10.0.0.1', 40000, ACK), 6);
    expect(counts(t)[0]).toEqual([0, 1, 0]);
    schedule(t, tcp('10.0.0.9', 1), 6 + TCP_TIMEOUTS.FIN_WAIT); // any later packet runs the timers
    expect(t.connections.byClient.size).toBe(1);
  });

  it('passes a non-SYN TCP packet without an entry through unscheduled', () => {
    const t = table({ protocol: 'tcp', address: VIP, port: 80, scheduler: 'rr', servers: servers() });
    expect(schedule(t, tcp('10.0.0.1', 40000, ACK), 0).kind).toBe('not-scheduled');
  });

  it('keeps UDP connections inactive for 300 s', () => {
    const t = table({ protocol: 'udp', address: VIP, port: 53, scheduler: 'rr', servers: servers() });
    const p = { protocol: 'udp' as const, src: ip('10.0.0.1'), sport: 5353, dst: VIP, dport: 53 };
    const r = schedule(t, p, 0);
    expect(r.kind === 'forward' && r.connection.expires).toBe(UDP_TIMEOUT);
    expect(r.kind === 'forward' && r.connection.dport).toBe(80);
    schedule(t, p, 10);
    expect(counts(t)[0]).toEqual([0, 1, 0]);
    schedule(t, { ...p, src: ip('10.0.0.2') }, 10 + UDP_TIMEOUT);
    expect(counts(t)[0]).toEqual([0, 0, 0]);
  });

  it('drops (ICMP port unreachable) when no server can take it', () => {
    const t = table({
      protocol: 'tcp',
      address: VIP,
      port: 80,
      scheduler: 'wlc',
      servers: [srv('10.244.0.1', { weight: 0 })],
    });
    const r = schedule(t, tcp('10.0.0.1', 1), 0);
    expect(r.kind).toBe('no-destination');
    expect(r.kind === 'no-destination' && r.reason).toMatch(/ICMP port unreachable/);
  });

  it('reports an unmodelled scheduler instead of guessing', () => {
    for (const scheduler of ['lblcr', 'twos'] as const) {
      const t = table({ protocol: 'tcp', address: VIP, port: 80, scheduler, servers: servers() });
      expect(schedule(t, tcp('10.0.0.1', 1), 0).kind).toBe('unsupported');
    }
  });
});

describe('persistence (-p)', () => {
  const persistent = () =>
    table({
      protocol: 'tcp',
      address: VIP,
      port: 80,
      scheduler: 'rr',
      flags: { persistent: true },
      timeout: 10800,
      servers: servers(),
    });

  it('sends later connections from the same client to the same server via the template', () => {
    const t = persistent();
    const a = schedule(t, tcp('10.0.0.1', 40000), 0);
    const b = schedule(t, tcp('10.0.0.1', 40001), 5);
    const c = schedule(t, tcp('10.0.0.2', 40000), 6);
    expect(a.kind === 'forward' && a.via).toBe('scheduler');
    expect(b.kind === 'forward' && b.via).toBe('template');
    expect(b.kind === 'forward' && b.connection.daddr).toBe(ip('10.244.0.1'));
    expect(c.kind === 'forward' && c.connection.daddr).toBe(ip('10.244.0.2'));
    expect(counts(t)).toEqual([
      [0, 2, 1],
      [0, 1, 1],
    ]);
  });

  it('keeps the template while it controls connections, then lets it expire', () => {
    const t = persistent();
    schedule(t, tcp('10.0.0.1', 40000), 0);
    schedule(t, tcp('10.0.0.1', 40000, ACK), 1); // ESTABLISHED, expires at 901
    // Template expires at 10800, the connection at 901: by 20000 both are gone.
    const later = schedule(t, tcp('10.0.0.1', 40001), 20000);
    expect(later.kind === 'forward' && later.via).toBe('scheduler');
    // rr's cursor was on 10.244.0.1, so the new template points to the next one.
    expect(later.kind === 'forward' && later.connection.daddr).toBe(ip('10.244.0.2'));
  });

  it('masks the client with the netmask and keys port-zero services on all ports', () => {
    const t = table({
      protocol: 'tcp',
      address: VIP,
      port: 0,
      scheduler: 'rr',
      flags: { persistent: true },
      timeout: 300,
      netmask: ip('255.255.255.0'),
      servers: servers(),
    });
    const a = schedule(t, { ...tcp('10.0.0.1', 1), dport: 443 }, 0);
    const b = schedule(t, { ...tcp('10.0.0.77', 2), dport: 8443 }, 1);
    expect(b.kind === 'forward' && b.via).toBe('template');
    expect(a.kind === 'forward' && b.kind === 'forward' && a.connection.daddr === b.connection.daddr).toBe(true);
    expect(b.kind === 'forward' && b.connection.dport).toBe(80);
  });

  it('drops a template whose server was deleted', () => {
    const t = persistent();
    schedule(t, tcp('10.0.0.1', 40000), 0);
    deleteServer(t, serviceKey(service(t)), ip('10.244.0.1'), 80);
    const r = schedule(t, tcp('10.0.0.1', 40001), 1);
    expect(r.kind === 'forward' && r.via).toBe('scheduler');
    expect(r.kind === 'forward' && r.connection.daddr).toBe(ip('10.244.0.2'));
  });

  it('re-arms an expired template every 60 s while a connection it controls lives', () => {
    const t = table({
      protocol: 'tcp',
      address: VIP,
      port: 80,
      scheduler: 'rr',
      flags: { persistent: true },
      timeout: 60,
      servers: servers(),
    });
    schedule(t, tcp('10.0.0.1', 40000), 0);
    schedule(t, tcp('10.0.0.1', 40000, ACK), 1); // connection lives until 901
    const r = schedule(t, tcp('10.0.0.1', 40001), 500);
    expect(r.kind === 'forward' && r.via).toBe('template');
  });
});
