#!/usr/bin/env node
// `npm run bench` and `knetsim bench`: bundles bench/main.ts with esbuild and runs it with
// node, so the figures are those of plain JavaScript (tsx's keepNames wrappers cost a third).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'bench', 'out', 'main.mjs');
await build({
  entryPoints: [join(root, 'bench', 'main.ts')],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'esm',
  logLevel: 'warning',
  // The banner's import has a name no source uses: esbuild does not see the banner, so a source's
  // own import of createRequire would otherwise be declared twice in the bundle.
  banner: {
    js: "import { createRequire as createBannerRequire } from 'node:module'; const require = createBannerRequire(import.meta.url);",
  },
});
const r = spawnSync(process.execPath, [out, ...process.argv.slice(2)], {
  stdio: 'inherit',
  // `npm run bench` refreshes bench/RESULTS.md; `knetsim bench` (KNETSIM_BENCH_CLI) only prints.
  env: {
    ...process.env,
    ...(process.env.KNETSIM_BENCH_CLI ? {} : { KNETSIM_BENCH_RESULTS: join(root, 'bench', 'RESULTS.md') }),
    KNETSIM_ROOT: root,
  },
});
process.exit(r.status ?? 1);
