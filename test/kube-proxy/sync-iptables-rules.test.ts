// kube-proxy iptables mode: each setting and policy changes the rules exactly as
// kube-proxy's syncProxyRules does; output is deterministic and loads cleanly.
import { describe, expect, it } from 'vitest';
import { tracePacket } from '../../src/engine';
import { endpointChain, portProtoHash, probability } from '../../src/kube-proxy';
import { loadIptables, saveState } from '../../src/netfilter';
import { ip } from '../helpers/node-from-rules';
import { clusterYaml, nodeOf, twoEndpointService } from '../helpers/scenario';

const svc = twoEndpointService;

const rulesOf = (restore: string, chain: string) => restore.split('\n').filter((l) => l.startsWith(`-A ${chain} `));

describe('chain names and probabilities', () => {
  it('hash the service port name and protocol as kube-proxy does', () => {
    expect(portProtoHash('ns1/svc1:p80', 'tcp')).toBe('XPGD46QRK7WJZT7O');
    expect(endpointChain('ns1/svc1:p80', 'tcp', '10.180.0.1:80')).toBe('KUBE-SEP-SXIVWICOYRO3J4NJ');
  });
  it('print 1/n with ten decimals', () => {
    expect([2, 3, 4].map(probability)).toEqual(['0.5000000000', '0.3333333333', '0.2500000000']);
  });
});

describe('generation', () => {
  it('is deterministic and idempotent: the same objects give the same text, and loading it twice the same state', () => {
    const yaml = clusterYaml() + svc();
    const a = nodeOf(yaml);
    const b = nodeOf(yaml);
    expect(a.restore).toBe(b.restore);
    const again = loadIptables(a.restore, 'again', a.netfilter);
    if (!again.ok) throw new Error(again.message);
    expect(saveState(again.state)).toBe(saveState(a.netfilter));
  });
  it('iptables-save output loads back to the same state (round trip through the parser)', () => {
    const n = nodeOf(clusterYaml({ masqueradeRandomFully: true }) + svc({ extra: '  sessionAffinity: ClientIP' }));
    const saved = saveState(n.netfilter);
    const reloaded = loadIptables(saved, 'saved');
    if (!reloaded.ok) throw new Error(reloaded.message);
    expect(saveState(reloaded.state)).toBe(saved);
  });
});

