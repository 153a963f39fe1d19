// `knetsim bench [--suite S] [--services N,N] [--json FILE] [--html FILE] [--quick]`: the
// benchmark suites (bench/), bundled and run by plain node so the figures are those of
// the JavaScript users run, not of the TypeScript loader.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from './project-root';
import { UserError } from './user-error';

export interface BenchOptions {
  suite?: string;
  services?: string;
  json?: string;
  html?: string;
  quick?: boolean;
}

export function runBench(o: BenchOptions): number {
  const root = PROJECT_ROOT;
  const args = [
    ...(o.suite ? ['--suite', o.suite] : []),
    ...(o.services ? ['--services', o.services] : []),
    ...(o.json ? ['--json', o.json] : []),
    ...(o.html ? ['--html', o.html] : []),
    ...(o.quick ? ['--quick'] : []),
  ];
  const r = spawnSync(process.execPath, [join(root, 'bin', 'bench.js'), ...args], {
    stdio: 'inherit',
    env: { ...process.env, KNETSIM_BENCH_CLI: '1' },
  });
  if (r.status === 2) throw new UserError('bench: bad arguments (see above)', 2);
  return r.status ?? 1;
}
