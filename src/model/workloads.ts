// apps/v1 Deployment, ReplicaSet, StatefulSet and DaemonSet, expanded into the Pods
// their controllers would create, with deterministic names, unless the scenario
// already holds those pods (a `kubectl get -o yaml` dump loads exactly as it was).
import { compareStrings } from './compare-strings';
import { fieldPath, readInt, readMap, readString, readStringMap, requireField, type YamlMap } from './field-reader';
import { isEmptySelector, type LabelSelector, parseLabelSelector, selectorMatches } from './label-selector';
import type { Node } from './node';
import type { ObjectMeta, OwnerReference } from './object-meta';
import { type PodDraft, type PodSpec, parsePodSpec, type Toleration } from './pod';
import { nodeRejection } from './scheduler';
import { type TakenNames, takenIn, templateHash, uniqueGeneratedName } from './stable-hash';
import { type ObjectContext, reportError } from './validation-issue';

export const WORKLOAD_KINDS = ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export interface PodTemplate {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly spec: PodSpec;
  /** Stands in for the controllers' hash of the template (pod-template-hash, controller-revision-hash). */
  readonly hash: string;
}

export interface Workload {
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ownerReferences: readonly OwnerReference[];
  /** Desired pods; for a DaemonSet the number of eligible nodes once expanded. */
  readonly replicas: number;
  readonly selector: LabelSelector;
  readonly template: PodTemplate;
  /** StatefulSet: the governing headless Service, used as the pods' subdomain. */
  readonly serviceName?: string;
  /** StatefulSet: spec.ordinals.start. */
  readonly ordinalStart: number;
  /** Pods were generated; false when the scenario already holds its pods (or a Deployment's ReplicaSet). */
  readonly expanded: boolean;
}

export type WorkloadDraft = Omit<Workload, 'expanded'>;

const MAX_REPLICAS = 100_000;

export function parseWorkload(ctx: ObjectContext, kind: WorkloadKind, meta: ObjectMeta, body: YamlMap): WorkloadDraft {
  const spec = readMap(ctx, body.spec, 'spec') ?? {};
  const template = readMap(ctx, spec.template, 'spec.template') ?? {};
  requireField(ctx, spec.template, 'spec.template');
  const templateMeta = readMap(ctx, template.metadata, 'spec.template.metadata') ?? {};
  const labels = readStringMap(ctx, templateMeta.labels, 'spec.template.metadata.labels');
  const selector = parseLabelSelector(ctx, spec.selector, 'spec.selector');
  requireField(ctx, spec.selector, 'spec.selector');
  if (selector && (isEmptySelector(selector) || !selectorMatches(selector, labels))) {
    reportError(ctx, 'spec.selector', 'selector-mismatch', "the selector does not match the template's labels");
  }
  const serviceName = kind === 'StatefulSet' ? readString(ctx, spec.serviceName, 'spec.serviceName') : undefined;
  const ordinals = kind === 'StatefulSet' ? (readMap(ctx, spec.ordinals, 'spec.ordinals') ?? {}) : {};
  const replicas =
    kind === 'DaemonSet' ? 0 : (readInt(ctx, spec.replicas, 'spec.replicas', { min: 0, max: MAX_REPLICAS }) ?? 1);
  return {
    kind,
    namespace: meta.namespace,
    name: meta.name,
    labels: meta.labels,
    ownerReferences: meta.ownerReferences,
    replicas,
    selector: selector ?? { matchLabels: {}, matchExpressions: [] },
    template: {
      labels,
      annotations: readStringMap(ctx, templateMeta.annotations, 'spec.template.metadata.annotations'),
      spec: parsePodSpec(ctx, template.spec, 'spec.template.spec'),
      hash: templateHash(template),
    },
    ...(serviceName ? { serviceName } : {}),
    ordinalStart: readInt(ctx, ordinals.start, fieldPath('spec.ordinals', 'start'), { min: 0, max: 2 ** 31 - 1 }) ?? 0,
  };
}

/** Taints the DaemonSet controller tolerates on every pod it makes. */
const DAEMONSET_TOLERATIONS: readonly Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', value: '', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', value: '', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', value: '', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', value: '', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', value: '', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', value: '', effect: 'NoSchedule' },
];
const HOST_NETWORK_TOLERATION: Toleration = {
  key: 'node.kubernetes.io/network-unavailable',
  operator: 'Exists',
  value: '',
  effect: 'NoSchedule',
};

function daemonSetSpec(spec: PodSpec): PodSpec {
  const extra = spec.hostNetwork ? [...DAEMONSET_TOLERATIONS, HOST_NETWORK_TOLERATION] : DAEMONSET_TOLERATIONS;
  return { ...spec, tolerations: [...spec.tolerations, ...extra] };
}

/**
 * `ns/Kind/name` of every workload the scenario already realises: owners of given pods,
 * and Deployments whose ReplicaSet (or pods of it, `<deploy>-<pod-template-hash>`) is given.
 */
