// `knetsim bench`: the suites' arguments checked before anything runs (exit status 2).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');

function knetsim(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'knetsim.js'), ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('knetsim bench', () => {
  it('refuses an unknown suite or a bad Service count with exit status 2', () => {
    const suite = knetsim('bench', '--suite', 'bogus');
    expect(suite.status).toBe(2);
    expect(suite.stderr).toContain(
      'knetsim bench: --suite: "bogus" is not one of targets, kernel, engine, modes, cni, dns, all',
    );
    const count = knetsim('bench', '--suite', 'modes', '--services', 'lots');
    expect(count.status).toBe(2);
    expect(count.stderr).toContain('--services: give counts from 1 to 100000, comma-separated');
  });
});
