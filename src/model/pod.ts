// v1 Pod and its spec (shared with workload templates): what networking, scheduling,
// DNS and the endpoints controller read from a pod.
import {
  fieldPath,
  indexPath,
  readBool,
  readEnum,
  readIP,
  readList,
  readMap,
  readPort,
  readString,
  readStringList,
  readStringMap,
  requireField,
  type YamlMap,
} from './field-reader';
import { TAINT_EFFECTS, type TaintEffect } from './node';
import type { ObjectMeta, OwnerReference } from './object-meta';
import { type Protocol, readProtocol } from './protocol';
import type { ObjectContext } from './validation-issue';

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
  readonly protocol: Protocol;
  readonly hostPort?: number;
}

export interface Container {
  readonly name: string;
  readonly ports: readonly ContainerPort[];
}

export const TOLERATION_OPERATORS = ['Exists', 'Equal'] as const;
export type TolerationOperator = (typeof TOLERATION_OPERATORS)[number];

export interface Toleration {
  /** Empty with operator Exists tolerates every taint. */
  readonly key: string;
  readonly operator: TolerationOperator;
  readonly value: string;
  /** Absent tolerates every effect. */
  readonly effect?: TaintEffect;
}

export const DNS_POLICIES = ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'] as const;
export type DnsPolicy = (typeof DNS_POLICIES)[number];

export interface PodDnsConfig {
  readonly nameservers: readonly string[];
  readonly searches: readonly string[];
  readonly options: readonly { readonly name: string; readonly value?: string }[];
}

export interface PodSpec {
  readonly nodeName?: string;
  readonly hostNetwork: boolean;
  readonly hostname?: string;
  readonly subdomain?: string;
  readonly dnsPolicy: DnsPolicy;
  readonly dnsConfig?: PodDnsConfig;
  readonly containers: readonly Container[];
  readonly nodeSelector: Readonly<Record<string, string>>;
  readonly tolerations: readonly Toleration[];
}

export const POD_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] as const;
export type PodPhase = (typeof POD_PHASES)[number];

export interface Pod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly ownerReferences: readonly OwnerReference[];
  /** `manifest` when given in the scenario, `workload` when expanded from a Deployment etc. */
  readonly origin: 'manifest' | 'workload';
  readonly spec: PodSpec;
  readonly phase: PodPhase;
  /** Canonical, at most one per family; empty while unscheduled. */
  readonly podIPs: readonly string[];
  readonly hostIP?: string;
  /** The Ready condition: as given, else true for a running, scheduled pod with an IP. */
  readonly ready: boolean;
  /** Being deleted: endpoints show it as terminating. */
  readonly deletionTimestamp?: string;
}

/** A pod before scheduling and IPAM: phase and readiness only as far as the input said. */
export interface PodDraft extends Omit<Pod, 'phase' | 'ready'> {
  readonly givenPhase?: PodPhase;
  readonly givenReady?: boolean;
}

function readContainers(ctx: ObjectContext, value: unknown, path: string): Container[] {
  const out: Container[] = [];
  readList(ctx, value, path).forEach((item, i) => {
    const cPath = indexPath(path, i);
    const map = readMap(ctx, item, cPath);
    if (!map) return;
    const ports: ContainerPort[] = [];
    const portsPath = fieldPath(cPath, 'ports');
    readList(ctx, map.ports, portsPath).forEach((p, j) => {
      const pPath = indexPath(portsPath, j);
      const port = readMap(ctx, p, pPath);
      if (!port) return;
      requireField(ctx, port.containerPort, fieldPath(pPath, 'containerPort'));
      const containerPort = readPort(ctx, port.containerPort, fieldPath(pPath, 'containerPort'));
      const name = readString(ctx, port.name, fieldPath(pPath, 'name'));
      const hostPort = readPort(ctx, port.hostPort, fieldPath(pPath, 'hostPort'));
      const protocol = readProtocol(ctx, port.protocol, fieldPath(pPath, 'protocol'));
      if (containerPort === undefined) return;
      ports.push({
        ...(name === undefined ? {} : { name }),
        containerPort,
        protocol,
        ...(hostPort === undefined ? {} : { hostPort }),
      });
    });
    out.push({ name: readString(ctx, map.name, fieldPath(cPath, 'name')) ?? '', ports });
  });
  return out;
}

function readTolerations(ctx: ObjectContext, value: unknown, path: string): Toleration[] {
  const out: Toleration[] = [];
  readList(ctx, value, path).forEach((item, i) => {
    const tPath = indexPath(path, i);
    const map = readMap(ctx, item, tPath);
    if (!map) return;
    const effect = readEnum(ctx, map.effect, fieldPath(tPath, 'effect'), TAINT_EFFECTS);
    out.push({
      key: readString(ctx, map.key, fieldPath(tPath, 'key')) ?? '',
      operator: readEnum(ctx, map.operator, fieldPath(tPath, 'operator'), TOLERATION_OPERATORS) ?? 'Equal',
      value: readString(ctx, map.value, fieldPath(tPath, 'value')) ?? '',
      ...(effect === undefined ? {} : { effect }),
    });
  });
  return out;
}

