// The userspace proxier's LoadBalancerRR (pkg/proxy/userspace/roundrobin.go, v1.25)
// as immutable data and functions: per service port, its endpoints, a round-robin
// index and ClientIP affinity records. Times are milliseconds (a caller's clock).
import type { SessionAffinity } from '../../model';
import { joinHostPort } from '../../model';
import type { UserspaceSync } from './sync-userspace-state';

/** v1.DefaultClientIPServiceAffinitySeconds, which newServiceInternal uses for a TTL of 0. */
export const DEFAULT_CLIENT_IP_AFFINITY_SECONDS = 10800;

/** "" is what the endpoint handlers pass when they create a service entry. */
export type AffinityType = SessionAffinity | '';

export interface AffinityRecord {
  readonly clientIP: string;
  readonly endpoint: string;
  readonly lastUsed: number;
}

export interface BalancerState {
  /** `ip:port` strings, in the order round robin walks them. */
  readonly endpoints: readonly string[];
  readonly index: number;
  readonly affinityType: AffinityType;
  readonly ttlSeconds: number;
  readonly affinityMap: ReadonlyMap<string, AffinityRecord>;
}

/** Keyed by ServicePortName (`ns/name:port`). */
export type LoadBalancerRR = ReadonlyMap<string, BalancerState>;

export type NextEndpointResult =
  | { readonly ok: true; readonly endpoint: string; readonly lb: LoadBalancerRR }
  | { readonly ok: false; readonly error: 'missing service entry' | 'missing endpoints'; readonly lb: LoadBalancerRR };

export function newLoadBalancerRR(): LoadBalancerRR {
  return new Map();
}

function withService(lb: LoadBalancerRR, name: string, state: BalancerState): LoadBalancerRR {
  const next = new Map(lb);
  next.set(name, state);
  return next;
}

/** newServiceInternal: creates the entry; on an existing one only a non-empty affinity type changes (not the TTL). */
function ensureService(
  lb: LoadBalancerRR,
  name: string,
  affinityType: AffinityType,
  ttlSeconds: number,
): BalancerState {
  const existing = lb.get(name);
  if (existing === undefined) {
    return {
      endpoints: [],
      index: 0,
      affinityType,
      ttlSeconds: ttlSeconds === 0 ? DEFAULT_CLIENT_IP_AFFINITY_SECONDS : ttlSeconds,
      affinityMap: new Map(),
    };
  }
  return affinityType === '' ? existing : { ...existing, affinityType };
}

/** NewService, as mergeService calls it after opening the portals. */
export function lbNewService(
  lb: LoadBalancerRR,
  name: string,
  affinityType: AffinityType,
  ttlSeconds: number,
): LoadBalancerRR {
  return withService(lb, name, ensureService(lb, name, affinityType, ttlSeconds));
}

export function lbDeleteService(lb: LoadBalancerRR, name: string): LoadBalancerRR {
  const next = new Map(lb);
  next.delete(name);
  return next;
}

export function lbServiceHasEndpoints(lb: LoadBalancerRR, name: string): boolean {
  return (lb.get(name)?.endpoints.length ?? 0) > 0;
}

const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

/**
 * OnEndpointsAdd/Update for one service port. v1.25 shuffles the new list
 * (util.ShuffleStrings); `order` stands in for that shuffle, by default keeping the
 * given order. An unchanged set keeps the state (and index); an empty list resets it,
 * as a port missing from the update does (resetService).
 */
export function lbSetEndpoints(
  lb: LoadBalancerRR,
  name: string,
  endpoints: readonly string[],
  order: (endpoints: readonly string[]) => readonly string[] = (e) => e,
): LoadBalancerRR {
  const existing = lb.get(name);
  if (endpoints.length === 0) {
    if (existing === undefined) return lb;
    return withService(lb, name, { ...existing, endpoints: [], index: 0, affinityMap: new Map() });
  }
  if (existing !== undefined && sameSet(existing.endpoints, endpoints)) return lb;
  // removeStaleAffinity: forget clients whose endpoint is gone.
  let affinityMap = existing?.affinityMap ?? new Map<string, AffinityRecord>();
  if (existing !== undefined) {
    const keep = new Set(endpoints);
    affinityMap = new Map(
      [...affinityMap].filter(([, a]) => keep.has(a.endpoint) || existing.endpoints.every((e) => e !== a.endpoint)),
    );
  }
  const state = ensureService(lb, name, '', 0);
  return withService(lb, name, { ...state, affinityMap, endpoints: [...order(endpoints)], index: 0 });
}

