// How the kubernetes plugin reads a name below its zone:
//   _port._protocol.service.namespace.svc.zone
//   endpoint.service.namespace.svc.zone
//   service.namespace.svc|pod.zone
//   topozone.pin|prefer._zone.service.namespace.svc.zone   (the `zonal` option)
// Anything longer is a name error; anything whose last label below the zone is not
// `svc` or `pod` is an invalid request (also a name error).
import { labelsOf, trimZone } from './domain-name';

export interface RecordRequest {
  readonly port: string;
  readonly protocol: string;
  readonly endpoint: string;
  readonly service: string;
  readonly namespace: string;
  /** '' for the zone apex and `svc`/`pod` themselves. */
  readonly podOrSvc: '' | 'svc' | 'pod';
  /** A zone-scoped name's topology zone (lower case); '' otherwise. */
  readonly topologyZone: string;
  /** `prefer`: an empty zone falls back to every endpoint; `pin` answers NODATA. */
  readonly zonePrefer: boolean;
}

export type ParsedRequest = { readonly ok: true; readonly request: RecordRequest } | { readonly ok: false };

const EMPTY: RecordRequest = {
  port: '',
  protocol: '',
  endpoint: '',
  service: '',
  namespace: '',
  podOrSvc: '',
  topologyZone: '',
  zonePrefer: false,
};

const ZONE_LABEL = '_zone';

const stripUnderscore = (s: string) => (s.startsWith('_') ? s.slice(1) : s);

/** Parses a lower-cased query name inside `zone` (multicluster names are not modelled). */
export function parseRecordRequest(name: string, zone: string, zonal = false): ParsedRequest {
  const base = trimZone(name, zone);
  if (base === '' || base === 'svc' || base === 'pod') return { ok: true, request: EMPTY };
  const segs = labelsOf(base);
  let last = segs.length - 1;
  const podOrSvc = segs[last]!;
  if (podOrSvc !== 'svc' && podOrSvc !== 'pod') return { ok: false };
  const r = { ...EMPTY, podOrSvc } as { -readonly [K in keyof RecordRequest]: RecordRequest[K] };
  if (--last < 0) return { ok: true, request: r };
  r.namespace = segs[last]!;
  if (--last < 0) return { ok: true, request: r };
  r.service = segs[last]!;
  if (--last < 0) return { ok: true, request: r };
  if (last === 0) r.endpoint = segs[0]!;
  else if (last === 1) {
    r.protocol = stripUnderscore(segs[1]!);
    r.port = stripUnderscore(segs[0]!);
  } else {
    // A zone's value may itself hold dots: every label left of the directive.
    if (!zonal || segs[last] !== ZONE_LABEL || r.podOrSvc !== 'svc') return { ok: false };
    const directive = segs[last - 1];
    if (directive !== 'pin' && directive !== 'prefer') return { ok: false };
    r.zonePrefer = directive === 'prefer';
    r.topologyZone = segs.slice(0, last - 1).join('.');
  }
  return { ok: true, request: r };
}
