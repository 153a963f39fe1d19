// What IPVS does with a packet arriving for a virtual service (ip_vs_in / ip_vs_schedule /
// ip_vs_sched_persist): an existing connection first, then a persistence template, then the
// scheduler; and the reply direction, which finds the connection from the real server's side.

import { formatIPv4, type IPv4, type L4Protocol, maskOf } from '../net';
import { isActiveState, nextState, type TcpFlagBits } from './connection-states';
import {
  type Connection,
  expireConnections,
  findByClient,
  findByServer,
  findTemplate,
  insertConnection,
  invalidateTemplate,
  removeConnection,
  touchConnection,
} from './connection-table';
import { countConnection, type IpvsTable, ipvsLookup, moveConnection } from './ipvs-table';
import { pickServer } from './scheduler-registry';
import {
  type IpvsProtocol,
  isModelledScheduler,
  type RealServer,
  serverName,
  serviceKey,
  type VirtualService,
} from './virtual-server';

export interface IpvsPacket {
  readonly protocol: L4Protocol;
  readonly src: IPv4;
  readonly sport: number;
  readonly dst: IPv4;
  readonly dport: number;
  /** TCP flags; null or absent for other protocols. */
  readonly tcpFlags?: TcpFlagBits | null;
}

export type ScheduleResult =
  /** Not addressed to a virtual service: IPVS lets the packet through untouched. */
  | { readonly kind: 'no-service'; readonly reason: string }
  /** Forward to `connection`'s real server, found by the way `via` says. */
  | {
      readonly kind: 'forward';
      readonly via: 'connection' | 'template' | 'scheduler';
      readonly service: VirtualService | null;
      readonly connection: Connection;
      /** The real server as it is now (null if it was removed while the connection lived). */
      readonly server: RealServer | null;
      readonly reason: string;
    }
  /** A TCP packet without SYN and no connection: IPVS accepts it unchanged (sloppy_tcp off). */
  | { readonly kind: 'not-scheduled'; readonly service: VirtualService; readonly reason: string }
  /** The scheduler found no server: the kernel drops it and answers ICMP port unreachable. */
  | { readonly kind: 'no-destination'; readonly service: VirtualService; readonly reason: string }
  /** The service's scheduler is not modelled here. */
  | { readonly kind: 'unsupported'; readonly service: VirtualService; readonly reason: string };

const FTP_PORT = 21;

function currentServer(
  table: IpvsTable,
  conn: Connection,
): { service: VirtualService | null; server: RealServer | null } {
  const service = table.services.get(conn.service)?.service ?? null;
  const server = service?.servers.find((s) => s.address === conn.daddr && s.port === conn.dport) ?? null;
  return { service, server };
}

/** Release every connection whose timer fired by `now` from its server's counters. */
export function expireIpvs(table: IpvsTable, now: number): Connection[] {
  const removed = expireConnections(table.connections, now);
  for (const conn of removed) countConnection(table, conn, -1);
  return removed;
}

/** ip_vs_set_state for one packet: new state and timer, and the active/inactive move it implies. */
function transition(
  table: IpvsTable,
  conn: Connection,
  packet: IpvsPacket,
  direction: 'input' | 'output',
  now: number,
): void {
  const next = nextState(conn.protocol, conn.state, direction, packet.tcpFlags ?? null, conn.noOutput);
  if (next.state !== conn.state) {
    const active = isActiveState(conn.protocol, next.state);
    if (!conn.inactive && !active) {
      moveConnection(table, conn, false);
      conn.inactive = true;
    } else if (conn.inactive && active) {
      moveConnection(table, conn, true);
      conn.inactive = false;
    }
  }
  conn.state = next.state;
  conn.timeout = next.timeout;
  touchConnection(table.connections, conn, now);
}

/** is_new_conn_expected with conn_reuse_mode 1: a SYN may reuse a closed, uncontrolled TCP entry. */
function reusable(conn: Connection): boolean {
  return conn.control === null && conn.protocol === 'tcp' && (conn.state === 'TIME_WAIT' || conn.state === 'CLOSE');
}

