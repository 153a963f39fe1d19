// Shortest expected delay (ip_vs_sed.c): the smallest (active + 1)/weight; inactive
// connections do not count. Same walk and tie rule as wlc.

import type { Pick, Scheduler } from './scheduler';
import { STATELESS, type StatelessState } from './stateless-state';
import type { RealServer } from './virtual-server';
import { serverName } from './virtual-server';
import { leastWeighted } from './wlc-scheduler';

export const sedOverhead = (s: RealServer): number => s.activeConns + 1;

export function sedPick(servers: readonly RealServer[]): Pick<StatelessState> {
  const least = leastWeighted(servers, sedOverhead);
  if (least === null) return { server: null, state: STATELESS, reason: 'sed: no destination available' };
  const s = servers[least]!;
  return {
    server: least,
    state: STATELESS,
    reason: `sed: ${serverName(s)} expected delay (active ${s.activeConns} + 1)/weight ${s.weight}`,
  };
}

export const sedScheduler: Scheduler<StatelessState> = {
  init: () => STATELESS,
  update: (state) => state,
  pick: (_state, servers) => sedPick(servers),
};