function readDnsConfig(ctx: ObjectContext, value: unknown, path: string): PodDnsConfig | undefined {
  const map = readMap(ctx, value, path);
  if (!map) return undefined;
  const nameservers: string[] = [];
  readList(ctx, map.nameservers, fieldPath(path, 'nameservers')).forEach((item, i) => {
    const ip = readIP(ctx, item, indexPath(fieldPath(path, 'nameservers'), i));
    if (ip) nameservers.push(ip.text);
  });
  const options: { name: string; value?: string }[] = [];
  readList(ctx, map.options, fieldPath(path, 'options')).forEach((item, i) => {
    const oPath = indexPath(fieldPath(path, 'options'), i);
    const option = readMap(ctx, item, oPath);
    if (!option) return;
    const name = readString(ctx, option.name, fieldPath(oPath, 'name'));
    // ndots and friends are often written as numbers in hand-made YAML.
    const raw = typeof option.value === 'number' ? String(option.value) : option.value;
    const optionValue = readString(ctx, raw, fieldPath(oPath, 'value'));
    if (name !== undefined) options.push({ name, ...(optionValue === undefined ? {} : { value: optionValue }) });
  });
  return { nameservers, searches: readStringList(ctx, map.searches, fieldPath(path, 'searches')), options };
}

/** A pod spec at `path` (`spec` for a Pod, `spec.template.spec` for a workload). */
export function parsePodSpec(ctx: ObjectContext, value: unknown, path: string): PodSpec {
  const map = readMap(ctx, value, path) ?? {};
  const at = (key: string) => fieldPath(path, key);
  const nodeName = readString(ctx, map.nodeName, at('nodeName'));
  const hostname = readString(ctx, map.hostname, at('hostname'));
  const subdomain = readString(ctx, map.subdomain, at('subdomain'));
  const dnsConfig = readDnsConfig(ctx, map.dnsConfig, at('dnsConfig'));
  return {
    ...(nodeName ? { nodeName } : {}),
    hostNetwork: readBool(ctx, map.hostNetwork, at('hostNetwork')) ?? false,
    ...(hostname ? { hostname } : {}),
    ...(subdomain ? { subdomain } : {}),
    dnsPolicy: readEnum(ctx, map.dnsPolicy, at('dnsPolicy'), DNS_POLICIES) ?? 'ClusterFirst',
    ...(dnsConfig ? { dnsConfig } : {}),
    containers: readContainers(ctx, map.containers, at('containers')),
    nodeSelector: readStringMap(ctx, map.nodeSelector, at('nodeSelector')),
    tolerations: readTolerations(ctx, map.tolerations, at('tolerations')),
  };
}

function readPodIPs(ctx: ObjectContext, status: YamlMap): string[] {
  if (status.podIPs !== undefined && status.podIPs !== null) {
    const out: string[] = [];
    readList(ctx, status.podIPs, 'status.podIPs').forEach((item, i) => {
      const path = indexPath('status.podIPs', i);
      const map = readMap(ctx, item, path);
      const ip = map && readIP(ctx, map.ip, fieldPath(path, 'ip'));
      if (ip && !out.includes(ip.text)) out.push(ip.text);
    });
    if (out.length > 0) return out;
  }
  const ip = readIP(ctx, status.podIP, 'status.podIP');
  return ip ? [ip.text] : [];
}

/** The Ready condition's status, when the pod reports one. */
function readReadyCondition(ctx: ObjectContext, value: unknown): boolean | undefined {
  let ready: boolean | undefined;
  readList(ctx, value, 'status.conditions').forEach((item, i) => {
    const path = indexPath('status.conditions', i);
    const map = readMap(ctx, item, path);
    if (map?.type !== 'Ready') return;
    const status = readEnum(ctx, map.status, fieldPath(path, 'status'), ['True', 'False', 'Unknown'] as const);
    if (status !== undefined) ready = status === 'True';
  });
  return ready;
}

export function parsePod(ctx: ObjectContext, meta: ObjectMeta, body: YamlMap): PodDraft {
  const status = readMap(ctx, body.status, 'status') ?? {};
  const givenPhase = readEnum(ctx, status.phase, 'status.phase', POD_PHASES);
  const givenReady = readReadyCondition(ctx, status.conditions);
  const hostIP = readIP(ctx, status.hostIP, 'status.hostIP')?.text;
  return {
    namespace: meta.namespace,
    name: meta.name,
    labels: meta.labels,
    annotations: meta.annotations,
    ownerReferences: meta.ownerReferences,
    origin: 'manifest',
    spec: parsePodSpec(ctx, body.spec, 'spec'),
    podIPs: readPodIPs(ctx, status),
    ...(hostIP === undefined ? {} : { hostIP }),
    ...(meta.deletionTimestamp === undefined ? {} : { deletionTimestamp: meta.deletionTimestamp }),
    ...(givenPhase === undefined ? {} : { givenPhase }),
    ...(givenReady === undefined ? {} : { givenReady }),
  };
}

/** Succeeded and Failed pods hold no IP that serves anything. */
export function isTerminal(phase: PodPhase | undefined): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}

/**
 * Settles phase and readiness once scheduling and IPAM are done. A pod that reports a
 * Ready condition keeps it (a dump loads as it was); one that does not is ready when it
 * is running (or says nothing) on a node with an IP, so plain manifests just work; a
 * terminating pod stays ready (it still serves) and the endpoints say it is terminating.
 */
export function finalizePod(draft: PodDraft): Pod {
  const { givenPhase, givenReady, ...rest } = draft;
  const placed = draft.spec.nodeName !== undefined && draft.podIPs.length > 0;
  const phase = givenPhase ?? (placed ? 'Running' : 'Pending');
  const ready = givenReady ?? (phase === 'Running' && placed);
  return { ...rest, phase, ready };
}

export function podKey(pod: { readonly namespace: string; readonly name: string }): string {
  return `${pod.namespace}/${pod.name}`;
}
