// The IPVS connection table (ip_vs_conn.c): entries made on a connection's first packet and
// found again by later ones in either direction, persistence templates, and timer expiry
// replayed in time order when the caller says what time it is.

import { formatIPv4, type IPv4 } from '../net';
import { NEW_CONN_TIMEOUT, TEMPLATE_RECHECK } from './connection-states';
import type { ForwardMethod, IpvsProtocol } from './virtual-server';

export interface Connection {
  readonly id: number;
  readonly protocol: IpvsProtocol;
  /** Client address and port (a template's cport is 0 and caddr the masked client network). */
  readonly caddr: IPv4;
  readonly cport: number;
  /** The virtual service address and port the client asked for. */
  readonly vaddr: IPv4;
  readonly vport: number;
  /** The real server it was given. */
  readonly daddr: IPv4;
  readonly dport: number;
  readonly forward: ForwardMethod;
  /** serviceKey() of the service that made it. */
  readonly service: string;
  readonly template: boolean;
  /** TCP/SCTP state name, "UDP", or "NONE" before the first transition; templates stay "NONE". */
  state: string;
  /** Seconds the timer is re-armed with on every packet. */
  timeout: number;
  /** Absolute time (seconds) the timer fires. */
  expires: number;
  /** IP_VS_CONN_F_INACTIVE: counted in the server's InActConn rather than ActiveConn. */
  inactive: boolean;
  /** IP_VS_CONN_F_NOOUTPUT: replies do not pass the director (every method but Masq). */
  readonly noOutput: boolean;
  /** The id of the template controlling this connection, if any. */
  control: number | null;
  /** How many connections this template controls. */
  nControl: number;
  /** A template the kernel invalidated (its server went away): no longer found, waits to expire. */
  invalidated: boolean;
}

export interface ConnectionTable {
  readonly entries: Map<number, Connection>;
  /** In-direction key (client -> virtual) to id. */
  readonly byClient: Map<string, number>;
  /** Out-direction key (real server -> client, as a Masq reply arrives) to id. */
  readonly byServer: Map<string, number>;
  /** Template key (client network, virtual address and port) to id. */
  readonly templates: Map<string, number>;
  nextId: number;
  /** No entry expires before this time, so expiry sweeps before it can be skipped. */
  nextExpiry: number;
  /** Hash look-ups made, for cost reporting. */
  lookups: number;
}

export function createConnectionTable(): ConnectionTable {
  return {
    entries: new Map(),
    byClient: new Map(),
    byServer: new Map(),
    templates: new Map(),
    nextId: 1,
    nextExpiry: Number.POSITIVE_INFINITY,
    lookups: 0,
  };
}

export function cloneConnectionTable(table: ConnectionTable): ConnectionTable {
  const copy: ConnectionTable = {
    entries: new Map([...table.entries].map(([id, c]) => [id, { ...c }])),
    byClient: new Map(table.byClient),
    byServer: new Map(table.byServer),
    templates: new Map(table.templates),
    nextId: table.nextId,
    nextExpiry: table.nextExpiry,
    lookups: table.lookups,
  };
  return copy;
}

export function clientKey(protocol: IpvsProtocol, caddr: IPv4, cport: number, vaddr: IPv4, vport: number): string {
  return `${protocol} ${caddr}:${cport} ${vaddr}:${vport}`;
}

export function serverKey(protocol: IpvsProtocol, daddr: IPv4, dport: number, caddr: IPv4, cport: number): string {
  return `${protocol} ${daddr}:${dport} ${caddr}:${cport}`;
}

/** ip_vs_ct_in_get's key: <protocol, client network, 0, vaddr, vport>. */
export function templateKey(protocol: IpvsProtocol, cnet: IPv4, vaddr: IPv4, vport: number): string {
  return `${protocol} ${cnet} ${vaddr}:${vport}`;
}

export interface NewConnection {
  protocol: IpvsProtocol;
  caddr: IPv4;
  cport: number;
  vaddr: IPv4;
  vport: number;
  daddr: IPv4;
  dport: number;
  forward: ForwardMethod;
  service: string;
  template: boolean;
  control: number | null;
}

/**
 * ip_vs_conn_new + hash: a new entry, inactive, with the 3 s timer the kernel gives it until
 * its first state transition (a template gets the service's persistence timeout instead).
 */
