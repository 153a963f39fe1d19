// The command line in kube-proxy's nftables mode: rules as nft prints them, and
// traces on a scenario or on a real node's `nft list ruleset`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'knetsim-nft-cli-'));
const EXAMPLE = join(ROOT, '..', 'shared', 'examples', 'kube-proxy', 'nftables-TestClusterIPGeneral.yaml');
const IPTABLES_EXAMPLE = join(ROOT, '..', 'shared', 'examples', 'kube-proxy', 'TestClusterIPGeneral.yaml');
const KERNEL_LIST = join(ROOT, 'test', 'nftables', 'fixtures', 'kube-proxy-overall.nft-list.txt');

function knetsim(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'knetsim.js'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('nftables mode on the command line', () => {
  it('rules --format nft|nft-list|json; --mode nftables selects the mode too', () => {
    const nft = knetsim('rules', EXAMPLE, '--node', 'test-node', '--format', 'nft');
    expect(nft.status).toBe(0);
    expect(nft.stdout.split('\n')[0]).toBe('add table ip kube-proxy { comment "rules for kube-proxy" ; }');
    const list = knetsim('rules', EXAMPLE, '--node', 'test-node', '--format', 'nft-list');
    expect(list.stdout).toMatch(/^table ip kube-proxy \{\n\tcomment "rules for kube-proxy"\n/);
    const json = JSON.parse(knetsim('rules', EXAMPLE, '--node', 'test-node', '--format', 'json').stdout);
    expect(json.mode).toBe('nftables');
    expect(json.nft).toBe(nft.stdout);
    expect(json.nftTransaction).toContain('flush map ip kube-proxy service-ips');
    const switched = knetsim('rules', IPTABLES_EXAMPLE, '--mode', 'nftables', '--format', 'nft');
    expect(switched.status).toBe(0);
    expect(switched.stdout).toContain('add map ip kube-proxy service-ips');
  });
  it('--format nft in another mode is a usage error', () => {
    const r = knetsim('rules', IPTABLES_EXAMPLE, '--format', 'nft');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--format nft: kube-proxy mode is iptables; use --mode nftables');
  });
  it('trace --nft on a real node listing', () => {
    const r = knetsim(
      'trace',
      '--nft',
      KERNEL_LIST,
      '--node-ip',
      '192.168.0.2',
      '--from',
      '203.0.113.2',
      '--to',
      '192.168.0.2:3003',
      '--json',
    );
    expect(r.status).toBe(0);
    const t = JSON.parse(r.stdout);
    expect(t.outcome).toBe('ACCEPT');
    expect(t.endpoints.map((e: { address: string }) => e.address)).toEqual(['10.180.0.3:80']);
    expect(t.masquerade).toBe(true);
  });
  it('a bad nft dump names the line and the token', () => {
    const bad = join(tmp, 'bad.nft');
    writeFileSync(bad, 'table ip t {\n\tchain c {\n\t\tip daddr 1.2.3.4 wobble\n\t}\n}\n');
    const r = knetsim('trace', '--nft', bad, '--from', '10.0.0.1', '--to', '1.2.3.4:80');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${bad}: line 3 at "wobble": unknown word "wobble"`);
  });
});
