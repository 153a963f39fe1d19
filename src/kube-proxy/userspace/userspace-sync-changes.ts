// What v1.25's userspace proxier does on a Service or Endpoints change: a service port
// that is new, or whose config changed (protocol, port, NodePort, cluster IP, external
// IPs, load-balancer IPs, affinity: sameConfig), gets a proxy socket on a free port
// and its portal rules appended (iptables -A, as EnsureRule appends); one that went,
// or changed, has its rules deleted (iptables -D) and its socket closed; an endpoints
// change only updates the round robin in user space. Appended rules land at the end of
// their chains, so the order of rules depends on history, as on a real node.
import type { UserspacePortal, UserspaceSync } from './sync-userspace-state';

export interface UserspaceSyncChanges {
  /** iptables commands: `-t nat -D CHAIN ...`, `-t nat -A CHAIN ...`, filter ones too. */
  readonly iptables: readonly string[];
  readonly opened: readonly string[];
  readonly closed: readonly string[];
  /** Service ports whose round-robin endpoint list changed (no kernel change). */
  readonly endpointsUpdated: readonly string[];
  /** Service ports that keep their proxy port: ServicePortName -> port. */
  readonly held: ReadonlyMap<string, number>;
}

/** v1.25's sameConfig: what forces a portal to be closed and opened again. */
function portalConfig(p: UserspacePortal): string {
  return JSON.stringify([
    p.protocol,
    p.port,
    p.nodePort,
    p.clusterIP,
    p.externalIPs,
    p.loadBalancerIPs,
    p.sessionAffinity,
  ]);
}

/** The ports the next sync may keep: service ports present before with the same config. */
export function heldUserspacePorts(
  previous: UserspaceSync | undefined,
  next: readonly UserspacePortal[],
): Map<string, number> {
  const before = new Map((previous?.portals ?? []).map((p) => [p.servicePortName, p]));
  const held = new Map<string, number>();
  for (const p of next) {
    const old = before.get(p.servicePortName);
    if (old && portalConfig(old) === portalConfig(p)) held.set(p.servicePortName, old.proxyPort);
  }
  return held;
}

/** Each portal's rules in a restore text (each carries its ServicePortName as comment), as `-t TABLE -A ...`. */
function rulesByPortal(restore: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let table = '';
  for (const line of restore.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    if (!line.startsWith('-A ')) continue;
    const m = / --comment (?:"([^"]*)"|(\S+))/.exec(line);
    const name = m?.[1] ?? m?.[2];
    if (name === undefined) continue;
    const list = out.get(name);
    const rule = `-t ${table} ${line}`;
    if (list) list.push(rule);
    else out.set(name, [rule]);
  }
  return out;
}

/** The userspace proxier's own chains, flushed when it starts (iptablesFlush). */
const USERSPACE_CHAINS: readonly [string, string][] = [
  ['nat', 'KUBE-PORTALS-CONTAINER'],
  ['nat', 'KUBE-PORTALS-HOST'],
  ['nat', 'KUBE-NODEPORT-CONTAINER'],
  ['nat', 'KUBE-NODEPORT-HOST'],
  ['filter', 'KUBE-NODEPORT-NON-LOCAL'],
];

/**
 * The changes from `previous` to `next`. `restart`: kube-proxy started again (it reads its
 * node IP only at start, so a node address change means a restart): its chains are flushed,
 * every socket was closed with the old process, and every portal is opened anew.
 */
export function userspaceSyncChanges(
  previous: UserspaceSync | undefined,
  next: UserspaceSync,
  restart = false,
): UserspaceSyncChanges {
  if (restart) {
    const fresh = userspaceSyncChanges(undefined, next);
    return {
      ...fresh,
      iptables: [...USERSPACE_CHAINS.map(([t, c]) => `-t ${t} -F ${c}`), ...fresh.iptables],
      closed: (previous?.portals ?? []).map((p) => `${p.servicePortName} ${p.proxyPort}/${p.protocol}`),
    };
  }
  const before = new Map((previous?.portals ?? []).map((p) => [p.servicePortName, p]));
  const after = new Map(next.portals.map((p) => [p.servicePortName, p]));
  const opened: string[] = [];
  const closed: string[] = [];
  const endpointsUpdated: string[] = [];
  const held = heldUserspacePorts(previous, next.portals);
  for (const [name, p] of before)
    if (!after.has(name) || held.get(name) !== p.proxyPort) closed.push(`${name} ${p.proxyPort}/${p.protocol}`);
  for (const [name, p] of after) {
    const old = before.get(name);
    if (held.get(name) !== p.proxyPort) opened.push(`${name} ${p.proxyPort}/${p.protocol}`);
    else if (old && JSON.stringify(old.endpoints) !== JSON.stringify(p.endpoints)) endpointsUpdated.push(name);
  }
  // closePortal deletes every rule of the portal; openPortal appends them all again (EnsureRule).
  const oldRules = closed.length > 0 ? rulesByPortal(previous!.restore) : new Map<string, string[]>();
  const newRules = opened.length > 0 ? rulesByPortal(next.restore) : new Map<string, string[]>();
  const iptables = [
    ...closed.flatMap((c) => (oldRules.get(c.split(' ')[0]!) ?? []).map((r) => r.replace(' -A ', ' -D '))),
    ...opened.flatMap((o) => newRules.get(o.split(' ')[0]!) ?? []),
  ];
  return { iptables, opened, closed, endpointsUpdated, held };
}
