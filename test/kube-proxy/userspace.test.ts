// kube-proxy userspace mode (v1.25): the portal rules exactly as iptablesContainerPortalArgs
// and friends built them, and LoadBalancerRR's round robin and ClientIP affinity.
import { describe, expect, it } from 'vitest';
import {
  type LoadBalancerRR,
  lbCleanupStaleStickySessions,
  lbNewService,
  lbSetEndpoints,
  loadBalancerFromSync,
  newLoadBalancerRR,
  nextEndpoint,
  proxierSettings,
  syncUserspaceState,
} from '../../src/kube-proxy';
import { nodeLocalState } from '../../src/model';
import { loadIptables, saveState } from '../../src/netfilter';
import { clusterYaml, scenarioOf, serviceYaml } from '../helpers/scenario';

const sync = (yaml: string, options: Partial<Parameters<typeof syncUserspaceState>[2]> = {}) => {
  const scenario = scenarioOf(clusterYaml() + yaml);
  const state = nodeLocalState(scenario, 'node-1');
  return syncUserspaceState(state, proxierSettings(scenario.cluster, state.node), {
    nodeIP: '192.168.0.2',
    ...options,
  });
};
const rulesOf = (restore: string, chain: string) => restore.split('\n').filter((l) => l.startsWith(`-A ${chain} `));
const eps = [
  { ip: '10.244.1.5', node: 'node-1' },
  { ip: '10.244.2.5', node: 'node-2' },
];

