// One node's IPVS state (the kernel's netns_ipvs): virtual services with their scheduler state,
// the connection table, and counters of the look-ups the kernel would have made. It is an
// explicit mutable object, as the ipset registry is; clone it to branch a simulation.

import type { IPv4, L4Protocol } from '../net';
import { type Connection, type ConnectionTable, cloneConnectionTable, createConnectionTable } from './connection-table';
import { err, ok, type Result } from './result';
import {
  DEFAULT_SCHEDULER_CONFIG,
  initSchedulerState,
  type SchedulerConfig,
  type SchedulerState,
  updateSchedulerState,
} from './scheduler-registry';
import { type RealServer, serverName, serviceKey, type VirtualService } from './virtual-server';

/** IP_VS_SVC_TAB_BITS: the service hash table has 256 buckets. */
const SVC_TAB_MASK = 255;

export interface IpvsStats {
  /** Service look-ups (ip_vs_service_find), each one hash probe. */
  serviceLookups: number;
  /** Services compared along the hash chains those probes walked. */
  serviceCompares: number;
  /** Scheduler invocations. */
  schedulerPicks: number;
}

export interface IpvsConfig {
  /** CONFIG_IP_VS_TAB_BITS (12): `ipvsadm -Ln` prints size=2^bits. */
  readonly connTabBits: number;
  readonly scheduler: SchedulerConfig;
}

export const DEFAULT_IPVS_CONFIG: IpvsConfig = { connTabBits: 12, scheduler: DEFAULT_SCHEDULER_CONFIG };

export interface ServiceEntry {
  service: VirtualService;
  schedState: SchedulerState;
}

export interface IpvsTable {
  /** Services by serviceKey(), in the order they were added. */
  readonly services: Map<string, ServiceEntry>;
  readonly connections: ConnectionTable;
  readonly stats: IpvsStats;
  readonly config: IpvsConfig;
}

export function createIpvsTable(config: IpvsConfig = DEFAULT_IPVS_CONFIG): IpvsTable {
  return {
    services: new Map(),
    connections: createConnectionTable(),
    stats: { serviceLookups: 0, serviceCompares: 0, schedulerPicks: 0 },
    config,
  };
}

export function cloneIpvsTable(table: IpvsTable): IpvsTable {
  return {
    services: new Map([...table.services].map(([k, e]) => [k, { ...e }])),
    connections: cloneConnectionTable(table.connections),
    stats: { ...table.stats },
    config: table.config,
  };
}

/** Services in the order they were added. */
export function listServices(table: IpvsTable): VirtualService[] {
  return [...table.services.values()].map((e) => e.service);
}

/** The errors the kernel answers ipvsadm with, in ipvs_strerror's words. */
export type IpvsCommandError =
  | 'Service already exists'
  | 'No such service'
  | 'Destination already exists'
  | 'No such destination';

export function addService(table: IpvsTable, service: VirtualService): Result<VirtualService, IpvsCommandError> {
  const key = serviceKey(service);
  if (table.services.has(key)) return err('Service already exists');
  // ip_vs_add_service starts with no servers; add them one by one so the list order and the
  // scheduler state come out as the kernel's would.
  const servers = service.servers;
  const empty = { ...service, flags: { ...service.flags, hashed: true }, servers: [] };
  table.services.set(key, {
    service: empty,
    schedState: initSchedulerState(empty.scheduler, [], table.config.scheduler),
  });
  for (const server of [...servers].reverse()) addServer(table, key, server);
  return ok(table.services.get(key)!.service);
}

/** ipvsadm -E: scheduler, flags, timeout or netmask change; a new scheduler starts fresh. */
export function editService(
  table: IpvsTable,
  key: string,
  change: Partial<Pick<VirtualService, 'scheduler' | 'flags' | 'timeout' | 'netmask' | 'persistenceEngine'>>,
): Result<VirtualService, IpvsCommandError> {
  const entry = table.services.get(key);
  if (!entry) return err('No such service');
  const service = { ...entry.service, ...change, flags: { ...entry.service.flags, ...change.flags, hashed: true } };
  const schedState =
    service.scheduler === entry.service.scheduler
      ? entry.schedState
      : initSchedulerState(service.scheduler, service.servers, table.config.scheduler);
  table.services.set(key, { service, schedState });
  return ok(service);
}

export function deleteService(table: IpvsTable, key: string): Result<VirtualService, IpvsCommandError> {
  const entry = table.services.get(key);
  if (!entry) return err('No such service');
  table.services.delete(key);
  return ok(entry.service);
}

function replaceServers(table: IpvsTable, key: string, entry: ServiceEntry, servers: readonly RealServer[]): void {
  const schedState = updateSchedulerState(
    entry.service.scheduler,
    entry.schedState,
    entry.service.servers,
    servers,
    table.config.scheduler,
  );
  table.services.set(key, { service: { ...entry.service, servers }, schedState });
}

/** ipvsadm -a: the kernel puts the new server at the head of the list (list_add_rcu). */
export function addServer(table: IpvsTable, key: string, server: RealServer): Result<RealServer, IpvsCommandError> {
  const entry = table.services.get(key);
  if (!entry) return err('No such service');
  const name = serverName(server);
  if (entry.service.servers.some((s) => serverName(s) === name)) return err('Destination already exists');
  // A new server's last weight is its weight, even 0 (so mh gives a server added at weight 0 no slots).
  replaceServers(table, key, entry, [{ ...server, lastWeight: server.weight }, ...entry.service.servers]);
  return ok(server);
}

