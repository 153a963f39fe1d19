// bin/knetsim.js runs a bundle of src/ kept in node_modules/.cache: it must be rebuilt as soon as
// a source it was built from changes (the command always runs the code as it is), and reused
// while none has. Checked on a small project of its own in a temporary directory; and the
// command itself: a reader that closes the pipe early ends it quietly.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const LAUNCHER = pathToFileURL(join(ROOT, 'bin', 'cli-bundle.js')).href;

/** Runs the project at `root` as bin/knetsim.js would: its bundle, built or reused. */
function runBundled(root: string): { out: string; bundle: string } {
  const script = `const { cliBundle } = await import(${JSON.stringify(LAUNCHER)});
const bundle = await cliBundle(${JSON.stringify(root)});
if (bundle === null) throw new Error('no bundle');
await import(new URL('file://' + bundle).href);
console.log('bundle=' + bundle);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const lines = r.stdout.trim().split('\n');
  return { out: lines.slice(0, -1).join('\n'), bundle: lines.at(-1)!.slice('bundle='.length) };
}

describe('the bundled command line', () => {
  it('is rebuilt when a source it was built from changes, and reused while none has', () => {
    const root = mkdtempSync(join(tmpdir(), 'knetsim-bundle-'));
    mkdirSync(join(root, 'src', 'cli'), { recursive: true });
    /** Writes a source as saved a while ago (a build records only sources that have settled). */
    const source = (name: string, text: string, minutesAgo: number) => {
      const path = join(root, 'src', 'cli', name);
      writeFileSync(path, text);
      const then = new Date(Date.now() - minutesAgo * 60_000);
      utimesSync(path, then, then);
    };
    source('main.ts', "import { word } from './word';\nconsole.log(word);\n", 5);
    source('word.ts', "export const word: string = 'one';\n", 5);
    const first = runBundled(root);
    expect(first.out).toBe('one');
    const again = runBundled(root);
    expect(again.out).toBe('one');
    expect(again.bundle).toBe(first.bundle);
    // A module the entry imports changes (same length, so only its time tells).
    source('word.ts', "export const word: string = 'two';\n", 4);
    const changed = runBundled(root);
    expect(changed.out).toBe('two');
    expect(changed.bundle).not.toBe(first.bundle);
    // The recorded bundle gone (a cache cleaned by hand): built again, not imported from nowhere.
    rmSync(changed.bundle);
    const rebuilt = runBundled(root);
    expect(rebuilt.out).toBe('two');
    expect(rebuilt.bundle).not.toBe(changed.bundle);
  });
  it('builds anew when a source has just been written, without recording it (it may still be changing)', () => {
    const root = mkdtempSync(join(tmpdir(), 'knetsim-bundle-'));
    mkdirSync(join(root, 'src', 'cli'), { recursive: true });
    writeFileSync(join(root, 'src', 'cli', 'main.ts'), "console.log('fresh');\n");
    const first = runBundled(root);
    expect(first.out).toBe('fresh');
    const second = runBundled(root);
    expect(second.out).toBe('fresh');
    expect(second.bundle).not.toBe(first.bundle);
  });

  it('ends quietly, with status 0, when its reader closes the pipe early', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'knetsim.js'), 'demo'], {
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    // Like `knetsim demo | head -1`: the first chunk read, then the pipe closed.
    child.stdout.once('data', () => child.stdout.destroy());
    const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    expect(stderr).toBe('');
    expect(status).toBe(0);
  });
});