describe('settings', () => {
  it('masqueradeAll marks all cluster-IP traffic; localDetector None marks none', () => {
    const all = nodeOf(clusterYaml({ masqueradeAll: true }) + svc()).restore;
    const chain = `KUBE-SVC-${portProtoHash('default/s:p', 'tcp')}`;
    expect(rulesOf(all, chain)[0]).toBe(
      `-A ${chain} -m comment --comment "default/s:p cluster IP" -m tcp -p tcp -d 10.96.0.5 --dport 80 -j KUBE-MARK-MASQ`,
    );
    const none = nodeOf(clusterYaml({ localDetector: 'None' }) + svc()).restore;
    expect(rulesOf(none, chain).some((l) => l.includes('KUBE-MARK-MASQ'))).toBe(false);
    const nodeCIDR = nodeOf(clusterYaml({ localDetector: 'NodeCIDR' }) + svc()).restore;
    expect(rulesOf(nodeCIDR, chain)[0]).toContain('! -s 10.244.1.0/24 -j KUBE-MARK-MASQ');
  });
  it('masqueradeBit, masqueradeRandomFully and conntrackTCPLiberal', () => {
    const r = nodeOf(
      clusterYaml({ masqueradeBit: 15, masqueradeRandomFully: true, conntrackTCPLiberal: true }) + svc(),
    ).restore;
    expect(rulesOf(r, 'KUBE-MARK-MASQ')).toEqual(['-A KUBE-MARK-MASQ -j MARK --or-mark 0x8000']);
    expect(rulesOf(r, 'KUBE-POSTROUTING').at(-1)).toBe(
      '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    );
    expect(rulesOf(r, 'KUBE-FORWARD').some((l) => l.includes('INVALID'))).toBe(false);
  });
  it('localhostNodePorts false keeps NodePorts off 127.0.0.0/8 and drops KUBE-FIREWALL from the restore', () => {
    const r = nodeOf(clusterYaml({ localhostNodePorts: false }) + svc({ type: 'NodePort', nodePort: 30080 })).restore;
    expect(rulesOf(r, 'KUBE-SERVICES').at(-1)).toBe(
      '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS',
    );
    expect(r).not.toContain(':KUBE-FIREWALL');
  });
  it('nodePortAddresses limits the NodePort jump to matching node addresses', () => {
    const r = nodeOf(
      clusterYaml({ nodePortAddresses: ['192.168.0.0/24', '127.0.0.0/8'] }) +
        svc({ type: 'NodePort', nodePort: 30080 }),
    ).restore;
    expect(
      rulesOf(r, 'KUBE-SERVICES')
        .filter((l) => l.includes('KUBE-NODEPORTS'))
        .map((l) => l.split(' -d ')[1]),
    ).toEqual(['127.0.0.1 -j KUBE-NODEPORTS', '192.168.0.2 -j KUBE-NODEPORTS']);
  });
  it('nfacct counters add the accounting rules kube-proxy writes when they exist', () => {
    const r = nodeOf(
      clusterYaml({ nfacctCounters: ['ct_state_invalid_dropped_pkts', 'localhost_nps_accepted_pkts'] }) +
        svc({ type: 'NodePort', nodePort: 30080 }),
    ).restore;
    expect(rulesOf(r, 'KUBE-FORWARD')[0]).toBe(
      '-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP',
    );
    expect(rulesOf(r, 'KUBE-NODEPORTS')[0]).toContain(
      '-d 127.0.0.0/8 --dport 30080 -m nfacct --nfacct-name localhost_nps_accepted_pkts',
    );
  });
});

describe('policies and endpoints', () => {
  it('a service without endpoints is rejected in filter KUBE-SERVICES', () => {
    const n = nodeOf(clusterYaml() + svc({ endpoints: [] }));
    expect(rulesOf(n.restore, 'KUBE-SERVICES')[0]).toBe(
      '-A KUBE-SERVICES -m comment --comment "default/s:p has no endpoints" -m tcp -p tcp -d 10.96.0.5 --dport 80 -j REJECT',
    );
    const t = tracePacket(n.node, {
      src: ip('10.244.1.9'),
      dst: ip('10.96.0.5'),
      protocol: 'tcp',
      dport: 80,
      origin: { kind: 'interface', iface: 'cni0' },
    });
    expect(t.outcome).toBe('REJECT');
  });
  it('internalTrafficPolicy Local: only local endpoints, DROP when there are none', () => {
    const local = nodeOf(clusterYaml() + svc({ extra: '  internalTrafficPolicy: Local' }));
    const t = tracePacket(local.node, {
      src: ip('10.244.1.9'),
      dst: ip('10.96.0.5'),
      protocol: 'tcp',
      dport: 80,
      origin: { kind: 'interface', iface: 'cni0' },
    });
    expect(t.endpoints).toEqual([{ address: '10.244.1.5:80', probability: 1 }]);
    const none = nodeOf(
      clusterYaml() +
        svc({ extra: '  internalTrafficPolicy: Local', endpoints: [{ ip: '10.244.2.5', node: 'node-2' }] }),
    );
    expect(rulesOf(none.restore, 'KUBE-SERVICES')[0]).toContain('"default/s:p has no local endpoints"');
    expect(rulesOf(none.restore, 'KUBE-SERVICES')[0]).toContain('-j DROP');
  });
  it('terminating endpoints that still serve are used only when no endpoint is ready', () => {
    const fallback = nodeOf(
      clusterYaml() +
        svc({ endpoints: [{ ip: '10.244.2.5', node: 'node-2', ready: false, serving: true, terminating: true }] }),
    );
    expect(fallback.restore).toContain('--to-destination 10.244.2.5:80');
    const mixed = nodeOf(
      clusterYaml() +
        svc({
          endpoints: [
            { ip: '10.244.2.5', node: 'node-2', ready: false, serving: true, terminating: true },
            { ip: '10.244.2.6', node: 'node-2' },
          ],
        }),
    );
    expect(mixed.restore).not.toContain('10.244.2.5:80');
  });
  it('ClientIP affinity: recent --rcheck in the service chain, --set in the endpoint chain', () => {
    const r = nodeOf(
      clusterYaml() +
        svc({ extra: '  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}' }),
    ).restore;
    const sep = endpointChain('default/s:p', 'tcp', '10.244.1.5:80');
    expect(r).toContain(`-m recent --name ${sep} --rcheck --seconds 600 --reap -j ${sep}`);
    expect(r).toContain(
      `-A ${sep} -m comment --comment default/s:p -m recent --name ${sep} --set -m tcp -p tcp -j DNAT --to-destination 10.244.1.5:80`,
    );
  });
  it('externalTrafficPolicy Local: outside clients reach only local endpoints and keep their address', () => {
    const n = nodeOf(
      clusterYaml() + svc({ type: 'NodePort', nodePort: 30080, extra: '  externalTrafficPolicy: Local' }),
    );
    const t = tracePacket(n.node, {
      src: ip('203.0.113.9'),
      dst: ip('192.168.0.2'),
      protocol: 'tcp',
      dport: 30080,
      origin: { kind: 'interface', iface: 'eth0' },
    });
    expect(t.endpoints).toEqual([{ address: '10.244.1.5:80', probability: 1 }]);
    expect(t.masquerade).toBe(false);
    // A pod of the cluster is short-circuited to all endpoints.
    const fromPod = tracePacket(n.node, {
      src: ip('10.244.1.9'),
      dst: ip('192.168.0.2'),
      protocol: 'tcp',
      dport: 30080,
      origin: { kind: 'interface', iface: 'cni0' },
    });
    expect(fromPod.endpoints.map((e) => e.address).sort()).toEqual(['10.244.1.5:80', '10.244.2.5:80']);
  });
  it('drops per-endpoint comments past 1,000 endpoints, as kube-proxy does', () => {
    const endpoints = Array.from({ length: 1001 }, (_, i) => ({
      ip: `10.244.${2 + (i >> 8)}.${i & 255}`,
      node: 'node-2',
    }));
    const r = nodeOf(clusterYaml() + svc({ endpoints })).restore;
    const sep = endpointChain('default/s:p', 'tcp', '10.244.2.0:80');
    expect(rulesOf(r, sep)).toEqual([
      `-A ${sep} -s 10.244.2.0 -j KUBE-MARK-MASQ`,
      `-A ${sep} -m tcp -p tcp -j DNAT --to-destination 10.244.2.0:80`,
    ]);
  });
});
