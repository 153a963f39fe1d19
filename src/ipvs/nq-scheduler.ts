// Never queue (ip_vs_nq.c): the first server with no active connection, else the smallest
// (active + 1)/weight as sed; weight 0 and overloaded servers are skipped.

import type { Pick, Scheduler } from './scheduler';
import { sedOverhead } from './sed-scheduler';
import { STATELESS, type StatelessState } from './stateless-state';
import { type RealServer, serverName } from './virtual-server';

export function nqPick(servers: readonly RealServer[]): Pick<StatelessState> {
  let least: number | null = null;
  let loh = 0;
  for (let i = 0; i < servers.length; i++) {
    const s = servers[i]!;
    if (s.overloaded || s.weight === 0) continue;
    const doh = sedOverhead(s);
    if (s.activeConns === 0) {
      return { server: i, state: STATELESS, reason: `nq: ${serverName(s)} is idle (0 active connections)` };
    }
    if (least === null || loh * s.weight > doh * servers[least]!.weight) {
      least = i;
      loh = doh;
    }
  }
  if (least === null) return { server: null, state: STATELESS, reason: 'nq: no destination available' };
  const s = servers[least]!;
  return {
    server: least,
    state: STATELESS,
    reason: `nq: no idle server; ${serverName(s)} expected delay (active ${s.activeConns} + 1)/weight ${s.weight}`,
  };
}

export const nqScheduler: Scheduler<StatelessState> = {
  init: () => STATELESS,
  update: (state) => state,
  pick: (_state, servers) => nqPick(servers),
};
