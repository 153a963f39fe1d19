// kube-proxy's partial iptables sync, case by case: what a changed endpoint, a new
// Service, a deleted Service and a no-op sync send, and where the deletions go.
import { describe, expect, it } from 'vitest';
import {
  ipvsSyncCommands,
  partialIptablesSync,
  proxierSettings,
  serviceChains,
  syncIpvsState,
  trackServiceChanges,
} from '../../src/kube-proxy';
import { nodeLocalState } from '../../src/model';
import { clusterYaml, scenarioOf, serviceYaml } from '../helpers/scenario';

const web = (ips: string[]) =>
  serviceYaml({ name: 'web', clusterIP: '10.96.0.20', endpoints: ips.map((ip) => ({ ip, node: 'node-2' })) });
const db = serviceYaml({ name: 'db', clusterIP: '10.96.0.30', endpoints: [{ ip: '10.244.2.30', node: 'node-2' }] });

function stateOf(yaml: string) {
  const scenario = scenarioOf(yaml);
  const state = nodeLocalState(scenario, 'node-1', 'IPv4');
  return { state, settings: proxierSettings(scenario.cluster, state.node) };
}

const webChain = serviceChains('default/web:p', 'tcp').cluster;
const dbChain = serviceChains('default/db:p', 'tcp').cluster;

describe('partial iptables sync', () => {
  const a = stateOf(clusterYaml() + web(['10.244.2.5']) + db);
  const first = partialIptablesSync(a.state, a.settings, trackServiceChanges(undefined, a.state), new Set());

  it('the first sync is full and writes every service chain', () => {
    expect(first.full).toBe(true);
    expect(first.written).toContain(webChain);
    expect(first.written).toContain(dbChain);
    expect(first.unchanged).toEqual([]);
  });

  it("an endpoint added to web rewrites web's chains only; db's stay out of the restore", () => {
    const b = stateOf(clusterYaml() + web(['10.244.2.5', '10.244.2.6']) + db);
    const changes = trackServiceChanges(a.state, b.state);
    expect([...changes.changed]).toEqual(['default/web']);
    const p = partialIptablesSync(b.state, b.settings, changes, first.active);
    expect(p.full).toBe(false);
    expect(p.written).toContain(webChain);
    expect(p.unchanged).toContain(dbChain);
    expect(p.restore).not.toContain(`:${dbChain}`);
    expect(p.restore).not.toContain(`-A ${dbChain}`);
    // KUBE-SERVICES is always written whole, so db's entry jump is still there.
    expect(p.restore).toContain(`-A KUBE-SERVICES -m comment --comment "default/db:p cluster IP"`);
    expect(p.deleted).toEqual([]);
  });

  it('a deleted Service: its chains declared and -X-ed just before the nodeports jump', () => {
    const c = stateOf(clusterYaml() + web(['10.244.2.5']));
    const p = partialIptablesSync(c.state, c.settings, trackServiceChanges(a.state, c.state), first.active);
    expect(p.deleted).toContain(dbChain);
    const lines = p.restore.split('\n');
    const tail = lines.findIndex((l) => l.includes('kubernetes service nodeports; NOTE'));
    const x = lines.indexOf(`-X ${dbChain}`);
    expect(lines).toContain(`:${dbChain} - [0:0]`);
    expect(x).toBeGreaterThan(0);
    expect(x).toBeLessThan(tail);
    expect(lines[tail + 1]).toBe('COMMIT');
  });

  it('no change: no service chain written or deleted, and no IPVS command either', () => {
    const again = stateOf(clusterYaml() + web(['10.244.2.5']) + db);
    const changes = trackServiceChanges(a.state, again.state);
    const p = partialIptablesSync(again.state, again.settings, changes, first.active);
    expect(changes.changed.size).toBe(0);
    expect(p.written).toEqual([]);
    expect(p.deleted).toEqual([]);
    const ipvs = syncIpvsState(a.state, a.settings, 'rr');
    const cmds = ipvsSyncCommands(ipvs, syncIpvsState(again.state, again.settings, 'rr'));
    expect([...cmds.ipvsadm, ...cmds.ipset, ...cmds.addresses]).toEqual([]);
  });

  it("a change to the node's addresses forces a full sync", () => {
    const moved = stateOf(
      clusterYaml().replace('address: 192.168.0.2', 'address: 192.168.0.9') + web(['10.244.2.5']) + db,
    );
    const changes = trackServiceChanges(a.state, moved.state);
    expect(changes.fullSync).toBe(true);
    expect(changes.reason).toMatch(/node/);
  });
});

