#!/usr/bin/env node
// The knetsim command: runs the TypeScript sources through tsx, so the command a
// user runs is always the code in src/ (no build step to forget after `npm ci`).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