/** ipvsadm -e: weight, forwarding or thresholds change in place; last weight keeps the latest non-zero. */
export function editServer(
  table: IpvsTable,
  key: string,
  address: IPv4,
  port: number,
  change: Partial<Pick<RealServer, 'weight' | 'forward' | 'upperThreshold' | 'lowerThreshold'>>,
): Result<RealServer, IpvsCommandError> {
  const entry = table.services.get(key);
  if (!entry) return err('No such service');
  const index = entry.service.servers.findIndex((s) => s.address === address && s.port === port);
  if (index < 0) return err('No such destination');
  const old = entry.service.servers[index]!;
  const weight = change.weight ?? old.weight;
  const updated: RealServer = { ...old, ...change, lastWeight: weight !== 0 ? weight : old.lastWeight };
  replaceServers(
    table,
    key,
    entry,
    entry.service.servers.map((s, i) => (i === index ? updated : s)),
  );
  return ok(updated);
}

export function deleteServer(
  table: IpvsTable,
  key: string,
  address: IPv4,
  port: number,
): Result<RealServer, IpvsCommandError> {
  const entry = table.services.get(key);
  if (!entry) return err('No such service');
  const old = entry.service.servers.find((s) => s.address === address && s.port === port);
  if (!old) return err('No such destination');
  replaceServers(
    table,
    key,
    entry,
    entry.service.servers.filter((s) => s !== old),
  );
  return ok(old);
}

/** ip_vs_svc_hashkey without the per-namespace pointer term: (proto ^ addr ^ (port >> 8) ^ port) & 255. */
export function serviceBucket(protocol: L4Protocol, address: IPv4, port: number): number {
  const proto = protocol === 'tcp' ? 6 : protocol === 'udp' ? 17 : protocol === 'sctp' ? 132 : 1;
  return (proto ^ address ^ (port >>> 8) ^ port) & SVC_TAB_MASK;
}

/** How many services the kernel compares walking one hash chain (newest entries first) for a key. */
function chainCompares(table: IpvsTable, protocol: L4Protocol, address: IPv4, port: number): number {
  const bucket = serviceBucket(protocol, address, port);
  const chain = [...table.services.values()]
    .map((e) => e.service)
    .filter((s) => serviceBucket(s.protocol, s.address, s.port) === bucket)
    .reverse();
  const at = chain.findIndex((s) => s.protocol === protocol && s.address === address && s.port === port);
  return at < 0 ? chain.length : at + 1;
}

export interface LookupFields {
  readonly protocol: L4Protocol;
  readonly dst: IPv4;
  readonly dport: number;
}

/**
 * ip_vs_service_find: the exact (protocol, address, port) service, else, when a port-zero
 * (all ports, persistent) service exists, that one. Every probe is counted in table.stats.
 */
export function ipvsLookup(table: IpvsTable, fields: LookupFields): VirtualService | null {
  if (fields.protocol === 'icmp') return null;
  const probe = (port: number): VirtualService | null => {
    table.stats.serviceLookups++;
    table.stats.serviceCompares += chainCompares(table, fields.protocol, fields.dst, port);
    return (
      table.services.get(serviceKey({ protocol: fields.protocol as 'tcp', address: fields.dst, port }))?.service ?? null
    );
  };
  const exact = probe(fields.dport);
  if (exact || fields.dport === 0) return exact;
  const hasPortZero = [...table.services.values()].some((e) => e.service.port === 0);
  return hasPortZero ? probe(0) : null;
}

/** ip_vs_bind_dest / ip_vs_unbind_dest: count a connection in (or out of) its server's counters. */
export function countConnection(table: IpvsTable, conn: Connection, delta: 1 | -1): void {
  const entry = table.services.get(conn.service);
  if (!entry) return;
  const index = entry.service.servers.findIndex((s) => s.address === conn.daddr && s.port === conn.dport);
  if (index < 0) return;
  const s = entry.service.servers[index]!;
  let next: RealServer = conn.template
    ? { ...s, persistConns: s.persistConns + delta }
    : conn.inactive
      ? { ...s, inactConns: s.inactConns + delta }
      : { ...s, activeConns: s.activeConns + delta };
  next = withOverload(next, delta);
  const servers = entry.service.servers.map((x, i) => (i === index ? next : x));
  entry.service = { ...entry.service, servers };
}

/** A connection moving between InActConn and ActiveConn (a TCP or SCTP state change). */
export function moveConnection(table: IpvsTable, conn: Connection, toActive: boolean): void {
  const entry = table.services.get(conn.service);
  if (!entry) return;
  entry.service = {
    ...entry.service,
    servers: entry.service.servers.map((s) =>
      s.address === conn.daddr && s.port === conn.dport
        ? { ...s, activeConns: s.activeConns + (toActive ? 1 : -1), inactConns: s.inactConns + (toActive ? -1 : 1) }
        : s,
    ),
  };
}

/** The overload flag: set at the upper threshold, cleared below the lower one (or 3/4 of the upper). */
function withOverload(s: RealServer, delta: 1 | -1): RealServer {
  const total = s.activeConns + s.inactConns;
  if (delta > 0) return s.upperThreshold !== 0 && total >= s.upperThreshold ? { ...s, overloaded: true } : s;
  if (s.lowerThreshold !== 0) return total < s.lowerThreshold ? { ...s, overloaded: false } : s;
  if (s.upperThreshold !== 0) return total * 4 < s.upperThreshold * 3 ? { ...s, overloaded: false } : s;
  return { ...s, overloaded: false };
}