/** Who talks to whom through which service: the part of a connection entry the packet and the pick decide. */
function connectionTuple(service: VirtualService, server: RealServer, packet: IpvsPacket) {
  return {
    protocol: service.protocol,
    caddr: packet.src,
    cport: packet.sport,
    vaddr: packet.dst,
    vport: packet.dport,
    daddr: server.address,
    // A server without a port (port-zero services) gets the port the client asked for.
    dport: server.port || packet.dport,
    forward: server.forward,
    service: serviceKey(service),
  };
}

function makeConnection(
  table: IpvsTable,
  service: VirtualService,
  server: RealServer,
  packet: IpvsPacket,
  control: number | null,
  now: number,
): Connection {
  const conn = insertConnection(
    table.connections,
    { ...connectionTuple(service, server, packet), template: false, control },
    now,
  );
  countConnection(table, conn, 1);
  transition(table, conn, packet, 'input', now);
  return conn;
}

/**
 * One client -> virtual service packet at time `now` (seconds). Expired entries go first, then
 * the connection table, then (persistent services) the template, then the scheduler.
 */
export function schedule(table: IpvsTable, packet: IpvsPacket, now: number): ScheduleResult {
  expireIpvs(table, now);
  if (packet.protocol === 'icmp') return { kind: 'no-service', reason: 'ipvs: ICMP is not a virtual service protocol' };
  const protocol: IpvsProtocol = packet.protocol;
  const syn = packet.tcpFlags?.syn === true;

  let conn = findByClient(table.connections, protocol, packet.src, packet.sport, packet.dst, packet.dport);
  if (conn && syn && reusable(conn)) {
    // conn_reuse_mode: a new SYN on a TIME_WAIT/CLOSE entry expires it and is scheduled afresh.
    if (conn.nControl === 0) {
      removeConnection(table.connections, conn);
      countConnection(table, conn, -1);
    }
    conn = null;
  }
  if (conn) {
    transition(table, conn, packet, 'input', now);
    const { service, server } = currentServer(table, conn);
    return {
      kind: 'forward',
      via: 'connection',
      service,
      connection: conn,
      server,
      reason: `ipvs: existing connection ${formatIPv4(conn.caddr)}:${conn.cport} -> ${formatIPv4(conn.daddr)}:${conn.dport} (${conn.state})`,
    };
  }

  const service = ipvsLookup(table, { protocol, dst: packet.dst, dport: packet.dport });
  if (!service)
    return {
      kind: 'no-service',
      reason: `ipvs: no virtual service ${protocol} ${formatIPv4(packet.dst)}:${packet.dport}`,
    };
  if (protocol === 'tcp' && (!syn || packet.tcpFlags?.rst === true)) {
    return {
      kind: 'not-scheduled',
      service,
      reason: 'ipvs: TCP packet without SYN and no connection entry: accepted unchanged',
    };
  }
  if (!isModelledScheduler(service.scheduler)) {
    return { kind: 'unsupported', service, reason: `ipvs: scheduler "${service.scheduler}" is not modelled` };
  }
  return service.flags.persistent
    ? schedulePersistent(table, service, packet, now)
    : scheduleNew(table, service, packet, now);
}

function runScheduler(table: IpvsTable, service: VirtualService, packet: IpvsPacket) {
  const key = serviceKey(service);
  const entry = table.services.get(key)!;
  table.stats.schedulerPicks++;
  const pick = pickServer(
    service.scheduler,
    entry.schedState,
    service.servers,
    packet,
    service.flags,
    table.config.scheduler,
  );
  entry.schedState = pick.state;
  return { index: pick.server, reason: pick.reason };
}

function noDestination(service: VirtualService, reason: string): ScheduleResult {
  return { kind: 'no-destination', service, reason: `${reason}; dropped with ICMP port unreachable` };
}

