// v1 Node: addresses, pod CIDRs, the underlay subnet and what the scheduler looks at.
import {
  fieldPath,
  indexPath,
  readBool,
  readCIDR,
  readEnum,
  readIP,
  readList,
  readMap,
  readString,
  requireField,
  type YamlMap,
} from './field-reader';
import { enclosingCIDR, familyOf, type IPFamily, parseIP } from './ip-address';
import type { ObjectMeta } from './object-meta';
import type { ObjectContext } from './validation-issue';

export const NODE_ADDRESS_TYPES = ['InternalIP', 'ExternalIP', 'Hostname', 'InternalDNS', 'ExternalDNS'] as const;
export type NodeAddressType = (typeof NODE_ADDRESS_TYPES)[number];
export const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;
export type TaintEffect = (typeof TAINT_EFFECTS)[number];

export const SUBNET_ANNOTATION = 'knetsim.io/subnet';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';

export interface NodeAddress {
  readonly type: NodeAddressType;
  /** Canonical for IP types. */
  readonly address: string;
}

export interface Taint {
  readonly key: string;
  readonly value: string;
  readonly effect: TaintEffect;
}

export interface Node {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** Canonical CIDRs, at most one per family. */
  readonly podCIDRs: readonly string[];
  /** `spec` when given, `allocated` when knetsim allocated it as kube-controller-manager would. */
  readonly podCIDRSource: 'spec' | 'allocated' | 'none';
  readonly addresses: readonly NodeAddress[];
  /** The underlay subnet the node sits on (for flannel's directRouting / host-gw). */
  readonly subnet?: string;
  readonly unschedulable: boolean;
  readonly taints: readonly Taint[];
}

/** Labels the kubelet always sets; plain manifests omit them but nodeSelectors rely on them. */
function kubeletLabels(name: string): Record<string, string> {
  return { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' };
}

function readAddresses(ctx: ObjectContext, value: unknown): NodeAddress[] {
  const out: NodeAddress[] = [];
  readList(ctx, value, 'status.addresses').forEach((item, i) => {
    const path = indexPath('status.addresses', i);
    const map = readMap(ctx, item, path);
    if (!map) return;
    const type = readEnum(ctx, map.type, fieldPath(path, 'type'), NODE_ADDRESS_TYPES);
    requireField(ctx, map.type, fieldPath(path, 'type'));
    requireField(ctx, map.address, fieldPath(path, 'address'));
    if (type === 'InternalIP' || type === 'ExternalIP') {
      const ip = readIP(ctx, map.address, fieldPath(path, 'address'));
      if (ip) out.push({ type, address: ip.text });
    } else if (type !== undefined) {
      const address = readString(ctx, map.address, fieldPath(path, 'address'));
      if (address !== undefined) out.push({ type, address });
    }
  });
  return out;
}

function readTaints(ctx: ObjectContext, value: unknown): Taint[] {
  const out: Taint[] = [];
  readList(ctx, value, 'spec.taints').forEach((item, i) => {
    const path = indexPath('spec.taints', i);
    const map = readMap(ctx, item, path);
    if (!map) return;
    const key = readString(ctx, map.key, fieldPath(path, 'key'));
    requireField(ctx, map.key, fieldPath(path, 'key'));
    const effect = readEnum(ctx, map.effect, fieldPath(path, 'effect'), TAINT_EFFECTS);
    requireField(ctx, map.effect, fieldPath(path, 'effect'));
    const value = readString(ctx, map.value, fieldPath(path, 'value')) ?? '';
    if (key && effect) out.push({ key, value, effect });
  });
  return out;
}

function readPodCIDRs(ctx: ObjectContext, spec: YamlMap): string[] {
  if (spec.podCIDRs !== undefined && spec.podCIDRs !== null) {
    const out: string[] = [];
    readList(ctx, spec.podCIDRs, 'spec.podCIDRs').forEach((item, i) => {
      const cidr = readCIDR(ctx, item, indexPath('spec.podCIDRs', i));
      if (cidr) out.push(cidr.text);
    });
    return out;
  }
  const cidr = readCIDR(ctx, spec.podCIDR, 'spec.podCIDR');
  return cidr ? [cidr.text] : [];
}

export function parseNode(ctx: ObjectContext, meta: ObjectMeta, body: YamlMap): Node {
  const spec = readMap(ctx, body.spec, 'spec') ?? {};
  const status = readMap(ctx, body.status, 'status') ?? {};
  const addresses = readAddresses(ctx, status.addresses);
  const podCIDRs = readPodCIDRs(ctx, spec);
  const annotated = meta.annotations[SUBNET_ANNOTATION];
  const subnetPath = `metadata.annotations[${SUBNET_ANNOTATION}]`;
  const subnet = annotated === undefined ? defaultSubnet(addresses) : readCIDR(ctx, annotated, subnetPath)?.text;
  return {
    name: meta.name,
    labels: { ...kubeletLabels(meta.name), ...meta.labels },
    annotations: meta.annotations,
    podCIDRs,
    podCIDRSource: podCIDRs.length > 0 ? 'spec' : 'none',
    addresses,
    ...(subnet === undefined ? {} : { subnet }),
    unschedulable: readBool(ctx, spec.unschedulable, 'spec.unschedulable') ?? false,
    taints: readTaints(ctx, spec.taints),
  };
}

/** The /24 (IPv4) or /64 (IPv6) around the node's first InternalIP. */
function defaultSubnet(addresses: readonly NodeAddress[]): string | undefined {
  const first = addresses.find((a) => a.type === 'InternalIP');
  const ip = first && parseIP(first.address);
  if (!ip) return undefined;
  return enclosingCIDR(ip, ip.family === 'IPv4' ? 24 : 64).text;
}

/** The node's addresses of a type, optionally of one family, in the order given. */
export function nodeIPs(node: Node, type: 'InternalIP' | 'ExternalIP', family?: IPFamily): string[] {
  return node.addresses
    .filter((a) => a.type === type && (family === undefined || familyOf(a.address) === family))
    .map((a) => a.address);
}

/** The address a node is reached at for a family: its first InternalIP, else its first ExternalIP. */
export function primaryNodeIP(node: Node, family: IPFamily): string | undefined {
  return nodeIPs(node, 'InternalIP', family)[0] ?? nodeIPs(node, 'ExternalIP', family)[0];
}
