// What sampled packets leave behind on their node, as real connections do: xt_recent
// lists, what rules' matches keep (nth counters, quotas, connlimit's connections), the
// elements SET targets added to or deleted from ipsets, nftables' numgen inc counters, the members nftables affinity sets learn, and IPVS's connection table with its
// persistence templates and each scheduler's position. A sampled packet reads and
// updates it; a full trace (every branch) neither reads nor writes it, since it shows
// what any packet may meet on the node as built.
import { addService, createIpvsTable, type IpvsTable } from '../ipvs';
import type { FlowState } from '../netfilter';
import type { EditableSets, SetLookup, SimNode } from './sim-node';

interface LearntState {
  recent: FlowState['recent'];
  /** The node's ipsets as SET targets of sampled connections left them (null: unchanged). */
  sets: EditableSets | null;
  /** What matches keep per rule (nth counters, quotas left, connlimit's connections), by table, rule row and match. */
  readonly ruleStates: Map<string, unknown>;
  /** nftables `numgen inc` counters, by table, chain and rule. */
  readonly nftCounters: Map<string, number>;
  /** nftables dynamic sets: set name -> key -> expiry (seconds). */
  readonly nftSets: Map<string, Map<string, number>>;
  ipvs: IpvsTable | null;
}

const LEARNT = new WeakMap<SimNode, LearntState>();

function learntOf(node: SimNode): LearntState {
  let l = LEARNT.get(node);
  if (!l) {
    l = {
      recent: new Map(),
      sets: null,
      ruleStates: new Map(),
      nftCounters: new Map(),
      nftSets: new Map(),
      ipvs: null,
    };
    LEARNT.set(node, l);
  }
  return l;
}

/** The node as built again: no recent entries, no learnt set members, no IPVS connections. */
export function forgetLearntState(node: SimNode): void {
  LEARNT.delete(node);
}

/** xt_recent lists as sampled packets left them. */
export function recentListsOf(node: SimNode): FlowState['recent'] {
  return learntOf(node).recent;
}

export function keepRecentLists(node: SimNode, lists: FlowState['recent']): void {
  learntOf(node).recent = lists;
}

/** The node's ipsets as SET targets of sampled packets left them (the sets as loaded when none changed them). */
export function learntSetsOf(node: SimNode): SetLookup | null {
  return learntOf(node).sets ?? node.sets;
}

/** A sampled packet's SET edits stay on the node: applied in place to its copy of the sets. */
export function keepSetEdits(node: SimNode, edits: FlowState['setEdits']): void {
  if (edits.length === 0) return;
  const l = learntOf(node);
  l.sets ??= node.sets?.editable?.() ?? null;
  l.sets?.apply(edits);
}

/** What rules' matches keep between packets (nth counters, quotas, connlimit), as sampled packets left it. */
export function ruleStatesOf(node: SimNode): Map<string, unknown> {
  return learntOf(node).ruleStates;
}

/** nftables `numgen inc` counters, as sampled packets advanced them. */
export function nftCountersOf(node: SimNode): Map<string, number> {
  return learntOf(node).nftCounters;
}

/** Members kube-proxy's nftables affinity sets learnt from sampled connections: key -> expiry (seconds). */
export function dynamicSetsOf(node: SimNode): Map<string, Map<string, number>> {
  return learntOf(node).nftSets;
}

/** The node's IPVS table (its virtual services, their schedulers' state and the connection table). */
export function ipvsTableOf(node: SimNode): IpvsTable {
  const l = learntOf(node);
  if (!l.ipvs) {
    const table = createIpvsTable();
    for (const service of node.ipvs ?? []) addService(table, service);
    l.ipvs = table;
  }
  return l.ipvs;
}
