import { describe, expect, it } from 'vitest';
import type { Scenario } from '../../src/model';
import { errorsOf, load, node } from './load-helpers';

const nodes =
  node('n1', '192.168.0.2', { labels: '{topology.kubernetes.io/zone: zone-a}', spec: '{podCIDR: 10.244.1.0/24}' }) +
  node('n2', '192.168.0.3', { spec: '{podCIDR: 10.244.2.0/24}' });

const pod = (name: string, extra: { meta?: string; spec?: string; status?: string } = {}) => `---
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: shop, labels: {app: web}${extra.meta ?? ''}}
spec:
  nodeName: n1
  containers:
  - name: c
    ports: [{name: http, containerPort: 8080}, {name: dns, containerPort: 5353, protocol: UDP}]
${extra.spec ?? ''}
status: ${extra.status ?? '{}'}
`;

const service = (spec: string) => `---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop, labels: {team: a}}
spec:
  clusterIP: 10.96.0.50
  selector: {app: web}
${spec}
`;

function slicesOf(scenario: Scenario) {
  return scenario.endpointSlices.filter((s) => s.serviceName === 'web');
}

describe('EndpointSlices derived from pods', () => {
  it('selects running pods of the namespace with an IP, with the controller fields filled in', () => {
    const other = `---
apiVersion: v1
kind: Pod
metadata: {name: elsewhere, namespace: other, labels: {app: web}}
spec: {nodeName: n1}
`;
    const done = pod('done', { status: '{phase: Succeeded, podIP: 10.244.1.99}' });
    const { scenario } = load(
      nodes + service('  ports: [{name: http, port: 80, targetPort: 8080}]') + pod('a') + done + other,
    );
    const [slice, ...rest] = slicesOf(scenario);
    expect(rest).toEqual([]);
    expect(slice).toMatchObject({
      namespace: 'shop',
      name: expect.stringMatching(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/),
      addressType: 'IPv4',
      origin: 'controller',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      labels: {
        team: 'a',
        'kubernetes.io/service-name': 'web',
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
      },
    });
    expect(slice!.endpoints).toEqual([
      {
        addresses: ['10.244.1.2'],
        ready: true,
        serving: true,
        terminating: false,
        nodeName: 'n1',
        zone: 'zone-a',
        targetRef: { kind: 'Pod', namespace: 'shop', name: 'a' },
        zoneHints: [],
        nodeHints: [],
      },
    ]);
  });

  it('takes readiness from the Ready condition of pods that report one', () => {
    const notReady = pod('b', {
      status: '{phase: Running, podIP: 10.244.1.7, conditions: [{type: Ready, status: "False"}]}',
    });
    const { scenario } = load(nodes + service('  ports: [{port: 80}]') + pod('a') + notReady);
    expect(slicesOf(scenario)[0]!.endpoints.map((e) => [e.targetRef?.name, e.ready, e.serving])).toEqual([
      ['a', true, true],
      ['b', false, false],
    ]);
  });

  it('publishNotReadyAddresses marks not-ready pods ready', () => {
    const notReady = pod('b', { status: '{podIP: 10.244.1.7, conditions: [{type: Ready, status: "False"}]}' });
    const { scenario } = load(nodes + service('  publishNotReadyAddresses: true\n  ports: [{port: 80}]') + notReady);
    expect(slicesOf(scenario)[0]!.endpoints.map((e) => [e.ready, e.serving])).toEqual([[true, false]]);
  });

  it('a terminating pod is not ready, serving per its readiness, and terminating', () => {
    const terminating = pod('t', { meta: ', deletionTimestamp: "2024-01-01T00:00:00Z"' });
    const { scenario } = load(nodes + service('  ports: [{port: 80}]') + terminating);
    expect(slicesOf(scenario)[0]!.endpoints.map((e) => [e.ready, e.serving, e.terminating])).toEqual([
      [false, true, true],
    ]);
  });

  it('resolves named targetPorts per pod by name and protocol, grouping pods by resolved ports', () => {
    const otherPorts = `---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: shop, labels: {app: web}}
spec:
  nodeName: n2
  containers: [{name: c, ports: [{name: http, containerPort: 9090}]}]
`;
    const { scenario } = load(
      nodes +
        service(`  ports:
  - {name: web, port: 80, targetPort: http}
  - {name: dns, port: 53, protocol: UDP, targetPort: dns}
  - {name: dnstcp, port: 53, protocol: TCP, targetPort: dns}`) +
        pod('a') +
        otherPorts,
    );
    const slices = slicesOf(scenario);
    expect(slices.map((s) => [s.ports, s.endpoints.map((e) => e.targetRef?.name)])).toEqual([
      [
        [
          { name: 'web', port: 8080, protocol: 'TCP' },
          { name: 'dns', port: 5353, protocol: 'UDP' },
        ],
        ['a'],
      ],
      [[{ name: 'web', port: 9090, protocol: 'TCP' }], ['b']],
    ]);
    expect(new Set(slices.map((s) => s.name)).size).toBe(2);
  });

  it('sets hostname when the pod subdomain is the Service name', () => {
    const sts = pod('db-0', { spec: '  hostname: db-0\n  subdomain: web' });
    const { scenario } = load(
      nodes + service('  clusterIP: None\n  ports: [{port: 80}]').replace('  clusterIP: 10.96.0.50\n', '') + sts,
    );
    expect(slicesOf(scenario)[0]!.endpoints[0]!.hostname).toBe('db-0');
  });

  it('writes an empty placeholder slice for a Service that selects nothing', () => {
    const { scenario } = load(nodes + service('  ports: [{port: 80}]'));
    expect(slicesOf(scenario).map((s) => [s.endpoints, s.ports])).toEqual([[[], []]]);
  });

  it('leaves Services that have slices (or no selector) alone', () => {
    const given = `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-given, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: [10.9.9.9]}]
ports: [{port: 80}]
`;
    const { scenario } = load(nodes + service('  ports: [{port: 80}]') + pod('a') + given);
    expect(slicesOf(scenario).map((s) => s.name)).toEqual(['web-given']);
  });
});

