// What kube-proxy's IPVS proxier sends the kernel on one sync, given what the kernel
// holds from the last one: virtual servers added or updated (scheduler, flags,
// timeout) with their addresses bound to kube-ipvs0, real servers added, re-weighted
// or removed, ipset entries added and deleted, the whole iptables-restore input (the
// IPVS proxier always writes it whole), then stale virtual servers deleted and their
// addresses unbound. Printed as the equivalent ipvsadm / ipset / ip commands.
import { formatAddServerLine, formatAddServiceLine, type VirtualService } from '../../ipvs';
import { formatIPv4 } from '../../net';
import { ipvsServices } from './ipvs-virtual-services';
import { type IpvsSetState, type IpvsSync, ipvsSetsRestore } from './sync-ipvs-state';

export interface IpvsSyncSummary {
  readonly virtualServers: {
    readonly added: number;
    readonly updated: number;
    readonly deleted: number;
    readonly unchanged: number;
  };
  readonly realServers: {
    readonly added: number;
    readonly updated: number;
    readonly deleted: number;
    /** At weight 0, waiting for their connections to end. */
    readonly terminating: number;
  };
  readonly setEntries: { readonly added: number; readonly deleted: number };
  readonly addresses: { readonly bound: number; readonly unbound: number };
}

export interface IpvsSyncCommands {
  /** `ipvsadm` arguments, one command a line (what `ipvsadm -R` would take). */
  readonly ipvsadm: readonly string[];
  /** `ipset` restore lines (`create`, `add`, `del`). */
  readonly ipset: readonly string[];
  /** `ip addr add|del VIP/32 dev kube-ipvs0` */
  readonly addresses: readonly string[];
  /** Everything, in the order kube-proxy does it, as shell commands (iptables-restore as one step). */
  readonly commands: readonly string[];
  /** The iptables-restore input of this sync (whole). */
  readonly restore: string;
  readonly summary: IpvsSyncSummary;
  /**
   * Real servers left in the kernel at weight 0 by graceful termination (`vsId -> servers`),
   * removed by a later sync once their connections are gone: pass to the next sync.
   */
  readonly terminating: ReadonlyMap<string, readonly string[]>;
}

export interface IpvsSyncOptions {
  /**
   * Whether a real server still has connections (ActiveConn + InActConn > 0). Such a TCP
   * server is not deleted but set to weight 0, as kube-proxy's graceful termination does;
   * UDP and SCTP servers are always deleted at once. Default: no connections.
   */
  readonly hasConnections?: (virtualServer: string, realServer: string) => boolean;
  /** Servers a previous sync left at weight 0 (its `terminating`). */
  readonly terminating?: ReadonlyMap<string, readonly string[]>;
}

const serviceId = (s: VirtualService) => `${s.protocol} ${formatIPv4(s.address)}:${s.port}`;
const serverId = (s: { address: number; port: number }) => `${formatIPv4(s.address)}:${s.port}`;

/** `-A -t VIP:PORT ...` as `-E ...`, and the like for servers. */
const asEdit = (line: string) => line.replace(/^-A /, '-E ').replace(/^-a /, '-e ');
const serviceRef = (line: string) => line.split(' -s ')[0]!.replace(/^-A /, '');

function sameService(a: VirtualService, b: VirtualService): boolean {
  return formatAddServiceLine(a) === formatAddServiceLine(b);
}

/** The sets as they are before the first sync: created by kube-proxy at start, empty. */
function emptySets(sets: readonly IpvsSetState[]): IpvsSetState[] {
  return sets.map((s) => ({ ...s, entries: [] }));
}

