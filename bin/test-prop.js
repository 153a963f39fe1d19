#!/usr/bin/env node
// `npm run test:prop -- [--runs N] [--seed S]`: the property tests (*.prop.test.ts) with
// more runs than npm test gives them; a failure prints its seed and shrunk sequence.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const env = { ...process.env };
const rest = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--runs') env.KNETSIM_PROP_RUNS = args[++i];
  else if (args[i] === '--seed') env.KNETSIM_PROP_SEED = args[++i];
  else rest.push(args[i]);
}
if (env.KNETSIM_PROP_RUNS !== undefined && !/^\d+$/.test(env.KNETSIM_PROP_RUNS)) {
  console.error(`test:prop: --runs "${env.KNETSIM_PROP_RUNS}" is not a number`);
  process.exit(2);
}
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const r = spawnSync(process.execPath, [vitest, 'run', 'prop.test', ...rest], { cwd: root, stdio: 'inherit', env });
process.exit(r.status ?? 1);
