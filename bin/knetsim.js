#!/usr/bin/env node
// The knetsim command. It runs the code in src/ as it is now (no build step to forget after
// `npm ci` or an edit): as a bundle of it rebuilt whenever a source changed (bin/cli-bundle.js),
// or, where that cannot be had, the TypeScript sources themselves through tsx.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cliBundle } from './cli-bundle.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The bundle runs from a cache: it finds examples/ and bin/bench.js by this.
process.env.KNETSIM_ROOT ??= root;
const fromSource = !['', '0', undefined].includes(process.env.KNETSIM_FROM_SOURCE);
const bundle = fromSource ? null : await cliBundle(root);
if (bundle !== null) await import(pathToFileURL(bundle).href);
else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
