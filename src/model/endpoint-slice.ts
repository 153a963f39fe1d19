// discovery.k8s.io/v1 EndpointSlice: a Service's endpoints as kube-proxy and CoreDNS
// read them, conditions resolved with the API's nil defaults.
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
  type YamlMap,
} from './field-reader';
import type { ObjectMeta } from './object-meta';
import { type Protocol, readProtocol } from './protocol';
import { type ObjectContext, reportWarning } from './validation-issue';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const ADDRESS_TYPES = ['IPv4', 'IPv6', 'FQDN'] as const;
export type AddressType = (typeof ADDRESS_TYPES)[number];

export interface ObjectReference {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly uid?: string;
}

export interface Endpoint {
  /** Canonical IPs (or names for FQDN slices); consumers use the first. */
  readonly addresses: readonly string[];
  /** nil means true (API). */
  readonly ready: boolean;
  /** nil means true (API and kube-proxy), not "same as ready". */
  readonly serving: boolean;
  /** nil means false. */
  readonly terminating: boolean;
  readonly nodeName?: string;
  readonly zone?: string;
  readonly hostname?: string;
  readonly targetRef?: ObjectReference;
  readonly zoneHints: readonly string[];
  readonly nodeHints: readonly string[];
}

export interface EndpointPort {
  /** Empty for an unnamed port (matches the Service's unnamed port). */
  readonly name: string;
  /** Absent means "all ports", which kube-proxy ignores. */
  readonly port?: number;
  readonly protocol: Protocol;
  readonly appProtocol?: string;
}

export interface EndpointSlice {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** From the kubernetes.io/service-name label; slices without it belong to no Service. */
  readonly serviceName?: string;
  readonly addressType: AddressType;
  readonly endpoints: readonly Endpoint[];
  readonly ports: readonly EndpointPort[];
  /** `manifest` as given, `endpoints` mirrored from a v1 Endpoints, `controller` derived from pods. */
  readonly origin: 'manifest' | 'endpoints' | 'controller';
}

export function readObjectReference(ctx: ObjectContext, value: unknown, path: string): ObjectReference | undefined {
  const map = readMap(ctx, value, path);
  if (!map) return undefined;
  const namespace = readString(ctx, map.namespace, fieldPath(path, 'namespace'));
  const uid = readString(ctx, map.uid, fieldPath(path, 'uid'));
  return {
    kind: readString(ctx, map.kind, fieldPath(path, 'kind')) ?? '',
    ...(namespace === undefined ? {} : { namespace }),
    name: readString(ctx, map.name, fieldPath(path, 'name')) ?? '',
    ...(uid === undefined ? {} : { uid }),
  };
}

function readHintNames(ctx: ObjectContext, value: unknown, path: string): string[] {
  const out: string[] = [];
  readList(ctx, value, path).forEach((item, i) => {
    const map = readMap(ctx, item, indexPath(path, i));
    const name = map && readString(ctx, map.name, fieldPath(indexPath(path, i), 'name'));
    if (name !== undefined && name !== null) out.push(name);
  });
  return out;
}

function readEndpoint(
  ctx: ObjectContext,
  value: unknown,
  path: string,
  addressType: AddressType,
): Endpoint | undefined {
  const map = readMap(ctx, value, path);
  if (!map) return undefined;
  const addresses: string[] = [];
  readList(ctx, map.addresses, fieldPath(path, 'addresses')).forEach((item, i) => {
    const aPath = indexPath(fieldPath(path, 'addresses'), i);
    if (addressType === 'FQDN') {
      const name = readString(ctx, item, aPath);
      if (name !== undefined) addresses.push(name);
    } else {
      const ip = readIP(ctx, item, aPath, addressType);
      if (ip) addresses.push(ip.text);
    }
  });
  const conditions = readMap(ctx, map.conditions, fieldPath(path, 'conditions')) ?? {};
  const cPath = (key: string) => fieldPath(fieldPath(path, 'conditions'), key);
  const hints = readMap(ctx, map.hints, fieldPath(path, 'hints')) ?? {};
  const nodeName = readString(ctx, map.nodeName, fieldPath(path, 'nodeName'));
  const zone = readString(ctx, map.zone, fieldPath(path, 'zone'));
  const hostname = readString(ctx, map.hostname, fieldPath(path, 'hostname'));
  const targetRef = readObjectReference(ctx, map.targetRef, fieldPath(path, 'targetRef'));
  return {
    addresses,
    ready: readBool(ctx, conditions.ready, cPath('ready')) ?? true,
    serving: readBool(ctx, conditions.serving, cPath('serving')) ?? true,
    terminating: readBool(ctx, conditions.terminating, cPath('terminating')) ?? false,
    ...(nodeName === undefined ? {} : { nodeName }),
    ...(zone === undefined ? {} : { zone }),
    ...(hostname === undefined ? {} : { hostname }),
    ...(targetRef === undefined ? {} : { targetRef }),
    zoneHints: readHintNames(ctx, hints.forZones, fieldPath(fieldPath(path, 'hints'), 'forZones')),
    nodeHints: readHintNames(ctx, hints.forNodes, fieldPath(fieldPath(path, 'hints'), 'forNodes')),
  };
}

function readEndpointPorts(ctx: ObjectContext, value: unknown): EndpointPort[] {
  const out: EndpointPort[] = [];
  readList(ctx, value, 'ports').forEach((item, i) => {
    const path = indexPath('ports', i);
    const map = readMap(ctx, item, path);
    if (!map) return;
    const port = readPort(ctx, map.port, fieldPath(path, 'port'));
    const appProtocol = readString(ctx, map.appProtocol, fieldPath(path, 'appProtocol'));
    out.push({
      name: readString(ctx, map.name, fieldPath(path, 'name')) ?? '',
      ...(port === undefined ? {} : { port }),
      protocol: readProtocol(ctx, map.protocol, fieldPath(path, 'protocol')),
      ...(appProtocol === undefined ? {} : { appProtocol }),
    });
  });
  return out;
}

export function parseEndpointSlice(ctx: ObjectContext, meta: ObjectMeta, body: YamlMap): EndpointSlice {
  const addressType = readEnum(ctx, body.addressType, 'addressType', ADDRESS_TYPES) ?? 'IPv4';
  const endpoints: Endpoint[] = [];
  readList(ctx, body.endpoints, 'endpoints').forEach((item, i) => {
    const endpoint = readEndpoint(ctx, item, indexPath('endpoints', i), addressType);
    if (endpoint) endpoints.push(endpoint);
  });
  const serviceName = meta.labels[SERVICE_NAME_LABEL];
  if (!serviceName) {
    reportWarning(
      ctx,
      'metadata.labels',
      'missing-service-name',
      `no ${SERVICE_NAME_LABEL} label: the slice belongs to no Service and kube-proxy ignores it`,
    );
  }
  return {
    namespace: meta.namespace,
    name: meta.name,
    labels: meta.labels,
    ...(serviceName ? { serviceName } : {}),
    addressType,
    endpoints,
    ports: readEndpointPorts(ctx, body.ports),
    origin: 'manifest',
  };
}
