// kube-proxy's change tracking between two syncs: which Services (by namespace/name)
// changed in what the proxier sees of them (the Service's ports and policies, or its
// endpoints), merged per Service as the service and endpoints change trackers merge
// them: a change that was undone before the sync is no change at all.
import type { NodeLocalState, ServicePortState } from '../model';

export interface ServiceChanges {
  /** `namespace/name` of every Service whose ports or endpoints differ. */
  readonly changed: ReadonlySet<string>;
  /** A partial sync is not possible (first sync, node changes): everything is written. */
  readonly fullSync: boolean;
  readonly reason?: string;
}

export const serviceKeyOf = (sp: Pick<ServicePortState, 'namespace' | 'serviceName'>) =>
  `${sp.namespace}/${sp.serviceName}`;

function byService(state: NodeLocalState): Map<string, string> {
  const groups = new Map<string, ServicePortState[]>();
  for (const sp of state.servicePorts) {
    const key = serviceKeyOf(sp);
    const list = groups.get(key);
    if (list) list.push(sp);
    else groups.set(key, [sp]);
  }
  return new Map([...groups].map(([k, ports]) => [k, JSON.stringify(ports)]));
}

/** What changed from `previous` (the last synced state) to `next`; no previous state = the first, full sync. */
export function trackServiceChanges(previous: NodeLocalState | undefined, next: NodeLocalState): ServiceChanges {
  const nextServices = byService(next);
  if (previous === undefined) return { changed: new Set(nextServices.keys()), fullSync: true, reason: 'first sync' };
  if (JSON.stringify(previous.node) !== JSON.stringify(next.node))
    return {
      changed: new Set(nextServices.keys()),
      fullSync: true,
      reason: "the node's addresses, labels or pod CIDR changed",
    };
  const prevServices = byService(previous);
  const changed = new Set<string>();
  for (const [k, v] of nextServices) if (prevServices.get(k) !== v) changed.add(k);
  for (const k of prevServices.keys()) if (!nextServices.has(k)) changed.add(k);
  return { changed, fullSync: false };
}
