// How the kubernetes plugin reads a name below its zone:
//   _port._protocol.service.namespace.svc.zone
//   endpoint.service.namespace.svc.zone
//   service.namespace.svc|pod.zone
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
}

export type ParsedRequest = { readonly ok: true; readonly request: RecordRequest } | { readonly ok: false };

const EMPTY: RecordRequest = { port: '', protocol: '', endpoint: '', service: '', namespace: '', podOrSvc: '' };

const stripUnderscore = (s: string) => (s.startsWith('_') ? s.slice(1) : s);

/** Parses a lower-cased query name inside `zone` (multicluster and zonal names are not modelled). */
export function parseRecordRequest(name: string, zone: string): ParsedRequest {
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
  } else return { ok: false };
  return { ok: true, request: r };
}