function scheduleNew(table: IpvsTable, service: VirtualService, packet: IpvsPacket, now: number): ScheduleResult {
  const { index, reason } = runScheduler(table, service, packet);
  if (index === null) return noDestination(service, reason);
  const server = service.servers[index]!;
  if (service.flags.onePacket && service.protocol === 'udp') {
    // One-packet scheduling: the entry lives for this datagram only and is never hashed.
    const transient: Connection = {
      id: 0,
      ...connectionTuple(service, server, packet),
      template: false,
      state: 'UDP',
      timeout: 0,
      expires: now,
      inactive: true,
      noOutput: server.forward !== 'Masq',
      control: null,
      nControl: 0,
      invalidated: false,
    };
    return {
      kind: 'forward',
      via: 'scheduler',
      service,
      connection: transient,
      server,
      reason: `${reason} (one-packet: no entry)`,
    };
  }
  const conn = makeConnection(table, service, server, packet, null, now);
  return {
    kind: 'forward',
    via: 'scheduler',
    service: currentServer(table, conn).service,
    connection: conn,
    server: currentServer(table, conn).server,
    reason,
  };
}

/** ip_vs_sched_persist: the client's network keeps its server while the template lives. */
function schedulePersistent(
  table: IpvsTable,
  service: VirtualService,
  packet: IpvsPacket,
  now: number,
): ScheduleResult {
  const cnet = (packet.src & service.netmask) >>> 0;
  // A port-zero service (or FTP) keys templates on all ports of the virtual address.
  const sameService = packet.dport === service.port && service.port !== FTP_PORT;
  const vport = sameService ? service.port : 0;
  let template = findTemplate(table.connections, service.protocol, cnet, packet.dst, vport);
  let server: RealServer | null = null;
  let via: 'template' | 'scheduler' = 'template';
  let reason = '';
  if (template) {
    const tpl = template;
    server = service.servers.find((s) => s.address === tpl.daddr && s.port === tpl.dport) ?? null;
    if (!server) {
      // ip_vs_check_template: the server is gone, so the template is invalidated.
      invalidateTemplate(table.connections, template);
      template = null;
    } else {
      reason = `persistence: template ${formatIPv4(cnet)}${maskSuffix(service.netmask)} -> ${serverName(server)} (expires at ${template.expires}s, renewed)`;
    }
  }
  if (!template) {
    const pick = runScheduler(table, service, packet);
    if (pick.index === null) return noDestination(service, pick.reason);
    server = service.servers[pick.index]!;
    via = 'scheduler';
    template = insertConnection(
      table.connections,
      {
        protocol: service.protocol,
        caddr: cnet,
        cport: 0,
        vaddr: packet.dst,
        vport,
        daddr: server.address,
        dport: server.port,
        forward: server.forward,
        service: serviceKey(service),
        template: true,
        control: null,
      },
      now,
      service.timeout,
    );
    countConnection(table, template, 1);
    reason = `${pick.reason}; new persistence template for ${formatIPv4(cnet)}${maskSuffix(service.netmask)} (${service.timeout}s)`;
  }
  touchConnection(table.connections, template, now);
  const conn = makeConnection(table, service, server!, packet, template.id, now);
  const current = currentServer(table, conn);
  return { kind: 'forward', via, service: current.service, connection: conn, server: current.server, reason };
}

function maskSuffix(netmask: IPv4): string {
  let length = 0;
  while (length < 32 && maskOf(length + 1) === (netmask & maskOf(length + 1)) >>> 0) length++;
  return length === 32 ? '' : `/${length}`;
}

/**
 * A packet from a real server back to a client (the Masq reply path, ip_vs_out): the entry it
 * belongs to, with its state moved as an output packet moves it; null when IPVS has none.
 */
export function ipvsReply(table: IpvsTable, packet: IpvsPacket, now: number): Connection | null {
  expireIpvs(table, now);
  if (packet.protocol === 'icmp') return null;
  const conn = findByServer(table.connections, packet.protocol, packet.src, packet.sport, packet.dst, packet.dport);
  if (!conn) return null;
  transition(table, conn, packet, 'output', now);
  return conn;
}
