// The scenario loader: YAML text to a validated Scenario, running the controllers a
// cluster would (workloads, scheduling, IPAM, cluster IPs, endpoints) on the way.
// Every problem of the file is collected; bad input never throws.
import { readFile } from 'node:fs/promises';
import { type ClusterConfig, defaultClusterConfig, parseClusterConfig, withConfigMapCorefile } from './cluster';
import { allocateClusterIPs } from './cluster-ip-allocator';
import { type ConfigMap, coreDnsCorefile, parseConfigMap } from './config-map';
import { type EndpointSlice, parseEndpointSlice } from './endpoint-slice';
import { deriveEndpointSlices, indexPodsByLabel } from './endpoint-slice-controller';
import { type Endpoints, mirrorEndpoints, parseEndpoints } from './endpoints';
import { indexPath, type YamlMap } from './field-reader';
import { cidrsOverlap, parseCIDR } from './ip-address';
import { collectNamespaces, type Namespace } from './namespace';
import { type Node, parseNode } from './node';
import { allocateNodeCIDRs } from './node-cidr-allocator';
import { type NameRule, type ObjectMeta, objectLabel, parseObjectMeta, peekIdentity } from './object-meta';
import { finalizePod, type Pod, type PodDraft, parsePod } from './pod';
import { assignPodIPs, outsidePodCIDR } from './pod-ipam';
import type { IgnoredKind, Scenario, ScenarioResult } from './scenario';
import { schedulePods } from './scheduler';
import { parseService, type Service } from './service';
import { type TakenNames, takenIn } from './stable-hash';
import {
  type IssueLog,
  newIssueLog,
  type ObjectContext,
  reportError,
  reportWarning,
  type ValidationIssue,
} from './validation-issue';
import { expandWorkloads, parseWorkload, type Workload, type WorkloadDraft, type WorkloadKind } from './workloads';
import { type RawObject, readYamlObjects } from './yaml-documents';

/** Everything read from the file, before the controllers run. */
interface Collected {
  cluster?: { config: ClusterConfig; document: number };
  readonly nodes: Node[];
  readonly pods: PodDraft[];
  readonly services: Service[];
  readonly slices: EndpointSlice[];
  readonly endpoints: Endpoints[];
  readonly configMaps: ConfigMap[];
  readonly namespaces: Namespace[];
  readonly workloads: WorkloadDraft[];
  readonly ignored: Map<string, IgnoredKind>;
  /** `Kind ns/name` to where it was defined, to attribute later findings. */
  readonly origins: Map<string, { document: number; prefix: string }>;
}

/** Parses one object; the returned step files it, run only when the object had no errors. */
type Reader = (ctx: ObjectContext, meta: ObjectMeta, body: YamlMap) => (into: Collected) => void;

interface KindSpec {
  readonly version: string;
  readonly namespaced: boolean;
  readonly read: Reader;
  /** The API server's rule for its names (a subdomain when not given). */
  readonly names?: NameRule;
}

function reader<T>(
  parse: (ctx: ObjectContext, meta: ObjectMeta, body: YamlMap) => T,
  list: (into: Collected) => T[],
): Reader {
  return (ctx, meta, body) => {
    const value = parse(ctx, meta, body);
    return (into) => {
      list(into).push(value);
    };
  };
}

const workload = (kind: WorkloadKind): Reader =>
  reader(
    (c, m, b) => parseWorkload(c, kind, m, b),
    (i) => i.workloads,
  );

const namespace = (_ctx: ObjectContext, meta: ObjectMeta): Namespace => ({
  name: meta.name,
  labels: meta.labels,
  declared: true,
});

/** The kinds knetsim reads, by `group/Kind` (core group empty). */
const KINDS: Readonly<Record<string, KindSpec>> = {
  '/Node': { version: 'v1', namespaced: false, read: reader(parseNode, (i) => i.nodes) },
  '/Pod': { version: 'v1', namespaced: true, read: reader(parsePod, (i) => i.pods) },
  '/Service': { version: 'v1', namespaced: true, read: reader(parseService, (i) => i.services), names: 'dns1035' },
  '/Namespace': { version: 'v1', namespaced: false, read: reader(namespace, (i) => i.namespaces), names: 'label' },
  '/ConfigMap': { version: 'v1', namespaced: true, read: reader(parseConfigMap, (i) => i.configMaps) },
  '/Endpoints': { version: 'v1', namespaced: true, read: reader(parseEndpoints, (i) => i.endpoints) },
  'discovery.k8s.io/EndpointSlice': {
    version: 'v1',
    namespaced: true,
    read: reader(parseEndpointSlice, (i) => i.slices),
  },
  'apps/Deployment': { version: 'v1', namespaced: true, read: workload('Deployment') },
  'apps/ReplicaSet': { version: 'v1', namespaced: true, read: workload('ReplicaSet') },
  'apps/StatefulSet': { version: 'v1', namespaced: true, read: workload('StatefulSet') },
  'apps/DaemonSet': { version: 'v1', namespaced: true, read: workload('DaemonSet') },
};

