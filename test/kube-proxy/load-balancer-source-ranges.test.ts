// loadBalancerSourceRanges as kube-proxy's newBaseServiceInfo reads them: ranges of the
// proxier's family only, and a zero-length prefix allows every source, like no ranges at all.
import { describe, expect, it } from 'vitest';
import { clusterYaml, nodeOf, serviceYaml } from '../helpers/scenario';

const restoreWith = (ranges: string[]) =>
  nodeOf(
    clusterYaml() +
      serviceYaml({
        name: 's',
        clusterIP: '10.96.0.5',
        type: 'LoadBalancer',
        nodePort: 30080,
        extra: `  loadBalancerSourceRanges: [${ranges.map((r) => JSON.stringify(r)).join(', ')}]`,
        status: 'status: {loadBalancer: {ingress: [{ip: 1.2.3.4}]}}',
        endpoints: [{ ip: '10.244.1.5', node: 'node-1' }],
      }),
  ).restore;

const lbJump = (restore: string) =>
  restore
    .split('\n')
    .find((l) => l.startsWith('-A KUBE-SERVICES ') && l.includes('-d 1.2.3.4'))
    ?.replace(/.* -j /, '');

describe('loadBalancerSourceRanges', () => {
  it('a range that is not 0.0.0.0/0 sends the LB IP through the firewall chain', () => {
    expect(lbJump(restoreWith(['203.0.113.0/25']))).toMatch(/^KUBE-FW-/);
  });
  it('0.0.0.0/0 allows any source: no firewall chain, no KUBE-PROXY-FIREWALL drop', () => {
    const r = restoreWith(['0.0.0.0/0']);
    expect(lbJump(r)).toMatch(/^KUBE-EXT-/);
    expect(r).not.toContain('KUBE-FW-');
    expect(r).not.toContain('-A KUBE-PROXY-FIREWALL');
  });
  it('0.0.0.0/0 beside narrower ranges still allows any source', () => {
    expect(restoreWith(['203.0.113.0/25', '0.0.0.0/0'])).not.toContain('KUBE-FW-');
  });
  it('ranges of the other family only are ignored by the IPv4 proxier', () => {
    expect(restoreWith(['2001:db8::/64'])).not.toContain('KUBE-FW-');
  });
});
