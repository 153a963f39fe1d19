// A loaded scenario: the cluster configuration and every object, with controllers'
// work already done (workloads expanded, pods scheduled and addressed, endpoints derived).
import type { ClusterConfig } from './cluster';
import type { ConfigMap } from './config-map';
import type { EndpointSlice } from './endpoint-slice';
import type { Endpoints } from './endpoints';
import type { Namespace } from './namespace';
import type { Node } from './node';
import type { Pod } from './pod';
import type { Service } from './service';
import type { ValidationIssue } from './validation-issue';
import type { Workload } from './workloads';

/** Objects of kinds knetsim does not read, counted for the summary. */
export interface IgnoredKind {
  readonly apiVersion: string;
  readonly kind: string;
  readonly count: number;
}

export interface Scenario {
  readonly file: string;
  /** YAML documents in the file (empty ones included). */
  readonly documents: number;
  readonly cluster: ClusterConfig;
  readonly nodes: readonly Node[];
  readonly namespaces: readonly Namespace[];
  /** Given pods first, then workload pods, in document order. */
  readonly pods: readonly Pod[];
  readonly services: readonly Service[];
  /** Given slices, then slices mirrored from Endpoints, then slices derived from pods. */
  readonly endpointSlices: readonly EndpointSlice[];
  /** v1 Endpoints as given (already mirrored into endpointSlices where needed). */
  readonly endpoints: readonly Endpoints[];
  readonly configMaps: readonly ConfigMap[];
  readonly workloads: readonly Workload[];
  readonly ignored: readonly IgnoredKind[];
}

export type ScenarioResult =
  | { readonly ok: true; readonly scenario: Scenario; readonly warnings: readonly ValidationIssue[] }
  | { readonly ok: false; readonly issues: readonly ValidationIssue[] };
