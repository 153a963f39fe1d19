// Least connection (ip_vs_lc.c): the server with the smallest overhead, active*256 + inactive;
// the first in list order wins a tie, and weight 0 or overloaded servers are skipped.

import type { Pick, Scheduler } from './scheduler';
import { STATELESS, type StatelessState } from './stateless-state';
import { connOverhead, type RealServer, serverName } from './virtual-server';

export function lcPick(servers: readonly RealServer[]): Pick<StatelessState> {
  let least: number | null = null;
  let loh = 0;
  servers.forEach((s, i) => {
    if (s.overloaded || s.weight === 0) return;
    const doh = connOverhead(s);
    if (least === null || doh < loh) {
      least = i;
      loh = doh;
    }
  });
  if (least === null) return { server: null, state: STATELESS, reason: 'lc: no destination available' };
  const s = servers[least]!;
  return {
    server: least,
    state: STATELESS,
    reason: `lc: ${serverName(s)} overhead ${loh} (active ${s.activeConns}*256 + inactive ${s.inactConns})`,
  };
}

export const lcScheduler: Scheduler<StatelessState> = {
  init: () => STATELESS,
  update: (state) => state,
  pick: (_state, servers) => lcPick(servers),
};
