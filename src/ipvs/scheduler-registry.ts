// Dispatch from a service's scheduler name to the modelled algorithm, with one state type for
// all of them so a service can carry its scheduler's state as plain data.

import { dhScheduler } from './dh-scheduler';
import { foScheduler } from './fo-scheduler';
import { type LblcState, lblcScheduler } from './lblc-scheduler';
import { lcScheduler } from './lc-scheduler';
import { DEFAULT_MH_TAB_INDEX, type MhConfig, type MhState, mhScheduler } from './mh-scheduler';
import { nqScheduler } from './nq-scheduler';
import { ovfScheduler } from './ovf-scheduler';
import { type RrState, rrScheduler } from './rr-scheduler';
import type { Pick, SchedFlags, SchedPacket, Scheduler } from './scheduler';
import { sedScheduler } from './sed-scheduler';
import { type HashTableState, shScheduler } from './sh-scheduler';
import type { StatelessState } from './stateless-state';
import { isModelledScheduler, type RealServer, type SchedulerName } from './virtual-server';
import { wlcScheduler } from './wlc-scheduler';
import { type WrrState, wrrScheduler } from './wrr-scheduler';

/** `unmodelled` stands for a kernel scheduler this simulator does not implement (lblcr, twos). */
export type SchedulerState =
  | RrState
  | WrrState
  | StatelessState
  | HashTableState
  | MhState
  | LblcState
  | { readonly kind: 'unmodelled'; readonly name: string };

/** Kernel build options that change scheduling. */
export interface SchedulerConfig {
  readonly mh: MhConfig;
}

export const DEFAULT_SCHEDULER_CONFIG: SchedulerConfig = { mh: { tableIndex: DEFAULT_MH_TAB_INDEX } };

function schedulerFor(name: SchedulerName, config: SchedulerConfig): Scheduler<SchedulerState> | null {
  // Each scheduler is only ever handed the state its own init produced; the casts record that.
  const as = <S>(s: Scheduler<S>) => s as unknown as Scheduler<SchedulerState>;
  switch (name) {
    case 'rr':
      return as(rrScheduler);
    case 'wrr':
      return as(wrrScheduler);
    case 'lc':
      return as(lcScheduler);
    case 'wlc':
      return as(wlcScheduler);
    case 'sed':
      return as(sedScheduler);
    case 'nq':
      return as(nqScheduler);
    case 'sh':
      return as(shScheduler);
    case 'dh':
      return as(dhScheduler);
    case 'mh':
      return as(mhScheduler(config.mh));
    case 'fo':
      return as(foScheduler);
    case 'ovf':
      return as(ovfScheduler);
    case 'lblc':
      return as(lblcScheduler);
    default:
      return null;
  }
}

export function initSchedulerState(
  name: SchedulerName,
  servers: readonly RealServer[],
  config: SchedulerConfig = DEFAULT_SCHEDULER_CONFIG,
): SchedulerState {
  return schedulerFor(name, config)?.init(servers) ?? { kind: 'unmodelled', name };
}

/** The dest-changed hook: call it whenever a server is added, removed or edited. */
export function updateSchedulerState(
  name: SchedulerName,
  state: SchedulerState,
  before: readonly RealServer[],
  after: readonly RealServer[],
  config: SchedulerConfig = DEFAULT_SCHEDULER_CONFIG,
): SchedulerState {
  return schedulerFor(name, config)?.update(state, before, after) ?? state;
}

/** One pick by the named scheduler; an unmodelled scheduler picks nothing and says so. */
export function pickServer(
  name: SchedulerName,
  state: SchedulerState,
  servers: readonly RealServer[],
  packet: SchedPacket,
  flags: SchedFlags,
  config: SchedulerConfig = DEFAULT_SCHEDULER_CONFIG,
): Pick<SchedulerState> {
  const scheduler = schedulerFor(name, config);
  if (!scheduler || !isModelledScheduler(name)) {
    return { server: null, state, reason: `${name}: scheduler not modelled` };
  }
  return scheduler.pick(state, servers, packet, flags);
}
