// kube-proxy nftables mode: each Service feature as the proxier writes it (the reference
// transaction itself is compared in test/examples/reference-cases.test.ts).
import { describe, expect, it } from 'vitest';
import { hashAndTruncate } from '../../src/kube-proxy';
import { dumpNftTransaction, loadNftTransaction } from '../../src/nftables';
import { clusterYaml, nodeOf, twoEndpointService } from '../helpers/scenario';

const nftNode = (yaml: string, node = 'node-1') => {
  const n = nodeOf(yaml.replace('mode: iptables', 'mode: nftables'), node);
  if (!n.nft) throw new Error('no nft state');
  return { ...n.nft, dump: dumpNftTransaction(n.nft.ruleset) };
};
const rulesOf = (dump: string, chain: string) =>
  dump
    .split('\n')
    .filter((l) => l.startsWith(`add rule ip kube-proxy ${chain} `))
    .map((l) => l.slice(`add rule ip kube-proxy ${chain} `.length));
const elementsOf = (dump: string, set: string) =>
  dump
    .split('\n')
    .filter((l) => l.startsWith(`add element ip kube-proxy ${set} `))
    .map((l) => l.slice(`add element ip kube-proxy ${set} `.length));

const svc = twoEndpointService;
const SVC = `service-${hashAndTruncate('default/s/tcp/p')}`;
const EXT = `external-${hashAndTruncate('default/s/tcp/p')}`;
const LOCAL = `local-${hashAndTruncate('default/s/tcp/p')}`;

describe('the first sync', () => {
  it('the first sync flushes and re-creates what it owns, and loads on an empty node', () => {
    const n = nftNode(clusterYaml() + svc());
    expect(n.transaction).toContain(
      'add chain ip kube-proxy nat-prerouting\ndelete chain ip kube-proxy nat-prerouting\n',
    );
    expect(n.transaction).toContain('flush map ip kube-proxy service-ips\n');
    expect(loadNftTransaction(n.transaction, 'again').ok).toBe(true);
  });
});

describe('chain names', () => {
  it('prefix the base name with 8 characters of its base32 SHA-256, capped at 240', () => {
    expect(hashAndTruncate('ns1/svc1/tcp/p80')).toBe('ULMVA6XW-ns1/svc1/tcp/p80');
    const long = hashAndTruncate(`${'n'.repeat(63)}/${'s'.repeat(63)}/tcp/${'p'.repeat(63)}__${'f'.repeat(39)}/65535`);
    expect(long).toHaveLength(240);
    expect(long.endsWith('...')).toBe(true);
  });
});

