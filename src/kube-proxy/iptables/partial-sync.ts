// kube-proxy's partial iptables sync (MinimizeIPTablesRestore, on since v1.27): the
// top-level chains and the filter table are written whole every time, but the nat
// chains of a Service that did not change (its SVC/SVL/EXT/FW/SEP chains) are left
// out of the restore input; service chains in the kernel that are no longer in use
// are declared (which flushes them) and deleted with -X, just before the final
// "kubernetes service nodeports" jump.
import { joinHostPort, type NodeLocalState } from '../../model';
import { endpointChain, isServiceChainName, serviceChains } from '../chain-names';
import type { ProxierSettings } from '../proxier-settings';
import { type ServiceChanges, serviceKeyOf } from '../service-changes';
import { syncIptablesRules } from './sync-iptables-rules';

export interface IptablesPartialSync {
  /** What kube-proxy pipes to `iptables-restore --noflush --counters` this time. */
  readonly restore: string;
  readonly full: boolean;
  /** Service chains written (declared and filled). */
  readonly written: readonly string[];
  /** Service chains left as they are in the kernel (their Service did not change). */
  readonly unchanged: readonly string[];
  /** Stale service chains flushed and deleted. */
  readonly deleted: readonly string[];
  /** Every service chain in use after this sync. */
  readonly active: ReadonlySet<string>;
}

const NODEPORTS_TAIL = 'kubernetes service nodeports; NOTE: this must be the last rule in this chain';

/** Which Service (namespace/name) owns each of its possible nat chains. */
function chainOwners(state: NodeLocalState): Map<string, string> {
  const owners = new Map<string, string>();
  for (const sp of state.servicePorts) {
    const proto = sp.protocol.toLowerCase();
    const owner = serviceKeyOf(sp);
    for (const c of Object.values(serviceChains(sp.servicePortName, proto))) owners.set(c, owner);
    for (const ep of sp.endpoints)
      owners.set(endpointChain(sp.servicePortName, proto, joinHostPort(ep.ip, ep.port)), owner);
  }
  return owners;
}

const chainOfLine = (line: string): string | undefined =>
  line.startsWith(':') ? line.slice(1, line.indexOf(' ')) : line.startsWith('-A ') ? line.split(' ', 2)[1] : undefined;

/**
 * One sync of the iptables proxier given what the kernel's nat table holds now
 * (`existing`: its service chain names) and what changed since the last sync.
 */
export function partialIptablesSync(
  next: NodeLocalState,
  settings: ProxierSettings,
  changes: ServiceChanges,
  existing: ReadonlySet<string>,
): IptablesPartialSync {
  const fullRestore = syncIptablesRules(next, settings).restore;
  const lines = fullRestore.split('\n');
  const owners = chainOwners(next);
  const skip = (chain: string) => {
    if (changes.fullSync || !isServiceChainName(chain)) return false;
    const owner = owners.get(chain);
    return owner !== undefined && !changes.changed.has(owner);
  };
  const natStart = lines.indexOf('*nat');
  const natEnd = lines.indexOf('COMMIT', natStart);
  const active = new Set<string>();
  for (const l of lines.slice(natStart + 1, natEnd))
    if (l.startsWith(':')) {
      const c = chainOfLine(l)!;
      if (isServiceChainName(c)) active.add(c);
    }
  const deleted = [...existing].filter((c) => isServiceChainName(c) && !active.has(c)).sort();
  const written: string[] = [];
  const unchanged: string[] = [];
  const natChains: string[] = [];
  const natRules: string[] = [];
  for (const l of lines.slice(natStart + 1, natEnd)) {
    const chain = chainOfLine(l);
    if (chain !== undefined && skip(chain)) {
      if (l.startsWith(':')) unchanged.push(chain);
      continue;
    }
    if (l.startsWith(':')) {
      natChains.push(l);
      if (isServiceChainName(chain!)) written.push(chain!);
    } else natRules.push(l);
  }
  for (const c of deleted) natChains.push(`:${c} - [0:0]`);
  const tail = natRules.findIndex((l) => l.startsWith('-A KUBE-SERVICES ') && l.includes(NODEPORTS_TAIL));
  natRules.splice(tail < 0 ? natRules.length : tail, 0, ...deleted.map((c) => `-X ${c}`));
  const restore = [...lines.slice(0, natStart + 1), ...natChains, ...natRules, ...lines.slice(natEnd)].join('\n');
  return { restore, full: changes.fullSync, written, unchanged, deleted, active };
}
