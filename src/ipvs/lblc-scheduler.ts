// Locality-based least connection (ip_vs_lblc.c): a cache from each destination address to
// the server it was given; a connection for a cached address goes there while that server
// is still in the service, has weight and is not "overloaded" (more active connections than
// its weight while some server has under half its weight in use); otherwise the least
// loaded server by wlc's measure takes it, and the cache remembers it. The cache's 24-hour
// expiry of unused entries is not modelled (a trace session is far shorter).

import type { IPv4 } from '../net';
import type { Pick, Scheduler } from './scheduler';
import { type RealServer, serverName } from './virtual-server';
import { wlcPick } from './wlc-scheduler';

export interface LblcState {
  readonly kind: 'lblc';
  /** Destination address -> the server (address:port) it was scheduled to. */
  readonly cache: Readonly<Record<string, string>>;
}

/** is_overloaded: more active connections than its weight, while some server runs under half of its own. */
function overloadedForLblc(server: RealServer, servers: readonly RealServer[]): boolean {
  return server.activeConns > server.weight && servers.some((d) => d.activeConns * 2 < d.weight);
}

export function lblcPick(state: LblcState, servers: readonly RealServer[], daddr: IPv4): Pick<LblcState> {
  const key = String(daddr);
  const cached = state.cache[key];
  const index = cached === undefined ? -1 : servers.findIndex((s) => serverName(s) === cached);
  if (index >= 0) {
    const s = servers[index]!;
    if (s.weight > 0 && !overloadedForLblc(s, servers))
      return { server: index, state, reason: `lblc: the destination's cached server ${cached}` };
  }
  const least = wlcPick(servers);
  if (least.server === null) return { server: null, state, reason: 'lblc: no destination available' };
  const chosen = serverName(servers[least.server]!);
  const why =
    cached === undefined
      ? 'no cached server for the destination'
      : index < 0
        ? `the cached ${cached} is gone`
        : `the cached ${cached} is quiesced or overloaded`;
  return {
    server: least.server,
    state: { kind: 'lblc', cache: { ...state.cache, [key]: chosen } },
    reason: `lblc: ${why}; least loaded ${least.reason.slice('wlc: '.length)}`,
  };
}

export const lblcScheduler: Scheduler<LblcState> = {
  init: () => ({ kind: 'lblc', cache: {} }),
  // A removed server leaves its entries behind; they are passed over (not available) when met.
  update: (state) => state,
  pick: (state, servers, packet) => lblcPick(state, servers, packet.dst),
};
