// Weighted failover (ip_vs_fo.c): every new connection goes to the server with the highest
// weight; the first in list order wins a tie, and overloaded or weight-0 servers are skipped.

import type { Pick, Scheduler } from './scheduler';
import { STATELESS, type StatelessState } from './stateless-state';
import { type RealServer, serverName } from './virtual-server';

export function foPick(servers: readonly RealServer[]): Pick<StatelessState> {
  let highest: number | null = null;
  let hw = 0;
  for (let i = 0; i < servers.length; i++) {
    const s = servers[i]!;
    if (!s.overloaded && s.weight > hw) {
      highest = i;
      hw = s.weight;
    }
  }
  if (highest === null) return { server: null, state: STATELESS, reason: 'fo: no destination available' };
  return {
    server: highest,
    state: STATELESS,
    reason: `fo: ${serverName(servers[highest]!)} has the highest weight (${hw})`,
  };
}

export const foScheduler: Scheduler<StatelessState> = {
  init: () => STATELESS,
  update: (state) => state,
  pick: (_state, servers) => foPick(servers),
};
