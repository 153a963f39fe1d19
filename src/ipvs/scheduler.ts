// What every scheduler takes and gives: the packet fields it may hash, and a pick with the state
// to keep for the next one and a sentence saying why.

import type { IPv4 } from '../net';
import type { RealServer, ServiceFlags } from './virtual-server';

/** The fields of a connection's first packet that schedulers look at. */
export interface SchedPacket {
  readonly src: IPv4;
  readonly sport: number;
  readonly dst: IPv4;
  readonly dport: number;
}

/**
 * A scheduler's decision: the index of the chosen server in the service's list (null when none
 * may take the connection), the scheduler state to use next time, and the reason in words.
 */
export interface Pick<S> {
  readonly server: number | null;
  readonly state: S;
  readonly reason: string;
}

export type SchedFlags = Pick3<ServiceFlags>;
type Pick3<T extends ServiceFlags> = { readonly [K in 'sched1' | 'sched2' | 'sched3']: T[K] };

export const NO_SCHED_FLAGS: SchedFlags = { sched1: false, sched2: false, sched3: false };

/** A scheduler over servers in kernel list order, with its init_service and dest-changed hooks. */
export interface Scheduler<S> {
  /** init_service: the state for a service that has these servers. */
  init(servers: readonly RealServer[]): S;
  /** add_dest / del_dest / upd_dest: the list changed from `before` to `after`. */
  update(state: S, before: readonly RealServer[], after: readonly RealServer[]): S;
  pick(state: S, servers: readonly RealServer[], packet: SchedPacket, flags: SchedFlags): Pick<S>;
}