export function insertConnection(
  table: ConnectionTable,
  spec: NewConnection,
  now: number,
  timeout = NEW_CONN_TIMEOUT,
): Connection {
  const conn: Connection = {
    id: table.nextId++,
    ...spec,
    state: 'NONE',
    timeout,
    expires: now + timeout,
    inactive: true,
    noOutput: spec.forward !== 'Masq',
    nControl: 0,
    invalidated: false,
  };
  table.entries.set(conn.id, conn);
  if (spec.template) {
    table.templates.set(templateKey(spec.protocol, spec.caddr, spec.vaddr, spec.vport), conn.id);
  } else {
    table.byClient.set(clientKey(spec.protocol, spec.caddr, spec.cport, spec.vaddr, spec.vport), conn.id);
    table.byServer.set(serverKey(spec.protocol, spec.daddr, spec.dport, spec.caddr, spec.cport), conn.id);
  }
  if (spec.control !== null) {
    const template = table.entries.get(spec.control);
    if (template) template.nControl++;
  }
  table.nextExpiry = Math.min(table.nextExpiry, conn.expires);
  return conn;
}

/** ip_vs_conn_put: every use re-arms the timer for the entry's current timeout. */
export function touchConnection(table: ConnectionTable, conn: Connection, now: number): void {
  conn.expires = now + conn.timeout;
  table.nextExpiry = Math.min(table.nextExpiry, conn.expires);
}

function find(table: ConnectionTable, index: Map<string, number>, key: string): Connection | null {
  table.lookups++;
  const id = index.get(key);
  return id === undefined ? null : (table.entries.get(id) ?? null);
}

export function findByClient(
  table: ConnectionTable,
  protocol: IpvsProtocol,
  caddr: IPv4,
  cport: number,
  vaddr: IPv4,
  vport: number,
): Connection | null {
  return find(table, table.byClient, clientKey(protocol, caddr, cport, vaddr, vport));
}

export function findByServer(
  table: ConnectionTable,
  protocol: IpvsProtocol,
  daddr: IPv4,
  dport: number,
  caddr: IPv4,
  cport: number,
): Connection | null {
  return find(table, table.byServer, serverKey(protocol, daddr, dport, caddr, cport));
}

export function findTemplate(
  table: ConnectionTable,
  protocol: IpvsProtocol,
  cnet: IPv4,
  vaddr: IPv4,
  vport: number,
): Connection | null {
  return find(table, table.templates, templateKey(protocol, cnet, vaddr, vport));
}

/** ip_vs_check_template failing: the template is rehashed under a key nothing looks up. */
export function invalidateTemplate(table: ConnectionTable, template: Connection): void {
  const key = templateKey(template.protocol, template.caddr, template.vaddr, template.vport);
  if (table.templates.get(key) === template.id) table.templates.delete(key);
  template.invalidated = true;
}

/** Unhash and forget an entry, releasing its hold on its template. */
export function removeConnection(table: ConnectionTable, conn: Connection): void {
  table.entries.delete(conn.id);
  if (conn.template) {
    const key = templateKey(conn.protocol, conn.caddr, conn.vaddr, conn.vport);
    if (table.templates.get(key) === conn.id) table.templates.delete(key);
  } else {
    const ck = clientKey(conn.protocol, conn.caddr, conn.cport, conn.vaddr, conn.vport);
    if (table.byClient.get(ck) === conn.id) table.byClient.delete(ck);
    const sk = serverKey(conn.protocol, conn.daddr, conn.dport, conn.caddr, conn.cport);
    if (table.byServer.get(sk) === conn.id) table.byServer.delete(sk);
  }
  if (conn.control !== null) {
    const template = table.entries.get(conn.control);
    if (template) template.nControl--;
  }
}

/**
 * Fire every timer due by `now`, earliest first, as the kernel's would have: a connection is
 * removed; a template still controlling connections is re-armed for 60 s instead. Returns the
 * removed entries so the caller can release their servers' counters (ip_vs_unbind_dest).
 */
export function expireConnections(table: ConnectionTable, now: number): Connection[] {
  if (now < table.nextExpiry) return [];
  const removed: Connection[] = [];
  for (;;) {
    let due: Connection | null = null;
    for (const conn of table.entries.values()) {
      if (
        conn.expires <= now &&
        (due === null || conn.expires < due.expires || (conn.expires === due.expires && conn.id < due.id))
      ) {
        due = conn;
      }
    }
    if (due === null) break;
    if (due.nControl > 0) {
      due.expires += TEMPLATE_RECHECK;
      continue;
    }
    removeConnection(table, due);
    removed.push(due);
  }
  let next = Number.POSITIVE_INFINITY;
  for (const conn of table.entries.values()) next = Math.min(next, conn.expires);
  table.nextExpiry = next;
  return removed;
}

/** A connection as /proc/net/ip_vs_conn's readers see it, for traces. */
export function describeConnection(conn: Connection): string {
  const kind = conn.template ? 'template' : conn.state;
  return `${conn.protocol.toUpperCase()} ${formatIPv4(conn.caddr)}:${conn.cport} -> ${formatIPv4(conn.vaddr)}:${conn.vport} -> ${formatIPv4(conn.daddr)}:${conn.dport} ${kind} expires ${conn.expires}s`;
}
