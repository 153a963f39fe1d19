// Round robin (ip_vs_rr.c): a cursor on the server list; each pick takes the next available
// server after it, wrapping once through the list head.

import type { Pick, Scheduler } from './scheduler';
import { isAvailable, type RealServer, serverName } from './virtual-server';

/** The cursor is the last picked server's "addr:port", or null for the list head. */
export interface RrState {
  readonly kind: 'rr';
  readonly cursor: string | null;
}

function positionOf(servers: readonly RealServer[], key: string | null): number {
  return key === null ? -1 : servers.findIndex((s) => serverName(s) === key);
}

export function rrPick(state: RrState, servers: readonly RealServer[]): Pick<RrState> {
  const start = positionOf(servers, state.cursor);
  // The kernel walks from the entry after the cursor to the end, then (unless it started at the
  // list head) once more from the head up to and including the cursor itself: n entries in all.
  const n = servers.length;
  for (let step = 1; step <= n; step++) {
    const at = (start + step) % n;
    const server = servers[at]!;
    if (isAvailable(server)) {
      const name = serverName(server);
      const after = state.cursor ?? 'the list head';
      return {
        server: at,
        state: { kind: 'rr', cursor: name },
        reason: `rr: ${name} is the next available after ${after}`,
      };
    }
  }
  return { server: null, state, reason: 'rr: no destination available (every server has weight 0 or is overloaded)' };
}

/** ip_vs_rr_del_dest: a cursor on a removed server moves back to the entry before it. */
export function rrUpdate(state: RrState, before: readonly RealServer[], after: readonly RealServer[]): RrState {
  if (state.cursor === null) return state;
  const kept = new Set(after.map(serverName));
  if (kept.has(state.cursor)) return state;
  for (let i = positionOf(before, state.cursor) - 1; i >= 0; i--) {
    const name = serverName(before[i]!);
    if (kept.has(name)) return { kind: 'rr', cursor: name };
  }
  return { kind: 'rr', cursor: null };
}

export const rrScheduler: Scheduler<RrState> = {
  init: () => ({ kind: 'rr', cursor: null }),
  update: rrUpdate,
  pick: (state, servers) => rrPick(state, servers),
};
