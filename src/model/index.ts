// The model layer's public surface: the scenario loader, the Kubernetes object model
// and the node-local view every proxy mode starts from. Other layers import only this.
export type {
  ClusterConfig,
  CniConfig,
  CniPlugin,
  CorefileSource,
  DnsConfig,
  FlannelBackend,
  IpvsConfig,
  IpvsScheduler,
  LocalDetector,
  PortRange,
  ProxyConfig,
  ProxyMode,
} from './cluster';
export { defaultClusterConfig, defaultCorefile } from './cluster';
export type { ConfigMap } from './config-map';
export type { AddressType, Endpoint, EndpointPort, EndpointSlice, ObjectReference } from './endpoint-slice';
export { SERVICE_NAME_LABEL } from './endpoint-slice';
export type { EndpointAddress, EndpointSubset, Endpoints } from './endpoints';
export type { IPFamily, ParsedCIDR, ParsedIP } from './ip-address';
export { cidrContains, formatIP, ipFamilyOf, joinHostPort, parseCIDR, parseIP } from './ip-address';
export type { LabelSelector, LabelSelectorRequirement } from './label-selector';
export { labelsMatch, selectorMatches } from './label-selector';
export { loadScenario, loadScenarioFile } from './load-scenario';
export type { Namespace } from './namespace';
export type { Node, NodeAddress, NodeAddressType, Taint, TaintEffect } from './node';
export { nodeIPs, primaryNodeIP, SUBNET_ANNOTATION, ZONE_LABEL } from './node';
export type { LocalEndpoint, NodeFacts, NodeLocalState, ServicePortState } from './node-local-state';
export { nodeLocalState } from './node-local-state';
export type { OwnerReference } from './object-meta';
export type { Container, ContainerPort, DnsPolicy, Pod, PodDnsConfig, PodPhase, PodSpec, Toleration } from './pod';
export type { Protocol } from './protocol';
export type { IgnoredKind, Scenario, ScenarioResult } from './scenario';
export type {
  LoadBalancerIngress,
  Service,
  ServicePort,
  ServiceType,
  SessionAffinity,
  TrafficPolicy,
} from './service';
export { isProxied } from './service';
export type { ScenarioCounts, ScenarioSummary } from './summarize-scenario';
export { summarizeScenario } from './summarize-scenario';
export type { ValidationIssue } from './validation-issue';
export { formatIssue } from './validation-issue';
export type { PodTemplate, Workload, WorkloadKind } from './workloads';