const isSessionAffinity = (s: BalancerState) => s.affinityType !== '' && s.affinityType !== 'None';
const elapsedSeconds = (now: number, then: number) => Math.trunc((now - then) / 1000);

/**
 * NextEndpoint: a client with a live affinity record keeps its endpoint (and refreshes
 * the record); otherwise the endpoint at the index, the index moves on, and with
 * affinity the choice is recorded. `sessionAffinityReset` is the TCP proxy's retry
 * after a failed dial, which skips the lookup.
 */
export function nextEndpoint(
  lb: LoadBalancerRR,
  name: string,
  clientIP: string,
  now: number,
  sessionAffinityReset = false,
): NextEndpointResult {
  const state = lb.get(name);
  if (state === undefined) return { ok: false, error: 'missing service entry', lb };
  if (state.endpoints.length === 0) return { ok: false, error: 'missing endpoints', lb };
  const sticky = isSessionAffinity(state);
  if (sticky && !sessionAffinityReset) {
    const record = state.affinityMap.get(clientIP);
    if (record !== undefined && elapsedSeconds(now, record.lastUsed) < state.ttlSeconds) {
      const affinityMap = new Map(state.affinityMap).set(clientIP, { ...record, lastUsed: now });
      return { ok: true, endpoint: record.endpoint, lb: withService(lb, name, { ...state, affinityMap }) };
    }
  }
  const endpoint = state.endpoints[state.index]!;
  const index = (state.index + 1) % state.endpoints.length;
  const affinityMap = sticky
    ? new Map(state.affinityMap).set(clientIP, { clientIP, endpoint, lastUsed: now })
    : state.affinityMap;
  return { ok: true, endpoint, lb: withService(lb, name, { ...state, index, affinityMap }) };
}

/** CleanupStaleStickySessions, which every sync runs for every service port. */
export function lbCleanupStaleStickySessions(lb: LoadBalancerRR, name: string, now: number): LoadBalancerRR {
  const state = lb.get(name);
  if (state === undefined) return lb;
  const affinityMap = new Map(
    [...state.affinityMap].filter(([, a]) => elapsedSeconds(now, a.lastUsed) < state.ttlSeconds),
  );
  return withService(lb, name, { ...state, affinityMap });
}

/**
 * The balancer after kube-proxy starts with `sync`'s services. At start-up the
 * Endpoints handlers reach the balancer at once while Services wait for the first sync,
 * so an entry with endpoints is created with the default TTL and NewService then only
 * sets its affinity type: v1.25 ignores timeoutSeconds there (`endpointsFirst: false`
 * models a Service created before its endpoints).
 */
export function loadBalancerFromSync(
  sync: Pick<UserspaceSync, 'portals'>,
  options: { endpointsFirst?: boolean; order?: (endpoints: readonly string[]) => readonly string[] } = {},
): LoadBalancerRR {
  const endpointsFirst = options.endpointsFirst ?? true;
  let lb = newLoadBalancerRR();
  for (const p of sync.portals) {
    const endpoints = p.endpoints.map((e) => joinHostPort(e.ip, e.port));
    if (endpointsFirst) lb = lbSetEndpoints(lb, p.servicePortName, endpoints, options.order);
    lb = lbNewService(lb, p.servicePortName, p.sessionAffinity, p.stickyMaxAgeSeconds);
    if (!endpointsFirst) lb = lbSetEndpoints(lb, p.servicePortName, endpoints, options.order);
  }
  return lb;
}
