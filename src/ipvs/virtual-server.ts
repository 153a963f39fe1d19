// Virtual services and their real servers as the kernel keeps them (struct ip_vs_service and
// struct ip_vs_dest), with the constants ipvsadm and the kernel agree on.

import { formatIPv4, type IPv4 } from '../net';

export type IpvsProtocol = 'tcp' | 'udp' | 'sctp';

/** How a real server is reached, named as `ipvsadm -Ln` prints it. */
export type ForwardMethod = 'Masq' | 'Local' | 'Tunnel' | 'Route';

/** Every scheduler the kernel ships; only some are modelled (see `isModelledScheduler`). */
export const KERNEL_SCHEDULERS = [
  'rr',
  'wrr',
  'lc',
  'wlc',
  'lblc',
  'lblcr',
  'dh',
  'sh',
  'sed',
  'nq',
  'fo',
  'ovf',
  'mh',
  'twos',
] as const;
export type SchedulerName = (typeof KERNEL_SCHEDULERS)[number];

export const MODELLED_SCHEDULERS = [
  'rr',
  'wrr',
  'lc',
  'wlc',
  'sed',
  'nq',
  'sh',
  'dh',
  'mh',
  'fo',
  'ovf',
  'lblc',
] as const;
export type ModelledScheduler = (typeof MODELLED_SCHEDULERS)[number];

export function isSchedulerName(name: string): name is SchedulerName {
  return (KERNEL_SCHEDULERS as readonly string[]).includes(name);
}

export function isModelledScheduler(name: string): name is ModelledScheduler {
  return (MODELLED_SCHEDULERS as readonly string[]).includes(name);
}

/**
 * IP_VS_SVC_F_* flags. `sched1..3` are the scheduler's own flags: for sh and mh, sched1 is
 * "fallback" and sched2 "port" (hash the source port too).
 */
export interface ServiceFlags {
  readonly persistent: boolean;
  readonly hashed: boolean;
  readonly onePacket: boolean;
  readonly sched1: boolean;
  readonly sched2: boolean;
  readonly sched3: boolean;
}

export const NO_FLAGS: ServiceFlags = {
  persistent: false,
  hashed: false,
  onePacket: false,
  sched1: false,
  sched2: false,
  sched3: false,
};

export interface RealServer {
  readonly address: IPv4;
  readonly port: number;
  readonly forward: ForwardMethod;
  readonly weight: number;
  /** The latest non-zero weight: mh keeps a quiesced (weight 0) server's slots with it. */
  readonly lastWeight: number;
  readonly activeConns: number;
  readonly inactConns: number;
  readonly persistConns: number;
  /** -x / -y; 0 means no threshold. */
  readonly upperThreshold: number;
  readonly lowerThreshold: number;
  /** IP_VS_DEST_F_OVERLOAD: set when active+inactive reaches the upper threshold. */
  readonly overloaded: boolean;
}

export interface VirtualService {
  readonly protocol: IpvsProtocol;
  readonly address: IPv4;
  readonly port: number;
  readonly scheduler: SchedulerName;
  readonly flags: ServiceFlags;
  /** Persistence timeout in seconds (meaningful when flags.persistent). */
  readonly timeout: number;
  /** Persistence granularity: the client address is masked with it before the template look-up. */
  readonly netmask: IPv4;
  /** Persistence engine name (`--pe sip`); empty when none. */
  readonly persistenceEngine: string;
  /**
   * The kernel's svc->destinations list, in its order: the kernel adds a new server at the
   * head (list_add_rcu), so this is the reverse of the order servers were added in.
   */
  readonly servers: readonly RealServer[];
}

/** Default -p timeout when ipvsadm is given -p without a value (IPVS_SVC_PERSISTENT_TIMEOUT). */
export const DEFAULT_PERSISTENT_TIMEOUT = 360;
/** ipvsadm refuses longer persistence (MAX_TIMEOUT, 31 days). */
export const MAX_PERSISTENT_TIMEOUT = 86400 * 31;
/** ipvsadm's scheduler when -s is not given. */
export const DEFAULT_SCHEDULER: SchedulerName = 'wlc';
export const FULL_NETMASK: IPv4 = 0xffffffff;

export interface RealServerSpec {
  address: IPv4;
  port: number;
  forward?: ForwardMethod;
  weight?: number;
  activeConns?: number;
  inactConns?: number;
  persistConns?: number;
  upperThreshold?: number;
  lowerThreshold?: number;
  overloaded?: boolean;
  lastWeight?: number;
}

export function makeRealServer(spec: RealServerSpec): RealServer {
  const weight = spec.weight ?? 1;
  return {
    address: spec.address,
    port: spec.port,
    forward: spec.forward ?? 'Masq',
    weight,
    lastWeight: spec.lastWeight ?? weight,
    activeConns: spec.activeConns ?? 0,
    inactConns: spec.inactConns ?? 0,
    persistConns: spec.persistConns ?? 0,
    upperThreshold: spec.upperThreshold ?? 0,
    lowerThreshold: spec.lowerThreshold ?? 0,
    overloaded: spec.overloaded ?? false,
  };
}

export interface VirtualServiceSpec {
  protocol: IpvsProtocol;
  address: IPv4;
  port: number;
  scheduler?: SchedulerName;
  flags?: Partial<ServiceFlags>;
  timeout?: number;
  netmask?: IPv4;
  persistenceEngine?: string;
  servers?: readonly RealServer[];
}

export function makeVirtualService(spec: VirtualServiceSpec): VirtualService {
  return {
    protocol: spec.protocol,
    address: spec.address,
    port: spec.port,
    scheduler: spec.scheduler ?? DEFAULT_SCHEDULER,
    flags: { ...NO_FLAGS, ...spec.flags },
    timeout: spec.timeout ?? 0,
    netmask: spec.netmask ?? FULL_NETMASK,
    persistenceEngine: spec.persistenceEngine ?? '',
    servers: spec.servers ?? [],
  };
}

/** "10.244.1.5:80": how every message and every key names a server. */
export function serverName(server: { readonly address: IPv4; readonly port: number }): string {
  return `${formatIPv4(server.address)}:${server.port}`;
}

/** Identity of a service in the table: protocol, address and port (fwmark services are not modelled). */
export function serviceKey(service: {
  readonly protocol: IpvsProtocol;
  readonly address: IPv4;
  readonly port: number;
}): string {
  return `${service.protocol} ${formatIPv4(service.address)}:${service.port}`;
}

/** A server takes new connections only when it has weight and is not overloaded. */
export function isAvailable(server: RealServer): boolean {
  return server.weight > 0 && !server.overloaded;
}

/** ip_vs_dest_conn_overhead: an active connection is taken to cost 256 inactive ones. */
export function connOverhead(server: RealServer): number {
  return server.activeConns * 256 + server.inactConns;
}