const CLUSTER_GROUP = 'knetsim.io';
const CLUSTER_VERSION = 'v1alpha1';

function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

function readObject(raw: RawObject, file: string, log: IssueLog, into: Collected): void {
  const { group, version } = splitApiVersion(raw.apiVersion);
  const isCluster = group === CLUSTER_GROUP && raw.kind === 'Cluster';
  const spec = KINDS[`${group}/${raw.kind}`];
  if (!spec && !isCluster) {
    const key = `${raw.apiVersion} ${raw.kind}`;
    const seen = into.ignored.get(key);
    into.ignored.set(key, { apiVersion: raw.apiVersion, kind: raw.kind, count: (seen?.count ?? 0) + 1 });
    return;
  }
  const namespaced = spec?.namespaced ?? false;
  const { name, namespace } = peekIdentity(raw.body, namespaced);
  const ctx: ObjectContext = {
    file,
    document: raw.document,
    object: objectLabel(raw.kind, namespace, name),
    prefix: raw.prefix,
    log,
  };
  const expected = isCluster ? CLUSTER_VERSION : spec!.version;
  if (version !== expected) {
    const want = group === '' ? expected : `${group}/${expected}`;
    reportError(
      ctx,
      'apiVersion',
      'unsupported-api-version',
      `${JSON.stringify(raw.apiVersion)} is not supported for ${raw.kind} (use ${want})`,
    );
    return;
  }
  if (isCluster) {
    if (into.cluster) {
      reportError(
        ctx,
        '',
        'duplicate-cluster',
        `only one Cluster document is allowed (the first is document ${into.cluster.document})`,
      );
      return;
    }
    into.cluster = { config: parseClusterConfig(ctx, raw.body), document: raw.document };
    return;
  }
  const errorsBefore = log.errors.length;
  const meta = parseObjectMeta(ctx, raw.body.metadata, namespaced, spec!.names);
  const key = `${raw.kind} ${meta.namespace}/${meta.name}`;
  const first = into.origins.get(key);
  if (meta.name !== '' && first) {
    reportError(ctx, '', 'duplicate-object', `defined twice (first in document ${first.document})`);
    return;
  }
  if (meta.name !== '') into.origins.set(key, { document: raw.document, prefix: raw.prefix });
  const fileIt = spec!.read(ctx, meta, raw.body);
  // Objects with errors stay out of what follows, so one mistake does not cascade.
  if (log.errors.length === errorsBefore) fileIt(into);
}

/** Builds the context of a finding made after reading, attributed to where the object (or its workload) was defined. */
type Attribute = (
  kind: string,
  namespace: string,
  name: string,
  owner?: { kind: string; name: string },
) => ObjectContext;

function attributor(file: string, log: IssueLog, origins: Collected['origins']): Attribute {
  return (kind, namespace, name, owner) => {
    const own = origins.get(`${kind} ${namespace}/${name}`);
    const from = owner && origins.get(`${owner.kind} ${namespace}/${owner.name}`);
    const origin = own ?? from ?? { document: 0, prefix: '' };
    const suffix = !own && from && owner ? ` (from ${objectLabel(owner.kind, namespace, owner.name)})` : '';
    return {
      file,
      document: origin.document,
      object: objectLabel(kind, namespace, name) + suffix,
      prefix: origin.prefix,
      log,
    };
  };
}

/**
 * A nodePort serves one Service (per protocol within that Service). The API server enforces
 * it, kube-proxy does not (its own tests share one), so a clash is only a warning.
 */
function checkNodePorts(services: readonly Service[], at: Attribute): void {
  const owners = new Map<number, { service: Service; index: number }>();
  for (const service of services) {
    service.ports.forEach((port, index) => {
      if (port.nodePort === undefined) return;
      const earlier = owners.get(port.nodePort);
      const path = `${indexPath('spec.ports', index)}.nodePort`;
      const ctx = () => at('Service', service.namespace, service.name);
      if (!earlier) {
        owners.set(port.nodePort, { service, index });
      } else if (earlier.service !== service) {
        const other = objectLabel('Service', earlier.service.namespace, earlier.service.name);
        reportWarning(
          ctx(),
          path,
          'duplicate-node-port',
          `${port.nodePort} is already the nodePort of ${other} (spec.ports[${earlier.index}])`,
        );
      } else if (
        service.ports.slice(0, index).some((p) => p.nodePort === port.nodePort && p.protocol === port.protocol)
      ) {
        reportWarning(
          ctx(),
          path,
          'duplicate-node-port',
          `${port.nodePort}/${port.protocol} is used twice in this Service`,
        );
      }
    });
  }
}