function realisedWorkloads(drafts: readonly WorkloadDraft[], pods: readonly PodDraft[]): Set<string> {
  const realised = new Set<string>();
  for (const pod of pods) {
    const hash = pod.labels['pod-template-hash'];
    for (const ref of pod.ownerReferences) {
      realised.add(`${pod.namespace}/${ref.kind}/${ref.name}`);
      if (ref.kind === 'ReplicaSet' && hash !== undefined && ref.name.endsWith(`-${hash}`)) {
        realised.add(`${pod.namespace}/Deployment/${ref.name.slice(0, -(hash.length + 1))}`);
      }
    }
  }
  for (const w of drafts) {
    if (w.kind !== 'ReplicaSet') continue;
    for (const ref of w.ownerReferences) {
      if (ref.kind === 'Deployment') realised.add(`${w.namespace}/Deployment/${ref.name}`);
    }
  }
  return realised;
}

export interface Expansion {
  readonly workloads: Workload[];
  /** Generated pods, in workload order; not yet scheduled (except DaemonSet pods, bound to their node). */
  readonly pods: PodDraft[];
  /** `ns/pod` of each generated pod to the workload it came from. */
  readonly owners: Map<string, { readonly kind: WorkloadKind; readonly name: string }>;
}

/** Expands every workload whose pods the scenario does not already hold. */
export function expandWorkloads(
  drafts: readonly WorkloadDraft[],
  existingPods: readonly PodDraft[],
  nodes: readonly Node[],
): Expansion {
  const taken: TakenNames = new Map();
  for (const pod of existingPods) takenIn(taken, pod.namespace).add(pod.name);
  const sortedNodes = [...nodes].sort((a, b) => compareStrings(a.name, b.name));

  const alreadyThere = realisedWorkloads(drafts, existingPods);
  const pods: PodDraft[] = [];
  const owners: Expansion['owners'] = new Map();
  const workloads = drafts.map((w): Workload => {
    const realised = alreadyThere.has(`${w.namespace}/${w.kind}/${w.name}`);
    if (realised) return { ...w, expanded: false };
    const made = podsFor(w, sortedNodes, takenIn(taken, w.namespace));
    pods.push(...made);
    for (const pod of made) owners.set(`${pod.namespace}/${pod.name}`, { kind: w.kind, name: w.name });
    return { ...w, replicas: w.kind === 'DaemonSet' ? made.length : w.replicas, expanded: true };
  });
  return { workloads, pods, owners };
}

function newPod(
  w: WorkloadDraft,
  name: string,
  owner: { kind: string; name: string },
  labels: Record<string, string>,
  spec: PodSpec,
): PodDraft {
  return {
    namespace: w.namespace,
    name,
    labels: { ...w.template.labels, ...labels },
    annotations: w.template.annotations,
    ownerReferences: [{ apiVersion: 'apps/v1', kind: owner.kind, name: owner.name, controller: true }],
    origin: 'workload',
    spec,
    podIPs: [],
  };
}

function podsFor(w: WorkloadDraft, nodes: readonly Node[], taken: Set<string>): PodDraft[] {
  const { template } = w;
  const seed = `${w.namespace}/${w.kind}/${w.name}`;
  switch (w.kind) {
    case 'Deployment': {
      const rsName = `${w.name}-${template.hash}`;
      const owner = { kind: 'ReplicaSet', name: rsName };
      return range(w.replicas).map((i) =>
        newPod(
          w,
          uniqueGeneratedName(`${rsName}-`, `${seed}/${i}`, taken),
          owner,
          { 'pod-template-hash': template.hash },
          template.spec,
        ),
      );
    }
    case 'ReplicaSet': {
      const owner = { kind: 'ReplicaSet', name: w.name };
      return range(w.replicas).map((i) =>
        newPod(w, uniqueGeneratedName(`${w.name}-`, `${seed}/${i}`, taken), owner, {}, template.spec),
      );
    }
    case 'StatefulSet': {
      const owner = { kind: 'StatefulSet', name: w.name };
      return range(w.replicas).map((i) => {
        const ordinal = w.ordinalStart + i;
        const name = `${w.name}-${ordinal}`;
        taken.add(name);
        const labels = {
          'controller-revision-hash': `${w.name}-${template.hash}`,
          'statefulset.kubernetes.io/pod-name': name,
          'apps.kubernetes.io/pod-index': String(ordinal),
        };
        const spec = { ...template.spec, hostname: name, ...(w.serviceName ? { subdomain: w.serviceName } : {}) };
        return newPod(w, name, owner, labels, spec);
      });
    }
    case 'DaemonSet': {
      const owner = { kind: 'DaemonSet', name: w.name };
      const spec = daemonSetSpec(template.spec);
      const labels = { 'controller-revision-hash': template.hash, 'pod-template-generation': '1' };
      return nodes
        .filter((node) => nodeRejection(node, spec) === undefined)
        .map((node) =>
          newPod(w, uniqueGeneratedName(`${w.name}-`, `${seed}/${node.name}`, taken), owner, labels, {
            ...spec,
            nodeName: node.name,
          }),
        );
    }
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
