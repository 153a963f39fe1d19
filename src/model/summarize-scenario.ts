// A short account of what a scenario holds, for `knetsim rules` to print before the rules.
import type { EndpointSlice } from './endpoint-slice';
import type { Scenario } from './scenario';
import type { Service } from './service';

export interface ScenarioCounts {
  readonly nodes: number;
  readonly namespaces: number;
  readonly pods: number;
  readonly unscheduledPods: number;
  readonly services: number;
  readonly endpointSlices: number;
  /** Endpoints over all slices. */
  readonly endpoints: number;
  readonly workloads: number;
  readonly configMaps: number;
  /** Objects of kinds knetsim does not read. */
  readonly ignored: number;
}

export interface ScenarioSummary {
  readonly counts: ScenarioCounts;
  /** Pods per node name. */
  readonly podsPerNode: Readonly<Record<string, number>>;
  readonly text: string;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `80/TCP`, `80:3001/TCP(http)`, as kubectl prints a port and its nodePort. */
function servicePorts(service: Service): string {
  return service.ports
    .map(
      (p) =>
        `${p.port}${p.nodePort === undefined ? '' : `:${p.nodePort}`}/${p.protocol}${p.name === '' ? '' : `(${p.name})`}`,
    )
    .join(',');
}

function serviceLine(s: Service): string {
  const address =
    s.type === 'ExternalName' ? (s.externalName ?? '') : s.headless ? 'None' : s.clusterIPs.join(',') || '<none>';
  const parts = [`${s.namespace}/${s.name}`, s.type, address, servicePorts(s) || '<no ports>'];
  if (s.externalIPs.length > 0) parts.push(`externalIPs ${s.externalIPs.join(',')}`);
  const ingress = s.loadBalancerIngress.map((i) => i.ip ?? i.hostname).filter((x) => x !== undefined);
  if (ingress.length > 0) parts.push(`lb ${ingress.join(',')}`);
  if (s.externalTrafficPolicy === 'Local') parts.push('eTP Local');
  if (s.internalTrafficPolicy === 'Local') parts.push('iTP Local');
  if (s.sessionAffinity === 'ClientIP') parts.push(`affinity ClientIP ${s.sessionAffinityTimeoutSeconds}s`);
  return `  ${parts.join('  ')}`;
}

function sliceLine(slice: EndpointSlice): string {
  const ready = slice.endpoints.filter((e) => e.ready).length;
  const ports = slice.ports.map((p) => `${p.name === '' ? '' : `${p.name}:`}${p.port ?? '*'}/${p.protocol}`).join(',');
  return `  ${slice.namespace}/${slice.name}  ${slice.serviceName ?? '<no service>'}  ${slice.addressType}  ${plural(slice.endpoints.length, 'endpoint')} (${ready} ready)  ${ports || '<no ports>'}${slice.origin === 'manifest' ? '' : `  [${slice.origin === 'controller' ? 'derived' : 'from Endpoints'}]`}`;
}

export function summarizeScenario(scenario: Scenario): ScenarioSummary {
  const podsPerNode: Record<string, number> = {};
  for (const node of scenario.nodes) podsPerNode[node.name] = 0;
  let unscheduledPods = 0;
  for (const pod of scenario.pods) {
    const node = pod.spec.nodeName;
    if (node === undefined) unscheduledPods++;
    else podsPerNode[node] = (podsPerNode[node] ?? 0) + 1;
  }
  const counts: ScenarioCounts = {
    nodes: scenario.nodes.length,
    namespaces: scenario.namespaces.length,
    pods: scenario.pods.length,
    unscheduledPods,
    services: scenario.services.length,
    endpointSlices: scenario.endpointSlices.length,
    endpoints: scenario.endpointSlices.reduce((n, s) => n + s.endpoints.length, 0),
    workloads: scenario.workloads.length,
    configMaps: scenario.configMaps.length,
    ignored: scenario.ignored.reduce((n, k) => n + k.count, 0),
  };

  const { cluster } = scenario;
  const lines = [
    `cluster ${cluster.name}: proxy ${cluster.proxy.mode}, cni ${cluster.cni.plugin}/${cluster.cni.backend}, clusterCIDR ${cluster.clusterCIDR}, serviceCIDR ${cluster.serviceCIDR}, dns ${cluster.dnsServiceIP} (${cluster.dnsDomain})`,
    [
      plural(counts.nodes, 'node'),
      plural(counts.namespaces, 'namespace'),
      plural(counts.pods, 'pod') + (unscheduledPods > 0 ? ` (${unscheduledPods} unscheduled)` : ''),
      plural(counts.services, 'service'),
      `${plural(counts.endpointSlices, 'endpoint slice')} (${plural(counts.endpoints, 'endpoint')})`,
    ].join(', '),
  ];
  if (scenario.nodes.length > 0) lines.push('nodes:');
  for (const node of scenario.nodes) {
    const ips = (type: string) => node.addresses.filter((a) => a.type === type).map((a) => a.address);
    const parts = [node.name];
    if (ips('InternalIP').length > 0) parts.push(`InternalIP ${ips('InternalIP').join(',')}`);
    if (ips('ExternalIP').length > 0) parts.push(`ExternalIP ${ips('ExternalIP').join(',')}`);
    parts.push(
      `podCIDR ${node.podCIDRs.join(',') || '<none>'}${node.podCIDRSource === 'allocated' ? ' (allocated)' : ''}`,
    );
    if (node.subnet !== undefined) parts.push(`subnet ${node.subnet}`);
    parts.push(plural(podsPerNode[node.name] ?? 0, 'pod'));
    lines.push(`  ${parts.join('  ')}`);
  }
  if (scenario.namespaces.length > 0) lines.push(`namespaces: ${scenario.namespaces.map((n) => n.name).join(', ')}`);
  if (scenario.services.length > 0) lines.push('services:', ...scenario.services.map(serviceLine));
  if (scenario.endpointSlices.length > 0) lines.push('endpoint slices:', ...scenario.endpointSlices.map(sliceLine));
  if (scenario.ignored.length > 0) {
    const kinds = scenario.ignored.map((k) => `${k.apiVersion} ${k.kind} x${k.count}`).join(', ');
    lines.push(`ignored: ${plural(counts.ignored, 'object')} of kinds knetsim does not read (${kinds})`);
    // A common surprise: flannel has no policy controller, so these filter nothing on its nodes.
    const policies = scenario.ignored.find((k) => k.kind === 'NetworkPolicy');
    if (policies && scenario.cluster.cni.plugin === 'flannel')
      lines.push(
        `note: flannel does not enforce NetworkPolicy (it has no policy controller): ${policies.count === 1 ? 'the NetworkPolicy here filters' : `the ${policies.count} NetworkPolicies here filter`} no traffic on these nodes, as on a real flannel cluster`,
      );
  }
  return { counts, podsPerNode, text: `${lines.join('\n')}\n` };
}