/** One sync from `previous` (undefined: nothing yet, the first sync) to `next`. */
export function ipvsSyncCommands(
  previous: IpvsSync | undefined,
  next: IpvsSync,
  options: IpvsSyncOptions = {},
): IpvsSyncCommands {
  const hasConnections = options.hasConnections ?? (() => false);
  const lingering = options.terminating ?? new Map<string, readonly string[]>();
  const terminating = new Map<string, string[]>();
  const before = new Map((previous ? ipvsServices(previous) : []).map((s) => [serviceId(s), s]));
  const after = ipvsServices(next);
  const ipvsadm: string[] = [];
  const addresses: string[] = [];
  const commands: string[] = [];
  const bound = new Set(previous?.kubeIpvs0 ?? []);
  const counts = { vsAdded: 0, vsUpdated: 0, vsUnchanged: 0, rsAdded: 0, rsUpdated: 0, rsDeleted: 0 };
  const emit = (line: string) => {
    ipvsadm.push(line);
    commands.push(`ipvsadm ${line}`);
  };
  const nextBound = new Set(next.kubeIpvs0);
  for (const vs of after) {
    const old = before.get(serviceId(vs));
    const add = formatAddServiceLine(vs);
    if (!old) {
      emit(add);
      counts.vsAdded++;
    } else if (!sameService(old, vs)) {
      emit(asEdit(add));
      counts.vsUpdated++;
    } else counts.vsUnchanged++;
    const vip = formatIPv4(vs.address);
    if (nextBound.has(vip) && !bound.has(vip)) {
      bound.add(vip);
      const line = `ip addr add ${vip}/32 dev kube-ipvs0`;
      addresses.push(line);
      commands.push(line);
    }
    // kube-proxy adds servers in its endpoint order; ipvsServices lists them as the kernel does (newest first).
    const oldServers = new Map((old?.servers ?? []).map((s) => [serverId(s), s]));
    const draining = new Set(lingering.get(serviceId(vs)) ?? []);
    const newServers = [...vs.servers].reverse();
    for (const rs of newServers) {
      const was = oldServers.get(serverId(rs));
      if (draining.has(serverId(rs))) {
        // Back before its connections ended: out of the graceful-delete list, its weight restored.
        emit(asEdit(formatAddServerLine(vs, rs)));
        counts.rsUpdated++;
      } else if (!was) {
        emit(formatAddServerLine(vs, rs));
        counts.rsAdded++;
      } else if (was.weight !== rs.weight) {
        emit(asEdit(formatAddServerLine(vs, rs)));
        counts.rsUpdated++;
      }
    }
    const keep = new Set(newServers.map(serverId));
    const gone = [...(old?.servers ?? []).map(serverId), ...[...draining].filter((d) => !oldServers.has(d))];
    for (const id of gone) {
      if (keep.has(id)) continue;
      // Graceful termination: a TCP server with connections stays at weight 0 until they end
      // (a server already at weight 0 stays as it is); any other goes at once.
      if (vs.protocol === 'tcp' && hasConnections(serviceId(vs), id)) {
        if (!draining.has(id)) emit(`-e ${serviceRef(add)} -r ${id} -m -w 0`);
        terminating.set(serviceId(vs), [...(terminating.get(serviceId(vs)) ?? []), id]);
        continue;
      }
      emit(`-d ${serviceRef(add)} -r ${id}`);
      counts.rsDeleted++;
    }
  }

  const ipset: string[] = [];
  const oldSets = new Map((previous?.sets ?? emptySets(next.sets)).map((s) => [s.name, s]));
  if (!previous) for (const line of ipvsSetsRestore(emptySets(next.sets)).trim().split('\n')) ipset.push(line);
  let entriesAdded = 0;
  let entriesDeleted = 0;
  for (const set of next.sets) {
    const had = new Set(oldSets.get(set.name)?.entries ?? []);
    const has = new Set(set.entries);
    for (const e of set.entries)
      if (!had.has(e)) {
        ipset.push(`add ${set.name} ${e}`);
        entriesAdded++;
      }
    for (const e of had)
      if (!has.has(e)) {
        ipset.push(`del ${set.name} ${e}`);
        entriesDeleted++;
      }
  }
  for (const line of ipset) commands.push(`ipset ${line}`);
  commands.push('iptables-restore --noflush --counters  # the whole restore input, below');

  const keepServices = new Set(after.map(serviceId));
  let vsDeleted = 0;
  for (const [id, old] of before) {
    if (keepServices.has(id)) continue;
    emit(`-D ${serviceRef(formatAddServiceLine(old))}`);
    vsDeleted++;
  }
  let unbound = 0;
  for (const vip of [...bound].sort()) {
    if (nextBound.has(vip)) continue;
    const line = `ip addr del ${vip}/32 dev kube-ipvs0`;
    addresses.push(line);
    commands.push(line);
    unbound++;
  }
  return {
    ipvsadm,
    ipset,
    addresses,
    commands,
    restore: next.restore,
    terminating,
    summary: {
      virtualServers: {
        added: counts.vsAdded,
        updated: counts.vsUpdated,
        deleted: vsDeleted,
        unchanged: counts.vsUnchanged,
      },
      realServers: {
        added: counts.rsAdded,
        updated: counts.rsUpdated,
        deleted: counts.rsDeleted,
        terminating: [...terminating.values()].reduce((n, l) => n + l.length, 0),
      },
      setEntries: { added: entriesAdded, deleted: entriesDeleted },
      addresses: { bound: addresses.length - unbound, unbound },
    },
  };
}