describe('trafficDistribution: the hints the controller writes (trafficdist, KEP-3015)', () => {
  const zoned =
    node('n1', '192.168.0.2', { labels: '{topology.kubernetes.io/zone: zone-a}', spec: '{podCIDR: 10.244.1.0/24}' }) +
    node('n2', '192.168.0.3', { spec: '{podCIDR: 10.244.2.0/24}' });
  const pods =
    pod('a') +
    pod('b', { spec: '  nodeName: n2' }).replace('  nodeName: n1\n', '') +
    pod('c', { status: '{phase: Running, podIP: 10.244.1.9, conditions: [{type: Ready, status: "False"}]}' });
  const hints = (spec: string, meta = '') =>
    slicesOf(load(zoned + service(spec).replace('labels: {team: a}}', `labels: {team: a}${meta}}`) + pods).scenario)
      .flatMap((s) => s.endpoints)
      .map((e) => [e.targetRef?.name, e.zoneHints, e.nodeHints]);
  it('PreferClose and PreferSameZone: a ready endpoint with a zone is hinted for it', () => {
    for (const value of ['PreferClose', 'PreferSameZone'])
      expect(hints(`  trafficDistribution: ${value}\n  ports: [{port: 80}]`)).toEqual([
        ['a', ['zone-a'], []],
        ['b', [], []],
        ['c', [], []],
      ]);
  });
  it('PreferSameNode: the node too, the zone kept for proxies that know only zones', () => {
    expect(hints('  trafficDistribution: PreferSameNode\n  ports: [{port: 80}]')).toEqual([
      ['a', ['zone-a'], ['n1']],
      ['b', [], ['n2']],
      ['c', [], []],
    ]);
  });
  it('no field, or a topology-mode Auto annotation (which takes over): no hints', () => {
    const none = [
      ['a', [], []],
      ['b', [], []],
      ['c', [], []],
    ];
    expect(hints('  ports: [{port: 80}]')).toEqual(none);
    expect(
      hints(
        '  trafficDistribution: PreferClose\n  ports: [{port: 80}]',
        ', annotations: {service.kubernetes.io/topology-mode: Auto}',
      ),
    ).toEqual(none);
  });
  it('an unknown value is refused as the API refuses it', () => {
    const errors = errorsOf(zoned + service('  trafficDistribution: Nearby\n  ports: [{port: 80}]'));
    expect(errors.join('\n')).toContain(
      'spec.trafficDistribution: "Nearby" is not one of: PreferClose, PreferSameZone, PreferSameNode',
    );
  });
});
