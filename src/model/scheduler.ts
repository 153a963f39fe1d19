// A small deterministic kube-scheduler: filter nodes (unschedulable, untolerated
// NoSchedule/NoExecute taints, nodeSelector), then spread by owner, load and name.
import { compareStrings } from './compare-strings';
import { labelsMatch } from './label-selector';
import type { Node, Taint } from './node';
import { controllerOf } from './object-meta';
import type { PodDraft, PodSpec, Toleration } from './pod';

export const UNSCHEDULABLE_TAINT = 'node.kubernetes.io/unschedulable';

/** The scheduler's TolerationsTolerateTaint. */
export function toleratesTaint(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect !== undefined && toleration.effect !== taint.effect) return false;
  if (toleration.key !== '' && toleration.key !== taint.key) return false;
  return toleration.operator === 'Exists' || toleration.value === taint.value;
}

/** Why a pod cannot run on a node, or undefined when it can. */
export function nodeRejection(node: Node, spec: PodSpec): string | undefined {
  const unschedulableTaint: Taint = { key: UNSCHEDULABLE_TAINT, value: '', effect: 'NoSchedule' };
  if (node.unschedulable && !spec.tolerations.some((t) => toleratesTaint(t, unschedulableTaint))) {
    return 'unschedulable';
  }
  const blocking = node.taints.find(
    (taint) => taint.effect !== 'PreferNoSchedule' && !spec.tolerations.some((t) => toleratesTaint(t, taint)),
  );
  if (blocking) return `taint ${blocking.key}${blocking.value === '' ? '' : `=${blocking.value}`}:${blocking.effect}`;
  if (!labelsMatch(spec.nodeSelector, node.labels)) return 'nodeSelector';
  return undefined;
}

function ownerKey(pod: PodDraft): string | undefined {
  const owner = controllerOf(pod);
  return owner && `${pod.namespace}/${owner.kind}/${owner.name}`;
}

export interface SchedulingResult {
  readonly pods: PodDraft[];
  /** Pods left Pending, with the reason per node (`node-1: nodeSelector`). */
  readonly unschedulable: readonly { readonly pod: PodDraft; readonly reasons: readonly string[] }[];
}

/**
 * Places every pod without spec.nodeName, in order. Among the nodes that fit, the
 * one with the fewest pods of the same owner wins, then the one with the fewest pods,
 * then the first by name: the spread kube-scheduler's scoring tends to produce.
 */
export function schedulePods(nodes: readonly Node[], pods: readonly PodDraft[]): SchedulingResult {
  const sortedNodes = [...nodes].sort((a, b) => compareStrings(a.name, b.name));
  const total = new Map<string, number>();
  /** Owner key to pods of that owner per node. */
  const byOwner = new Map<string, Map<string, number>>();
  const count = (pod: PodDraft, nodeName: string) => {
    total.set(nodeName, (total.get(nodeName) ?? 0) + 1);
    const owner = ownerKey(pod);
    if (owner === undefined) return;
    const perNode = byOwner.get(owner) ?? new Map<string, number>();
    perNode.set(nodeName, (perNode.get(nodeName) ?? 0) + 1);
    byOwner.set(owner, perNode);
  };
  for (const pod of pods) if (pod.spec.nodeName !== undefined) count(pod, pod.spec.nodeName);

  // Replicas of one workload share their spec object, so the filter runs once per workload.
  const filtered = new WeakMap<PodSpec, { fitting: Node[]; reasons: string[] }>();
  const filter = (spec: PodSpec) => {
    let result = filtered.get(spec);
    if (!result) {
      const reasons: string[] = [];
      const fitting = sortedNodes.filter((node) => {
        const why = nodeRejection(node, spec);
        if (why) reasons.push(`${node.name}: ${why}`);
        return why === undefined;
      });
      result = { fitting, reasons };
      filtered.set(spec, result);
    }
    return result;
  };

  const unschedulable: { pod: PodDraft; reasons: string[] }[] = [];
  const out = pods.map((pod) => {
    if (pod.spec.nodeName !== undefined) return pod;
    const { fitting, reasons } = filter(pod.spec);
    if (fitting.length === 0) {
      unschedulable.push({ pod, reasons });
      return pod;
    }
    const sameOwner = byOwner.get(ownerKey(pod) ?? '');
    const ofOwner = (node: Node) => sameOwner?.get(node.name) ?? 0;
    const load = (node: Node) => total.get(node.name) ?? 0;
    // Nodes are in name order, so a tie keeps the first name.
    let best = fitting[0]!;
    for (const node of fitting) {
      if ((ofOwner(node) - ofOwner(best) || load(node) - load(best)) < 0) best = node;
    }
    count(pod, best.name);
    return { ...pod, spec: { ...pod.spec, nodeName: best.name } };
  });
  return { pods: out, unschedulable };
}
