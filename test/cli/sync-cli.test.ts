// `knetsim sync A --then B`: per step what kube-proxy sends, with a summary; JSON;
// bad input with exit status 2.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const DEMO = join(ROOT, 'examples', 'demo.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'knetsim-sync-cli-'));

function knetsim(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'knetsim.js'), ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// The demo without its NodePort Service, and with myapp scaled to five replicas.
const demo = readFileSync(DEMO, 'utf8');
const withoutNodePort = join(tmp, 'b.yaml');
writeFileSync(
  withoutNodePort,
  demo
    .split('\n---\n')
    .filter((d) => !d.includes('name: myapp-nodeport'))
    .join('\n---\n'),
);
const scaled = join(tmp, 'c.yaml');
writeFileSync(scaled, demo.replace('replicas: 4', 'replicas: 5'));

describe('knetsim sync', () => {
  it('iptables: a full first sync, then only what changed, with a summary per step', () => {
    const r = knetsim('sync', DEMO, '--then', withoutNodePort, '--then', withoutNodePort);
    expect(r.status, r.stderr).toBe(0);
    const steps = r.stdout.split(/^# sync /m).slice(1);
    expect(steps).toHaveLength(3);
    expect(steps[0]).toMatch(/^1: .*demo\.yaml: full sync \(first sync\)/);
    expect(steps[1]).toMatch(/^2: .*b\.yaml: partial sync\n# services changed: default\/myapp-nodeport\n/);
    expect(steps[1]).toMatch(/^-X KUBE-SVC-/m);
    expect(steps[1]).toMatch(/# summary: 0 service chains written, \d+ unchanged, \d+ deleted \(KUBE-/);
    expect(steps[2]).toMatch(/# services changed: none\n/);
    expect(steps[2]).toMatch(/# summary: 0 service chains written, \d+ unchanged, 0 deleted/);
  });

  it('ipvs --json: the servers added for a scaled Deployment', () => {
    const r = knetsim('sync', DEMO, '--then', scaled, '--mode', 'ipvs', '--json');
    expect(r.status, r.stderr).toBe(0);
    const [first, second] = JSON.parse(r.stdout);
    expect(first.full).toBe(true);
    expect(second.full).toBe(false);
    expect(second.servicesChanged).toEqual(['default/myapp', 'default/myapp-nodeport']);
    expect(second.ipvsadm.every((l: string) => l.startsWith('-a '))).toBe(true);
    expect(second.summary.realServers.added).toBe(second.ipvsadm.length);
  });

  it('userspace: a removed Service closes its socket and deletes its portal rules; a scaled one only updates its round robin', () => {
    const r = knetsim('sync', DEMO, '--then', withoutNodePort, '--mode', 'userspace', '--json');
    expect(r.status, r.stderr).toBe(0);
    const [, second] = JSON.parse(r.stdout);
    expect(second.closed).toEqual(['default/myapp-nodeport:http 36001/TCP']);
    expect(second.opened).toEqual([]);
    expect(second.iptables.length).toBeGreaterThan(0);
    expect(second.iptables.every((c: string) => / -D KUBE-/.test(c) && c.includes('default/myapp-nodeport:http'))).toBe(
      true,
    );
    const s = knetsim('sync', DEMO, '--then', scaled, '--mode', 'userspace', '--json');
    const [, grown] = JSON.parse(s.stdout);
    expect(grown.iptables).toEqual([]);
    expect(grown.endpointsUpdated).toEqual(['default/myapp-nodeport:http', 'default/myapp:http']);
  });

  it('nftables: a partial transaction for the changed Services only, stale chains flushed then deleted by the next sync', () => {
    const r = knetsim(
      'sync',
      DEMO,
      '--then',
      withoutNodePort,
      '--then',
      withoutNodePort,
      '--mode',
      'nftables',
      '--json',
    );
    expect(r.status, r.stderr).toBe(0);
    const [, second, third] = JSON.parse(r.stdout);
    expect(second.servicesChanged).toEqual(['default/myapp-nodeport']);
    expect(second.staleChains.length).toBeGreaterThan(0);
    expect(second.nft).not.toMatch(/^add chain ip kube-proxy service-\S+-default\/myapp\/tcp\/http$/m);
    expect(third.deletedChains).toEqual(second.staleChains);
    expect(
      third.nft
        .trim()
        .split('\n')
        .filter((l: string) => l.startsWith('delete chain')),
    ).toHaveLength(second.staleChains.length);
  });

  it('bad input: no --then, or a mode whose syncs are not modelled', () => {
    const none = knetsim('sync', DEMO);
    expect(none.status).toBe(2);
    expect(none.stderr).toBe('knetsim: sync: give the next state with --then FILE (one or more)\n');
    const every = knetsim('sync', DEMO, '--then', scaled, '--full-every', 'x');
    expect(every.status).toBe(2);
    expect(every.stderr).toBe('knetsim: --full-every: "x" is not a number of syncs\n');
  });
});