describe('Service features', () => {
  it('ClusterIP: masquerade from outside the pod CIDR, one numgen vmap over the endpoints', () => {
    const { dump } = nftNode(clusterYaml() + svc());
    expect(rulesOf(dump, SVC)).toEqual([
      'ip daddr 10.96.0.5 ip saddr != 10.244.0.0/16 jump mark-for-masquerade',
      `numgen random mod 2 vmap { 0 : goto endpoint-${hashAndTruncate('default/s/tcp/p__10.244.1.5/80')} , 1 : goto endpoint-${hashAndTruncate('default/s/tcp/p__10.244.2.5/80')} }`,
    ]);
    expect(rulesOf(dump, 'cluster-ips-check')[1]).toBe(
      'ip daddr { 10.96.0.0/12 } drop comment "Drop traffic to unallocated ClusterIPs"',
    );
  });
  it('masqueradeAll marks all cluster-IP traffic; localDetector None marks none; NodeCIDR uses the node pod CIDR', () => {
    expect(rulesOf(nftNode(clusterYaml({ masqueradeAll: true }) + svc()).dump, SVC)[0]).toBe(
      'ip daddr 10.96.0.5 jump mark-for-masquerade',
    );
    expect(rulesOf(nftNode(clusterYaml({ localDetector: 'None' }) + svc()).dump, SVC)).toHaveLength(1);
    expect(rulesOf(nftNode(clusterYaml({ localDetector: 'NodeCIDR' }) + svc()).dump, SVC)[0]).toBe(
      'ip daddr 10.96.0.5 ip saddr != 10.244.1.0/24 jump mark-for-masquerade',
    );
  });
  it('masqueradeBit changes the mark everywhere', () => {
    const { dump } = nftNode(clusterYaml({ masqueradeBit: 15 }) + svc());
    expect(rulesOf(dump, 'mark-for-masquerade')).toEqual(['mark set mark or 0x8000']);
    expect(rulesOf(dump, 'masquerading')).toEqual([
      'mark and 0x8000 == 0 return',
      'mark set mark xor 0x8000',
      'masquerade fully-random',
    ]);
  });
  it('nodePortAddresses empty: every local address but loopback, and no nodeport-ips set', () => {
    const { dump } = nftNode(clusterYaml() + svc({ type: 'NodePort', nodePort: 30080 }));
    expect(dump).not.toContain('nodeport-ips');
    expect(rulesOf(dump, 'services')[1]).toBe(
      'fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports',
    );
    expect(rulesOf(dump, 'nodeport-endpoints-check')).toEqual([
      'ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports',
    ]);
    expect(elementsOf(dump, 'service-nodeports')).toEqual([`{ tcp . 30080 : goto ${EXT} }`]);
    expect(rulesOf(dump, EXT)).toEqual(['jump mark-for-masquerade', `goto ${SVC}`]);
  });
  it('no endpoints: every address and the node port go to reject-chain', () => {
    const { dump } = nftNode(
      clusterYaml() + svc({ type: 'NodePort', nodePort: 30080, endpoints: [], extra: '  externalIPs: [192.0.2.7]' }),
    );
    expect(elementsOf(dump, 'no-endpoint-services').sort()).toEqual([
      '{ 10.96.0.5 . tcp . 80 comment "default/s:p" : goto reject-chain }',
      '{ 192.0.2.7 . tcp . 80 comment "default/s:p" : goto reject-chain }',
    ]);
    expect(elementsOf(dump, 'no-endpoint-nodeports')).toEqual([
      '{ tcp . 30080 comment "default/s:p" : goto reject-chain }',
    ]);
    expect(elementsOf(dump, 'service-ips')).toEqual([]);
  });
  it('externalTrafficPolicy Local without a local endpoint: external traffic dropped, pods and the node short-circuited', () => {
    const { dump } = nftNode(
      clusterYaml() +
        svc({
          type: 'NodePort',
          nodePort: 30080,
          endpoints: [{ ip: '10.244.2.5', node: 'node-2' }],
          extra: '  externalTrafficPolicy: Local',
        }),
    );
    expect(elementsOf(dump, 'no-endpoint-nodeports')).toEqual(['{ tcp . 30080 comment "default/s:p" : drop }']);
    expect(rulesOf(dump, EXT)).toEqual([
      `ip saddr 10.244.0.0/16 goto ${SVC} comment "short-circuit pod traffic"`,
      'fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"',
      `fib saddr type local goto ${SVC} comment "short-circuit local traffic"`,
    ]);
  });
  it('externalTrafficPolicy Local with a local endpoint: the local- chain holds only it', () => {
    const { dump } = nftNode(
      clusterYaml() + svc({ type: 'NodePort', nodePort: 30080, extra: '  externalTrafficPolicy: Local' }),
    );
    expect(rulesOf(dump, EXT).at(-1)).toBe(`goto ${LOCAL}`);
    expect(rulesOf(dump, LOCAL)).toEqual([
      `numgen random mod 1 vmap { 0 : goto endpoint-${hashAndTruncate('default/s/tcp/p__10.244.1.5/80')} }`,
    ]);
  });
  it('internalTrafficPolicy Local: the cluster IP goes to the local- chain, or is dropped on a node without one', () => {
    const yaml =
      clusterYaml() +
      svc({ endpoints: [{ ip: '10.244.2.5', node: 'node-2' }], extra: '  internalTrafficPolicy: Local' });
    expect(elementsOf(nftNode(yaml, 'node-1').dump, 'no-endpoint-services')).toEqual([
      '{ 10.96.0.5 . tcp . 80 comment "default/s:p" : drop }',
    ]);
    expect(elementsOf(nftNode(yaml, 'node-2').dump, 'service-ips')).toEqual([
      `{ 10.96.0.5 . tcp . 80 : goto ${LOCAL} }`,
    ]);
  });
  it('loadBalancerSourceRanges: a firewall chain per service; the LB IP is allowed when a range holds the node IP', () => {
    const { dump } = nftNode(
      clusterYaml() +
        svc({
          type: 'LoadBalancer',
          nodePort: 30080,
          extra: '  loadBalancerSourceRanges: [203.0.113.0/25, 192.168.0.0/24]',
          status: 'status: {loadBalancer: {ingress: [{ip: 198.51.100.9}]}}',
        }),
    );
    const fw = `firewall-${hashAndTruncate('default/s/tcp/p')}`;
    expect(rulesOf(dump, fw)).toEqual(['ip saddr != { 203.0.113.0/25 , 192.168.0.0/24 , 198.51.100.9 } drop']);
    expect(elementsOf(dump, 'firewall-ips')).toEqual([`{ 198.51.100.9 . tcp . 80 : goto ${fw} }`]);
  });
  it('session affinity: a timeout set per endpoint, checked before the numgen and updated in the endpoint chain', () => {
    const { dump } = nftNode(
      clusterYaml() +
        svc({ extra: '  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}' }),
    );
    const ep = hashAndTruncate('default/s/tcp/p__10.244.1.5/80');
    expect(dump).toContain(
      `add set ip kube-proxy affinity-${ep} { type ipv4_addr ; flags dynamic,timeout ; timeout 600s ; }`,
    );
    expect(rulesOf(dump, SVC)[1]).toBe(`ip saddr @affinity-${ep} goto endpoint-${ep}`);
    expect(rulesOf(dump, `endpoint-${ep}`)).toEqual([
      'ip saddr 10.244.1.5 jump mark-for-masquerade',
      `update @affinity-${ep} { ip saddr }`,
      'meta l4proto tcp dnat to 10.244.1.5:80',
    ]);
  });
  it('two Services claiming one external IP and port: the later replaces the element (delete, then add), as kube-proxy does', () => {
    const yaml =
      clusterYaml() +
      svc({ extra: '  externalIPs: [192.0.2.7]' }) +
      svc({ name: 't', clusterIP: '10.96.0.6', extra: '  externalIPs: [192.0.2.7]' });
    const { transaction, dump } = nftNode(yaml);
    expect(transaction).toContain('delete element ip kube-proxy service-ips { 192.0.2.7 . tcp . 80 }\n');
    expect(elementsOf(dump, 'service-ips').filter((e) => e.includes('192.0.2.7'))).toEqual([
      `{ 192.0.2.7 . tcp . 80 : goto external-${hashAndTruncate('default/t/tcp/p')} }`,
    ]);
  });
  it('terminating endpoints serve when no endpoint is ready', () => {
    const { dump } = nftNode(
      clusterYaml() +
        svc({
          endpoints: [
            { ip: '10.244.1.5', node: 'node-1', ready: false, serving: true, terminating: true },
            { ip: '10.244.2.5', node: 'node-2', ready: false, serving: false, terminating: true },
          ],
        }),
    );
    expect(rulesOf(dump, SVC)[1]).toBe(
      `numgen random mod 1 vmap { 0 : goto endpoint-${hashAndTruncate('default/s/tcp/p__10.244.1.5/80')} }`,
    );
  });
});