function checkClusterIPs(services: readonly Service[], at: Attribute): void {
  const owners = new Map<string, Service>();
  for (const service of services) {
    for (const ip of service.clusterIPs) {
      const earlier = owners.get(ip);
      if (!earlier) {
        owners.set(ip, service);
        continue;
      }
      const other = objectLabel('Service', earlier.namespace, earlier.name);
      reportWarning(
        at('Service', service.namespace, service.name),
        'spec.clusterIP',
        'duplicate-cluster-ip',
        `${ip} is also the cluster IP of ${other}`,
      );
    }
  }
}

/** Two nodes given overlapping pod CIDRs: node IPAM never does this, and flannel's routes would collide. */
function checkPodCIDRs(nodes: readonly Node[], at: Attribute): void {
  const seen: { node: Node; cidr: string }[] = [];
  for (const node of nodes) {
    for (const cidr of node.podCIDRs) {
      const earlier = seen.find((s) => cidrsOverlap(parseCIDR(s.cidr)!, parseCIDR(cidr)!));
      if (earlier)
        reportError(
          at('Node', '', node.name),
          'spec.podCIDR',
          'overlapping-pod-cidr',
          `${cidr} overlaps ${earlier.cidr}, the pod CIDR of node ${earlier.node.name}`,
        );
      seen.push({ node, cidr });
    }
  }
}

/**
 * A node without an InternalIP: alone, kube-proxy just has no node IP (a warning); beside
 * other nodes, flannel has no public IP to route or tunnel to it, which is an error.
 */
function checkNodeAddresses(nodes: readonly Node[], at: Attribute): void {
  for (const node of nodes) {
    if (node.addresses.some((a) => a.type === 'InternalIP')) continue;
    if (nodes.length === 1)
      reportWarning(
        at('Node', '', node.name),
        'status.addresses',
        'node-without-address',
        'the node has no InternalIP address',
      );
    else
      reportError(
        at('Node', '', node.name),
        'status.addresses',
        'node-without-address',
        `the node has no InternalIP address: the other ${nodes.length - 1} node${nodes.length > 2 ? 's' : ''} could not reach it (flannel needs its public IP)`,
      );
  }
}

/** kube-controller-manager's node IPAM: pod CIDRs for nodes that lack one. */
function allocateNodes(into: Collected, cluster: ClusterConfig, at: Attribute): Node[] {
  const { nodes, exhausted } = allocateNodeCIDRs(into.nodes, cluster.clusterCIDR);
  for (const name of exhausted) {
    reportWarning(
      at('Node', '', name),
      'spec.podCIDR',
      'pod-cidr-exhausted',
      `no /24 of ${cluster.clusterCIDR} is left for this node`,
    );
  }
  return nodes;
}

/** Workload controllers, the scheduler and host-local IPAM, in that order. */
function placePods(into: Collected, nodes: readonly Node[], at: Attribute): { pods: Pod[]; workloads: Workload[] } {
  const nodeByName = new Map(nodes.map((n) => [n.name, n]));
  for (const pod of into.pods) {
    if (pod.spec.nodeName !== undefined && !nodeByName.has(pod.spec.nodeName)) {
      const message = `node ${JSON.stringify(pod.spec.nodeName)} is not in the scenario`;
      reportWarning(at('Pod', pod.namespace, pod.name), 'spec.nodeName', 'unknown-node', message);
    }
    const node = nodeByName.get(pod.spec.nodeName ?? '');
    const outside = node && outsidePodCIDR(pod, node);
    if (node && outside !== undefined) {
      const message = `${outside} is outside the pod CIDR of node ${node.name} (${node.podCIDRs.join(', ')})`;
      reportWarning(at('Pod', pod.namespace, pod.name), 'status.podIP', 'pod-ip-outside-cidr', message);
    }
  }
  const expansion = expandWorkloads(into.workloads, into.pods, nodes);
  const podCtx = (pod: PodDraft) =>
    at('Pod', pod.namespace, pod.name, expansion.owners.get(`${pod.namespace}/${pod.name}`));
  const scheduled = schedulePods(nodes, [...into.pods, ...expansion.pods]);
  for (const { pod, reasons } of scheduled.unschedulable) {
    const why = nodes.length === 0 ? 'the scenario has no Node' : `no node can run it (${reasons.join('; ')})`;
    reportWarning(podCtx(pod), 'spec.nodeName', 'no-eligible-node', `${why}; it stays Pending without an IP`);
  }
  const ipam = assignPodIPs(nodes, scheduled.pods);
  for (const { pod, reason } of ipam.failures) {
    reportWarning(podCtx(pod), 'status.podIP', 'no-pod-ip', `no address for the pod: ${reason}`);
  }
  return { pods: ipam.pods.map(finalizePod), workloads: expansion.workloads };
}

