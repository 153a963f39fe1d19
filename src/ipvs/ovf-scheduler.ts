// Overflow-connection (ip_vs_ovf.c): the server with the highest weight whose active
// connections do not exceed its weight; the first in list order wins a tie. Overloaded,
// weight-0 and full servers are skipped, so connections overflow to the next weight down.

import type { Pick, Scheduler } from './scheduler';
import { STATELESS, type StatelessState } from './stateless-state';
import { type RealServer, serverName } from './virtual-server';

export function ovfPick(servers: readonly RealServer[]): Pick<StatelessState> {
  let chosen: number | null = null;
  let hw = 0;
  for (let i = 0; i < servers.length; i++) {
    const s = servers[i]!;
    if (s.overloaded || s.activeConns > s.weight || s.weight === 0) continue;
    if (chosen === null || s.weight > hw) {
      chosen = i;
      hw = s.weight;
    }
  }
  if (chosen === null) return { server: null, state: STATELESS, reason: 'ovf: no destination available' };
  const s = servers[chosen]!;
  return {
    server: chosen,
    state: STATELESS,
    reason: `ovf: ${serverName(s)} has the highest weight (${hw}) of those within it (active ${s.activeConns})`,
  };
}

export const ovfScheduler: Scheduler<StatelessState> = {
  init: () => STATELESS,
  update: (state) => state,
  pick: (_state, servers) => ovfPick(servers),
};
