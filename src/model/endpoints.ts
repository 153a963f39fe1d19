// v1 Endpoints (the legacy API, still in every dump) and its conversion to
// EndpointSlices as the EndpointSlice mirroring controller performs it.
import {
  type EndpointPort,
  type EndpointSlice,
  type ObjectReference,
  readObjectReference,
  SERVICE_NAME_LABEL,
} from './endpoint-slice';
import {
  fieldPath,
  indexPath,
  readIP,
  readList,
  readMap,
  readPort,
  readString,
  requireField,
  type YamlMap,
} from './field-reader';
import { familyOf, IP_FAMILIES } from './ip-address';
import type { ObjectMeta } from './object-meta';
import { readProtocol } from './protocol';
import { uniqueGeneratedName } from './stable-hash';
import type { ObjectContext } from './validation-issue';

export interface EndpointAddress {
  readonly ip: string;
  readonly hostname?: string;
  readonly nodeName?: string;
  readonly targetRef?: ObjectReference;
}

export interface EndpointSubset {
  readonly addresses: readonly EndpointAddress[];
  readonly notReadyAddresses: readonly EndpointAddress[];
  readonly ports: readonly EndpointPort[];
}

export interface Endpoints {
  readonly namespace: string;
  /** Always the name of the Service it belongs to. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly subsets: readonly EndpointSubset[];
}

export const MIRRORING_CONTROLLER = 'endpointslicemirroring-controller.k8s.io';

function readAddresses(ctx: ObjectContext, value: unknown, path: string): EndpointAddress[] {
  const out: EndpointAddress[] = [];
  readList(ctx, value, path).forEach((item, i) => {
    const aPath = indexPath(path, i);
    const map = readMap(ctx, item, aPath);
    if (!map) return;
    requireField(ctx, map.ip, fieldPath(aPath, 'ip'));
    const ip = readIP(ctx, map.ip, fieldPath(aPath, 'ip'));
    const hostname = readString(ctx, map.hostname, fieldPath(aPath, 'hostname'));
    const nodeName = readString(ctx, map.nodeName, fieldPath(aPath, 'nodeName'));
    const targetRef = readObjectReference(ctx, map.targetRef, fieldPath(aPath, 'targetRef'));
    if (!ip) return;
    out.push({
      ip: ip.text,
      ...(hostname === undefined ? {} : { hostname }),
      ...(nodeName === undefined ? {} : { nodeName }),
      ...(targetRef === undefined ? {} : { targetRef }),
    });
  });
  return out;
}

function readPorts(ctx: ObjectContext, value: unknown, path: string): EndpointPort[] {
  const out: EndpointPort[] = [];
  readList(ctx, value, path).forEach((item, i) => {
    const pPath = indexPath(path, i);
    const map = readMap(ctx, item, pPath);
    if (!map) return;
    requireField(ctx, map.port, fieldPath(pPath, 'port'));
    const port = readPort(ctx, map.port, fieldPath(pPath, 'port'));
    const appProtocol = readString(ctx, map.appProtocol, fieldPath(pPath, 'appProtocol'));
    out.push({
      name: readString(ctx, map.name, fieldPath(pPath, 'name')) ?? '',
      ...(port === undefined ? {} : { port }),
      protocol: readProtocol(ctx, map.protocol, fieldPath(pPath, 'protocol')),
      ...(appProtocol === undefined ? {} : { appProtocol }),
    });
  });
  return out;
}

export function parseEndpoints(ctx: ObjectContext, meta: ObjectMeta, body: YamlMap): Endpoints {
  const subsets: EndpointSubset[] = [];
  readList(ctx, body.subsets, 'subsets').forEach((item, i) => {
    const path = indexPath('subsets', i);
    const map = readMap(ctx, item, path);
    if (!map) return;
    subsets.push({
      addresses: readAddresses(ctx, map.addresses, fieldPath(path, 'addresses')),
      notReadyAddresses: readAddresses(ctx, map.notReadyAddresses, fieldPath(path, 'notReadyAddresses')),
      ports: readPorts(ctx, map.ports, fieldPath(path, 'ports')),
    });
  });
  return { namespace: meta.namespace, name: meta.name, labels: meta.labels, subsets };
}

/**
 * One EndpointSlice per subset and address family, as the mirroring controller writes
 * them: only the Ready condition is set (so serving reads as its nil default, true),
 * not-ready addresses are ready=false, names are `<endpoints>-<suffix>`.
 */
export function mirrorEndpoints(endpoints: Endpoints, takenNames: Set<string>): EndpointSlice[] {
  const slices: EndpointSlice[] = [];
  endpoints.subsets.forEach((subset, i) => {
    for (const family of IP_FAMILIES) {
      const pick = (list: readonly EndpointAddress[], ready: boolean) =>
        list
          .filter((a) => familyOf(a.ip) === family)
          .map((a) => ({
            addresses: [a.ip],
            ready,
            serving: true,
            terminating: false,
            ...(a.nodeName === undefined ? {} : { nodeName: a.nodeName }),
            ...(a.hostname === undefined ? {} : { hostname: a.hostname }),
            ...(a.targetRef === undefined ? {} : { targetRef: a.targetRef }),
            zoneHints: [],
            nodeHints: [],
          }));
      const members = [...pick(subset.addresses, true), ...pick(subset.notReadyAddresses, false)];
      if (members.length === 0) continue;
      const seed = `endpoints/${endpoints.namespace}/${endpoints.name}/${i}/${family}`;
      slices.push({
        namespace: endpoints.namespace,
        name: uniqueGeneratedName(`${endpoints.name}-`, seed, takenNames),
        labels: {
          ...endpoints.labels,
          [SERVICE_NAME_LABEL]: endpoints.name,
          'endpointslice.kubernetes.io/managed-by': MIRRORING_CONTROLLER,
        },
        serviceName: endpoints.name,
        addressType: family,
        endpoints: members,
        ports: subset.ports,
        origin: 'endpoints',
      });
    }
  });
  return slices;
}
