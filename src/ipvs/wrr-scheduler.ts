// Weighted round robin (ip_vs_wrr.c): passes over the list with a falling current weight cw,
// from the largest weight down in steps of the weights' gcd; a pass picks servers with weight >= cw.

import type { Pick, Scheduler } from './scheduler';
import { type RealServer, serverName } from './virtual-server';

/** struct ip_vs_wrr_mark: cursor ("addr:port" or null for the head), cw, mw and di. */
export interface WrrState {
  readonly kind: 'wrr';
  readonly cursor: string | null;
  /** Current weight: a server is picked in this pass when its weight >= cw. */
  readonly cw: number;
  /** Largest weight less (di - 1), so that the last pass runs with cw = 1. */
  readonly mw: number;
  /** Step between passes: the gcd of the positive weights (1 when there are none). */
  readonly di: number;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function gcdWeight(servers: readonly RealServer[]): number {
  let g = 0;
  for (const s of servers) if (s.weight > 0) g = g > 0 ? gcd(s.weight, g) : s.weight;
  return g || 1;
}

function maxWeight(servers: readonly RealServer[]): number {
  return servers.reduce((m, s) => Math.max(m, s.weight), 0);
}

export function wrrInit(servers: readonly RealServer[]): WrrState {
  const di = gcdWeight(servers);
  const mw = maxWeight(servers) - (di - 1);
  return { kind: 'wrr', cursor: null, cw: mw, mw, di };
}

/** ip_vs_wrr_dest_changed: the cursor goes back to the head; cw is kept when it still fits. */
export function wrrUpdate(state: WrrState, _before: readonly RealServer[], after: readonly RealServer[]): WrrState {
  const di = gcdWeight(after);
  const mw = maxWeight(after) - (di - 1);
  let cw = state.cw;
  if (cw > mw || cw === 0) cw = mw;
  else if (di > 1) cw = Math.trunc(cw / di) * di + 1;
  return { kind: 'wrr', cursor: null, cw, mw, di };
}

export function wrrPick(state: WrrState, servers: readonly RealServer[]): Pick<WrrState> {
  let pos = state.cursor === null ? -1 : servers.findIndex((s) => serverName(s) === state.cursor);
  const fail = (reason: string, at: number, cw: number): Pick<WrrState> => ({
    server: null,
    state: { ...state, cursor: at < 0 ? null : serverName(servers[at]!), cw },
    reason,
  });
  if (state.mw === 0) return fail('wrr: no destination available (every weight is 0)', pos, state.cw);
  const last = pos;
  let stop: number | null = null;
  let lastPass = false;
  let restarted = false;
  let cw = state.cw;
  // Stop only after every server was checked for weight >= 1 (the last pass), as the kernel does.
  for (;;) {
    for (let i = pos + 1; i < servers.length; i++) {
      pos = i;
      const s = servers[i]!;
      if (!s.overloaded && s.weight >= cw) {
        const name = serverName(s);
        return {
          server: i,
          state: { ...state, cursor: name, cw },
          reason: `wrr: ${name} weight ${s.weight} >= current weight ${cw}`,
        };
      }
      if (i === stop) return fail('wrr: no destination available (all destinations are overloaded)', i, cw);
    }
    pos = -1;
    cw -= state.di;
    if (cw <= 0) {
      cw = state.mw;
      if (lastPass || last < 0) return fail('wrr: no destination available (all destinations are overloaded)', -1, cw);
      restarted = true;
    }
    lastPass = cw <= state.di;
    if (lastPass && restarted && last >= 0) stop = last;
  }
}

export const wrrScheduler: Scheduler<WrrState> = {
  init: wrrInit,
  update: wrrUpdate,
  pick: (state, servers) => wrrPick(state, servers),
};