describe('IPVS sync commands', () => {
  const a = stateOf(clusterYaml() + web(['10.244.2.5', '10.244.2.6']) + db);
  const b = stateOf(clusterYaml() + web(['10.244.2.6', '10.244.2.7']));
  const before = syncIpvsState(a.state, a.settings, 'rr');
  const cmds = ipvsSyncCommands(before, syncIpvsState(b.state, b.settings, 'rr'));

  it('servers added and removed, the stale virtual server deleted and its address unbound, in kube-proxy order', () => {
    expect(cmds.commands.filter((c) => !c.startsWith('iptables-restore'))).toEqual([
      'ipvsadm -a -t 10.96.0.20:80 -r 10.244.2.7:80 -m -w 1',
      'ipvsadm -d -t 10.96.0.20:80 -r 10.244.2.5:80',
      'ipset del KUBE-CLUSTER-IP 10.96.0.30,tcp:80',
      'ipset del KUBE-IPVS-IPS 10.96.0.30',
      'ipvsadm -D -t 10.96.0.30:80',
      'ip addr del 10.96.0.30/32 dev kube-ipvs0',
    ]);
    expect(cmds.summary).toEqual({
      virtualServers: { added: 0, updated: 0, deleted: 1, unchanged: 1 },
      realServers: { added: 1, updated: 0, deleted: 1, terminating: 0 },
      setEntries: { added: 0, deleted: 2 },
      addresses: { bound: 0, unbound: 1 },
    });
  });

  it('graceful termination: a TCP server with connections goes to weight 0, is deleted once they end, or comes back', () => {
    const withConns = ipvsSyncCommands(before, syncIpvsState(b.state, b.settings, 'rr'), {
      hasConnections: () => true,
    });
    expect(withConns.ipvsadm).toContain('-e -t 10.96.0.20:80 -r 10.244.2.5:80 -m -w 0');
    expect(withConns.ipvsadm).not.toContain('-d -t 10.96.0.20:80 -r 10.244.2.5:80');
    // db's virtual server goes as a whole (-D), servers and all.
    expect([...withConns.terminating]).toEqual([['tcp 10.96.0.20:80', ['10.244.2.5:80']]]);
    expect(withConns.ipvsadm).toContain('-D -t 10.96.0.30:80');
    const next = syncIpvsState(b.state, b.settings, 'rr');
    // Its connections ended: the next sync deletes it.
    const later = ipvsSyncCommands(next, next, { terminating: withConns.terminating });
    expect(later.ipvsadm).toEqual(['-d -t 10.96.0.20:80 -r 10.244.2.5:80']);
    // The endpoint came back first: its weight is restored instead.
    const back = ipvsSyncCommands(next, syncIpvsState(a.state, a.settings, 'rr'), {
      terminating: withConns.terminating,
    });
    expect(back.ipvsadm).toContain('-e -t 10.96.0.20:80 -r 10.244.2.5:80 -m -w 1');
    expect(back.ipvsadm).not.toContain('-a -t 10.96.0.20:80 -r 10.244.2.5:80 -m -w 1');
  });

  it('a scheduler or affinity change edits the virtual server in place', () => {
    const sticky = stateOf(
      clusterYaml() +
        serviceYaml({
          name: 'web',
          clusterIP: '10.96.0.20',
          extra: '  sessionAffinity: ClientIP',
          endpoints: [
            { ip: '10.244.2.6', node: 'node-2' },
            { ip: '10.244.2.7', node: 'node-2' },
          ],
        }),
    );
    const edit = ipvsSyncCommands(
      syncIpvsState(b.state, b.settings, 'rr'),
      syncIpvsState(sticky.state, sticky.settings, 'rr'),
    );
    expect(edit.ipvsadm).toEqual(['-E -t 10.96.0.20:80 -s rr -p 10800']);
  });
});