/** The service IP allocator: cluster IPs for Services that lack one. */
function allocateServices(into: Collected, cluster: ClusterConfig, at: Attribute): Service[] {
  const { services, exhausted } = allocateClusterIPs(into.services, cluster);
  for (const s of exhausted) {
    reportWarning(
      at('Service', s.namespace, s.name),
      'spec.clusterIP',
      'service-cidr-exhausted',
      `no free address left in ${cluster.serviceCIDR}`,
    );
  }
  return services;
}

/**
 * The endpoints controllers: slices given win; Endpoints are mirrored for Services
 * without slices; selector Services with neither get slices derived from their pods.
 */
function controllerSlices(
  into: Collected,
  services: readonly Service[],
  pods: readonly Pod[],
  nodes: readonly Node[],
): EndpointSlice[] {
  const taken: TakenNames = new Map();
  for (const slice of into.slices) takenIn(taken, slice.namespace).add(slice.name);
  const withSlices = new Set(into.slices.map((s) => `${s.namespace}/${s.serviceName ?? ''}`));
  const mirrored = into.endpoints
    .filter((e) => !withSlices.has(`${e.namespace}/${e.name}`))
    .flatMap((e) => mirrorEndpoints(e, takenIn(taken, e.namespace)));
  const withEndpoints = new Set(into.endpoints.map((e) => `${e.namespace}/${e.name}`));
  const podIndex = indexPodsByLabel(pods);
  const nodeByName = new Map(nodes.map((n) => [n.name, n]));
  const derived = services
    .filter((s) => !withSlices.has(`${s.namespace}/${s.name}`) && !withEndpoints.has(`${s.namespace}/${s.name}`))
    .flatMap((s) => deriveEndpointSlices(s, podIndex, nodeByName, takenIn(taken, s.namespace)));
  return [...mirrored, ...derived];
}

/** Issues in the order of the file (findings across objects come last within their document). */
function inDocumentOrder(issues: readonly ValidationIssue[]): ValidationIssue[] {
  return [...issues].sort((a, b) => a.document - b.document);
}

/** Loads a scenario from YAML text; `fileName` only names the file in issues. */
export function loadScenario(text: string, fileName: string): ScenarioResult {
  const log = newIssueLog();
  const { objects, documents } = readYamlObjects(text, fileName, log);
  const into: Collected = {
    nodes: [],
    pods: [],
    services: [],
    slices: [],
    endpoints: [],
    configMaps: [],
    namespaces: [],
    workloads: [],
    ignored: new Map(),
    origins: new Map(),
  };
  for (const raw of objects) readObject(raw, fileName, log, into);
  const at = attributor(fileName, log, into.origins);
  checkNodePorts(into.services, at);
  checkPodCIDRs(into.nodes, at);
  checkNodeAddresses(into.nodes, at);
  if (log.errors.length > 0) return { ok: false, issues: inDocumentOrder(log.errors) };

  // Valid input from here on: run the controllers a cluster would; they only warn.
  checkClusterIPs(into.services, at);
  const cluster = withConfigMapCorefile(
    into.cluster?.config ?? defaultClusterConfig(),
    coreDnsCorefile(into.configMaps),
  );
  const nodes = allocateNodes(into, cluster, at);
  const { pods, workloads } = placePods(into, nodes, at);
  const services = allocateServices(into, cluster, at);
  const used = [...pods, ...services, ...into.slices, ...into.endpoints, ...into.configMaps, ...workloads];
  const scenario: Scenario = {
    file: fileName,
    documents,
    cluster,
    nodes,
    namespaces: collectNamespaces(
      into.namespaces,
      used.map((o) => o.namespace),
    ),
    pods,
    services,
    endpointSlices: [...into.slices, ...controllerSlices(into, services, pods, nodes)],
    endpoints: into.endpoints,
    configMaps: into.configMaps,
    workloads,
    ignored: [...into.ignored.values()],
  };
  return { ok: true, scenario, warnings: inDocumentOrder(log.warnings) };
}

/** Reads and loads a scenario file; `-` reads standard input. */
export async function loadScenarioFile(path: string): Promise<ScenarioResult> {
  const fileName = path === '-' ? '<stdin>' : path;
  let text: string;
  try {
    text = path === '-' ? await readStdin() : await readFile(path, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    const issue: ValidationIssue = {
      code: 'read-error',
      file: fileName,
      document: 0,
      object: '',
      path: '',
      message: `cannot read the file: ${reason}`,
    };
    return { ok: false, issues: [issue] };
  }
  return loadScenario(text, fileName);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