describe('portal rules', () => {
  it('ClusterIP: REDIRECT from containers, DNAT to the host IP from the host', () => {
    const r = sync(serviceYaml({ name: 's', clusterIP: '10.96.0.5', endpoints: eps }));
    expect(rulesOf(r.restore, 'KUBE-PORTALS-CONTAINER')).toEqual([
      '-A KUBE-PORTALS-CONTAINER -m comment --comment "default/s:p" -p tcp -m tcp --dport 80 -d 10.96.0.5/32 -j REDIRECT --to-ports 36000',
    ]);
    expect(rulesOf(r.restore, 'KUBE-PORTALS-HOST')).toEqual([
      '-A KUBE-PORTALS-HOST -m comment --comment "default/s:p" -p tcp -m tcp --dport 80 -d 10.96.0.5/32 -j DNAT --to-destination 192.168.0.2:36000',
    ]);
    expect(rulesOf(r.restore, 'KUBE-NODEPORT-CONTAINER')).toEqual([]);
    expect(r.portals).toEqual([
      {
        servicePortName: 'default/s:p',
        protocol: 'TCP',
        clusterIP: '10.96.0.5',
        port: 80,
        proxyPort: 36000,
        externalIPs: [],
        loadBalancerIPs: [],
        nodePort: 0,
        endpoints: [
          { ip: '10.244.1.5', port: 80 },
          { ip: '10.244.2.5', port: 80 },
        ],
        sessionAffinity: 'None',
        stickyMaxAgeSeconds: 0,
      },
    ]);
  });

  it('assigns proxy ports in ServicePortName order from the range, and a bound listen IP means DNAT', () => {
    const yaml =
      serviceYaml({ name: 'b', clusterIP: '10.96.0.2', protocol: 'UDP', port: 53, endpoints: eps }) +
      serviceYaml({ name: 'a', clusterIP: '10.96.0.1', endpoints: eps });
    const r = sync(yaml, { proxyPortRange: [40000, 40001], listenIP: '192.168.0.2' });
    expect(r.portals.map((p) => [p.servicePortName, p.proxyPort])).toEqual([
      ['default/a:p', 40000],
      ['default/b:p', 40001],
    ]);
    expect(rulesOf(r.restore, 'KUBE-PORTALS-CONTAINER')[1]).toBe(
      '-A KUBE-PORTALS-CONTAINER -m comment --comment "default/b:p" -p udp -m udp --dport 53 -d 10.96.0.2/32 -j DNAT --to-destination 192.168.0.2:40001',
    );
    const full = sync(yaml, { proxyPortRange: [40000, 40000] });
    expect(full.skipped.map((s) => s.servicePortName)).toEqual(['default/b:p']);
  });

  it('NodePort: both NodePort chains match the NodePort; the filter rule accepts the proxy port', () => {
    const r = sync(
      serviceYaml({ name: 's', type: 'NodePort', clusterIP: '10.96.0.5', nodePort: 30080, endpoints: eps }),
    );
    expect(rulesOf(r.restore, 'KUBE-NODEPORT-CONTAINER')).toEqual([
      '-A KUBE-NODEPORT-CONTAINER -m comment --comment "default/s:p" -p tcp -m tcp --dport 30080 -j REDIRECT --to-ports 36000',
    ]);
    expect(rulesOf(r.restore, 'KUBE-NODEPORT-HOST')).toEqual([
      '-A KUBE-NODEPORT-HOST -m comment --comment "default/s:p" -p tcp -m tcp --dport 30080 -j DNAT --to-destination 192.168.0.2:36000',
    ]);
    expect(rulesOf(r.restore, 'KUBE-NODEPORT-NON-LOCAL')).toEqual([
      '-A KUBE-NODEPORT-NON-LOCAL -m comment --comment "default/s:p" -p tcp -m tcp --dport 36000 -m state --state NEW -j ACCEPT',
    ]);
    expect(r.claimedPorts).toEqual(['<nil>:30080/TCP']);
  });

  it('externalIP: physdev and dst-LOCAL container rules, a dst-LOCAL host rule; a local one holds the port', () => {
    const r = sync(
      serviceYaml({
        name: 's',
        clusterIP: '10.96.0.5',
        endpoints: eps,
        extra: '  externalIPs: [203.0.113.7, 192.168.0.2]',
      }),
    );
    expect(rulesOf(r.restore, 'KUBE-PORTALS-CONTAINER').slice(1, 3)).toEqual([
      '-A KUBE-PORTALS-CONTAINER -m comment --comment "default/s:p" -p tcp -m tcp --dport 80 -d 203.0.113.7/32 -m physdev ! --physdev-is-in -j REDIRECT --to-ports 36000',
      '-A KUBE-PORTALS-CONTAINER -m comment --comment "default/s:p" -p tcp -m tcp --dport 80 -d 203.0.113.7/32 -m addrtype --dst-type LOCAL -j REDIRECT --to-ports 36000',
    ]);
    expect(rulesOf(r.restore, 'KUBE-PORTALS-HOST')[1]).toBe(
      '-A KUBE-PORTALS-HOST -m comment --comment "default/s:p" -p tcp -m tcp --dport 80 -d 203.0.113.7/32 -m addrtype --dst-type LOCAL -j DNAT --to-destination 192.168.0.2:36000',
    );
    expect(rulesOf(r.restore, 'KUBE-PORTALS-CONTAINER')).toHaveLength(5);
    expect(r.claimedPorts).toEqual(['192.168.0.2:80/TCP']);
  });

  it('LB ingress: treated like a cluster IP (not external)', () => {
    const r = sync(
      serviceYaml({
        name: 's',
        type: 'LoadBalancer',
        clusterIP: '10.96.0.5',
        nodePort: 30080,
        endpoints: eps,
        status: 'status:\n  loadBalancer:\n    ingress:\n    - ip: 198.51.100.9',
      }),
    );
    expect(rulesOf(r.restore, 'KUBE-PORTALS-CONTAINER')[1]).toBe(
      '-A KUBE-PORTALS-CONTAINER -m comment --comment "default/s:p" -p tcp -m tcp --dport 80 -d 198.51.100.9/32 -j REDIRECT --to-ports 36000',
    );
    expect(rulesOf(r.restore, 'KUBE-PORTALS-HOST')[1]).toBe(
      '-A KUBE-PORTALS-HOST -m comment --comment "default/s:p" -p tcp -m tcp --dport 80 -d 198.51.100.9/32 -j DNAT --to-destination 192.168.0.2:36000',
    );
    expect(r.portals[0]?.loadBalancerIPs).toEqual(['198.51.100.9']);
    expect(rulesOf(r.restore, 'KUBE-NODEPORT-HOST')).toHaveLength(1);
  });

  it('skips SCTP and gives not-ready endpoints to no one', () => {
    const r = sync(
      serviceYaml({ name: 'x', clusterIP: '10.96.0.9', protocol: 'SCTP', endpoints: eps }) +
        serviceYaml({ name: 'y', clusterIP: '10.96.0.8', endpoints: [{ ip: '10.244.1.6', ready: false }, ...eps] }),
    );
    expect(r.skipped).toEqual([
      { servicePortName: 'default/x:p', reason: 'SCTP is not supported for user space proxy' },
    ]);
    expect(r.portals.map((p) => p.endpoints.map((e) => e.ip))).toEqual([['10.244.1.5', '10.244.2.5']]);
  });

  it('jumps and rules load through iptables-restore, and survive a save/load round trip', () => {
    const r = sync(
      serviceYaml({
        name: 's',
        type: 'LoadBalancer',
        clusterIP: '10.96.0.5',
        nodePort: 30080,
        endpoints: eps,
        extra: '  externalIPs: [203.0.113.7]',
        status: 'status:\n  loadBalancer:\n    ingress:\n    - ip: 198.51.100.9',
      }),
    );
    expect(r.jumps).toContain(
      '-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-CONTAINER',
    );
    const base = loadIptables(r.jumps, 'jumps');
    if (!base.ok) throw new Error(base.message);
    const loaded = loadIptables(r.restore, 'restore', base.state);
    if (!loaded.ok) throw new Error(loaded.message);
    const saved = saveState(loaded.state);
    expect(saved).toContain('-j REDIRECT --to-ports 36000');
    expect(saved).toContain('-j DNAT --to-destination 192.168.0.2:36000');
    expect(saved).toMatch(/-A PREROUTING .*-j KUBE-PORTALS-CONTAINER\n-A PREROUTING .*-j KUBE-NODEPORT-CONTAINER/);
    const again = loadIptables(saved, 'saved');
    if (!again.ok) throw new Error(again.message);
    expect(saveState(again.state)).toBe(saved);
  });
});

