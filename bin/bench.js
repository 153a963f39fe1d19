#!/usr/bin/env node
// `npm run bench`: bundles bench/run.ts with esbuild and runs it with node, so
// the figures are those of plain JavaScript (tsx's keepNames wrappers cost a third).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// `knetsim bench` runs the suites' entry (bench/main.ts); `npm run bench` the classic report.
const entry = process.env.KNETSIM_BENCH_ENTRY ?? 'run.ts';
const out = join(root, 'bench', 'out', entry.replace(/\.ts$/, '.mjs'));
await build({
  entryPoints: [join(root, 'bench', entry)],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'esm',
  logLevel: 'warning',
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
});
const r = spawnSync(process.execPath, [out, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, KNETSIM_BENCH_RESULTS: join(root, 'bench', 'RESULTS.md'), KNETSIM_ROOT: root },
});
process.exit(r.status ?? 1);
