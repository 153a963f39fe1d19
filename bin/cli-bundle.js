// The command line as one bundle of plain JavaScript (esbuild), kept in node_modules/.cache
// and rebuilt whenever a source file it was built from has changed: the command then starts
// in a tenth of a second instead of half of one (tsx compiling every module of src/), and runs
// at the speed bench/ measures (tsx's keepNames wrappers cost a third). Without esbuild (an
// install without dev dependencies) or a writable cache, bin/knetsim.js runs the sources by tsx.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/** How the bundle is built: a record made with other settings is not this build's. */
const RECIPE = 'esm node20 packages-external v3';
/** Files that change the build without being among its inputs. */
const SETTINGS = ['tsconfig.json', 'package.json'];
/**
 * A source written this recently may still change within the granule of its time stamp, or be
 * half read by the build: the build is used, but not recorded, so the next command builds again.
 */
const SETTLED_MS = 2000;
/** Bundles older than this and not named by the record are removed (one being imported is younger). */
const STALE_MS = 10 * 60 * 1000;

/** What a file was when the bundle was built: changed size or time means rebuild. */
function stampOf(stats) {
  return `${stats.size}:${stats.mtimeMs}`;
}

/** The bundle the record names, when every input it lists is as it was; else null. */
function freshBundle(root, dir, record) {
  if (record.node !== process.version || record.recipe !== RECIPE || typeof record.bundle !== 'string') return null;
  const bundle = join(dir, record.bundle);
  if (!existsSync(bundle)) return null;
  for (const [file, was] of Object.entries(record.inputs)) {
    try {
      if (stampOf(statSync(join(root, file))) !== was) return null;
    } catch {
      return null;
    }
  }
  return bundle;
}

/** Removes bundles the record no longer names, once they are old enough not to be in use. */
function removeStale(dir, keep) {
  const now = Date.now();
  for (const name of readdirSync(dir)) {
    if (name === keep || !/^cli(-.*)?\.mjs$/.test(name)) continue;
    try {
      if (now - statSync(join(dir, name)).mtimeMs > STALE_MS) unlinkSync(join(dir, name));
    } catch {
      // Another command removed it first.
    }
  }
}

/** The path of an up-to-date bundle of src/cli/main.ts, building it when needed; null when it cannot be had. */
export async function cliBundle(root) {
  const dir = join(root, 'node_modules', '.cache', 'knetsim');
  const recordPath = join(dir, 'cli.json');
  try {
    const known = freshBundle(root, dir, JSON.parse(readFileSync(recordPath, 'utf8')));
    if (known !== null) return known;
  } catch {
    // No bundle yet, or an unreadable record of it: build one.
  }
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    return null;
  }
  try {
    mkdirSync(dir, { recursive: true });
    const started = Date.now();
    // Each build has a file of its own, named by the record written after it (renamed into place):
    // commands started together never read half a file, nor a record beside another build's bundle.
    const name = `cli-${process.pid}-${started}.mjs`;
    const bundle = join(dir, name);
    const result = await esbuild.build({
      absWorkingDir: root,
      entryPoints: [join(root, 'src', 'cli', 'main.ts')],
      outfile: bundle,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // Dependencies are loaded from node_modules as they are installed; only the project's own code is bundled.
      packages: 'external',
      metafile: true,
      logLevel: 'silent',
      // The banner's import has a name no source uses: esbuild does not see the banner, so a source's
      // own import of createRequire would otherwise be declared twice in the bundle.
      banner: {
        js: "import { createRequire as createBannerRequire } from 'node:module'; const require = createBannerRequire(import.meta.url);",
      },
    });
    // Inputs are named relative to the working directory given (the project's).
    const files = [...Object.keys(result.metafile.inputs), ...SETTINGS.filter((f) => existsSync(join(root, f)))];
    const inputs = {};
    let settled = true;
    for (const file of files) {
      const s = statSync(join(root, file));
      if (s.mtimeMs > started - SETTLED_MS) settled = false;
      inputs[file] = stampOf(s);
    }
    if (settled) {
      const record = `${JSON.stringify({ node: process.version, recipe: RECIPE, bundle: name, inputs })}\n`;
      const temporary = `${recordPath}.${process.pid}.tmp`;
      writeFileSync(temporary, record);
      renameSync(temporary, recordPath);
    }
    removeStale(dir, name);
    return bundle;
  } catch {
    return null;
  }
}
