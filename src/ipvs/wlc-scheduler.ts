// Weighted least connection (ip_vs_wlc.c): the smallest overhead/weight, compared without
// division as the kernel does (loh * w2 > doh * w1); the first in list order wins a tie.

import type { Pick, Scheduler } from './scheduler';
import { STATELESS, type StatelessState } from './stateless-state';
import { connOverhead, isAvailable, type RealServer, serverName } from './virtual-server';

/**
 * The kernel's two-stage walk shared by wlc and sed: the first available server seeds the
 * minimum, later ones replace it only when strictly lighter; the second stage skips only
 * overloaded servers (a weight 0 one can never compare lighter).
 */
export function leastWeighted(servers: readonly RealServer[], overhead: (s: RealServer) => number): number | null {
  const first = servers.findIndex(isAvailable);
  if (first < 0) return null;
  let least = first;
  let loh = overhead(servers[first]!);
  for (let i = first + 1; i < servers.length; i++) {
    const s = servers[i]!;
    if (s.overloaded) continue;
    const doh = overhead(s);
    if (loh * s.weight > doh * servers[least]!.weight) {
      least = i;
      loh = doh;
    }
  }
  return least;
}

export function wlcPick(servers: readonly RealServer[]): Pick<StatelessState> {
  const least = leastWeighted(servers, connOverhead);
  if (least === null) return { server: null, state: STATELESS, reason: 'wlc: no destination available' };
  const s = servers[least]!;
  return {
    server: least,
    state: STATELESS,
    reason: `wlc: ${serverName(s)} overhead ${connOverhead(s)}/weight ${s.weight}`,
  };
}

export const wlcScheduler: Scheduler<StatelessState> = {
  init: () => STATELESS,
  update: (state) => state,
  pick: (_state, servers) => wlcPick(servers),
};
