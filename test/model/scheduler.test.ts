import { describe, expect, it } from 'vitest';
import { load, node, warningsOf } from './load-helpers';

const pod = (name: string, spec = '{}') => `---
apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec: ${spec}
`;

const taintedCP = node('cp', '192.168.0.2', {
  spec: '{taints: [{key: node-role.kubernetes.io/control-plane, effect: NoSchedule}]}',
});
const legacyMaster = node('master', '192.168.0.3', {
  spec: '{taints: [{key: node-role.kubernetes.io/master, effect: NoSchedule}]}',
});

function placement(yaml: string): Record<string, string | undefined> {
  return Object.fromEntries(load(yaml).scenario.pods.map((p) => [p.name, p.spec.nodeName]));
}

describe('scheduling', () => {
  it('keeps pods off control-plane (and legacy master) nodes without a toleration', () => {
    expect(placement(taintedCP + legacyMaster + node('w', '192.168.0.4') + pod('a') + pod('b'))).toEqual({
      a: 'w',
      b: 'w',
    });
  });

  it('lets a tolerating pod onto a tainted node', () => {
    const tolerant = pod(
      'a',
      '{tolerations: [{key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}]}',
    );
    expect(placement(taintedCP + tolerant)).toEqual({ a: 'cp' });
  });

  it('skips unschedulable (cordoned) nodes', () => {
    expect(
      placement(
        node('a-cordoned', '192.168.0.2', { spec: '{unschedulable: true}' }) + node('b', '192.168.0.3') + pod('p'),
      ),
    ).toEqual({
      p: 'b',
    });
  });

  it('honours nodeSelector, including the labels the kubelet sets', () => {
    const nodes = node('n1', '192.168.0.2') + node('n2', '192.168.0.3', { labels: '{disk: ssd}' });
    expect(
      placement(
        nodes +
          pod('ssd', '{nodeSelector: {disk: ssd}}') +
          pod('pinned', '{nodeSelector: {kubernetes.io/hostname: n1}}'),
      ),
    ).toEqual({ ssd: 'n2', pinned: 'n1' });
  });

  it('spreads: fewest pods of the same owner, then fewest pods, then node name', () => {
    const nodes = node('n1', '192.168.0.2') + node('n2', '192.168.0.3') + node('n3', '192.168.0.4');
    const busy = pod('busy', '{nodeName: n1}');
    const rs = `---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs}
spec:
  replicas: 4
  selector: {matchLabels: {app: x}}
  template: {metadata: {labels: {app: x}}, spec: {}}
`;
    const { scenario } = load(nodes + busy + rs);
    const byNode = scenario.pods
      .filter((p) => p.labels.app === 'x')
      .map((p) => p.spec.nodeName)
      .sort();
    // n2 and n3 are empty; the 4th replica goes to the node with fewest pods overall, then by name.
    expect(byNode).toEqual(['n1', 'n2', 'n2', 'n3']);
    const order = scenario.pods.filter((p) => p.labels.app === 'x').map((p) => p.spec.nodeName);
    expect(order).toEqual(['n2', 'n3', 'n1', 'n2']);
  });

  it('leaves a pod Pending without an IP, with a warning, when no node fits', () => {
    const yaml = taintedCP + pod('p', '{nodeSelector: {disk: ssd}}');
    expect(warningsOf(yaml)).toEqual([
      'test.yaml: document 2 (Pod default/p): spec.nodeName: no node can run it (cp: taint node-role.kubernetes.io/control-plane:NoSchedule); it stays Pending without an IP',
    ]);
    const p = load(yaml).scenario.pods[0]!;
    expect([p.phase, p.podIPs, p.ready, p.spec.nodeName]).toEqual(['Pending', [], false, undefined]);
  });

  it('attributes a workload pod that cannot be placed to its workload', () => {
    expect(
      warningsOf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {}}
`)[0],
    ).toMatch(
      /^test\.yaml: document 1 \(Pod default\/web-\w+-\w{5} \(from Deployment default\/web\)\): spec\.nodeName: the scenario has no Node; it stays Pending without an IP$/,
    );
  });
});
