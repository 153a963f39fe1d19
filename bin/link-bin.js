#!/usr/bin/env node
// npm links the bins of dependencies, not the project's own; the reference
// checks and `npx knetsim` in a clone expect node_modules/.bin/knetsim, so
// `npm ci` links it here (run as the prepare script).
import { chmodSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const binDir = join(root, 'node_modules', '.bin');
const target = join(root, 'bin', 'knetsim.js');
const link = join(binDir, 'knetsim');
mkdirSync(binDir, { recursive: true });
if (existsSync(link)) rmSync(link);
symlinkSync(relative(binDir, target), link);
chmodSync(target, 0o755);