describe('LoadBalancerRR', () => {
  const name = 'default/s:p';
  const three = ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80'];
  const pick = (lb: LoadBalancerRR, client: string, now: number) => {
    const r = nextEndpoint(lb, name, client, now);
    if (!r.ok) throw new Error(r.error);
    return r;
  };

  it('reports a missing service and missing endpoints', () => {
    const lb = newLoadBalancerRR();
    expect(nextEndpoint(lb, name, '1.1.1.1', 0)).toMatchObject({ ok: false, error: 'missing service entry' });
    expect(nextEndpoint(lbNewService(lb, name, 'None', 0), name, '1.1.1.1', 0)).toMatchObject({
      ok: false,
      error: 'missing endpoints',
    });
  });

  it('walks the endpoints in order and wraps; an unchanged set keeps the index, a new one resets it', () => {
    let lb = lbSetEndpoints(lbNewService(newLoadBalancerRR(), name, 'None', 0), name, three);
    const seen: string[] = [];
    for (let i = 0; i < 7; i++) {
      const r = pick(lb, '1.1.1.1', i);
      seen.push(r.endpoint);
      lb = r.lb;
    }
    expect(seen).toEqual([...three, ...three, three[0]]);
    expect(lbSetEndpoints(lb, name, [...three].reverse())).toBe(lb);
    lb = lbSetEndpoints(lb, name, ['10.0.0.9:80', ...three]);
    expect(pick(lb, '1.1.1.1', 9).endpoint).toBe('10.0.0.9:80');
  });

  it('ClientIP affinity: a client sticks until its record is ttl seconds old; others go round robin', () => {
    let lb = lbSetEndpoints(lbNewService(newLoadBalancerRR(), name, 'ClientIP', 60), name, three);
    let r = pick(lb, 'a', 0);
    expect(r.endpoint).toBe(three[0]);
    r = pick(r.lb, 'b', 1000);
    expect(r.endpoint).toBe(three[1]);
    r = pick(r.lb, 'a', 59_999); // 59 whole seconds: still sticky, refreshes lastUsed
    expect(r.endpoint).toBe(three[0]);
    r = pick(r.lb, 'a', 59_999 + 59_999);
    expect(r.endpoint).toBe(three[0]);
    lb = r.lb;
    r = pick(lb, 'a', 59_999 + 59_999 + 60_000); // expired: next in turn, and re-recorded
    expect(r.endpoint).toBe(three[2]);
    expect(r.lb.get(name)?.affinityMap.get('a')?.endpoint).toBe(three[2]);
    const reset = nextEndpoint(r.lb, name, 'a', 200_000, true);
    expect(reset.ok && reset.endpoint).toBe(three[0]);
  });

  it('drops records for removed endpoints and, on cleanup, expired ones', () => {
    let lb = lbSetEndpoints(lbNewService(newLoadBalancerRR(), name, 'ClientIP', 10), name, three);
    lb = pick(lb, 'a', 0).lb;
    lb = pick(lb, 'b', 5000).lb;
    lb = lbCleanupStaleStickySessions(lb, name, 10_500);
    expect([...(lb.get(name)?.affinityMap.keys() ?? [])]).toEqual(['b']);
    lb = lbSetEndpoints(lb, name, [three[0]!, three[2]!]);
    expect(lb.get(name)?.affinityMap.size).toBe(0);
  });

  it('built at start-up, endpoints come first, so the entry keeps the default 3h TTL', () => {
    const r = sync(
      serviceYaml({
        name: 's',
        clusterIP: '10.96.0.5',
        endpoints: eps,
        extra: '  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}',
      }),
    );
    expect(r.portals[0]?.stickyMaxAgeSeconds).toBe(60);
    const startup = loadBalancerFromSync(r).get('default/s:p');
    expect(startup).toMatchObject({
      affinityType: 'ClientIP',
      ttlSeconds: 10800,
      endpoints: ['10.244.1.5:80', '10.244.2.5:80'],
    });
    expect(loadBalancerFromSync(r, { endpointsFirst: false }).get('default/s:p')?.ttlSeconds).toBe(60);
  });
});
