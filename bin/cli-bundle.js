// The command line as one bundle of plain JavaScript (esbuild), kept in node_modules/.cache
// and rebuilt whenever a source file it was built from has changed: the command then starts
// in a tenth of a second instead of half of one (tsx compiling every module of src/), and runs
// at the speed bench/ measures (tsx's keepNames wrappers cost a third). Without esbuild (an
// install without dev dependencies) or a writable cache, bin/knetsim.js runs the sources by tsx.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What a source file was when the bundle was built: changed size or time means rebuild. */
function stamp(path) {
  const s = statSync(path);
  return `${s.size}:${s.mtimeMs}`;
}

/** Whether every input of the recorded build is as it was. */
function fresh(root, manifest) {
  if (manifest.node !== process.version) return false;
  for (const [file, was] of Object.entries(manifest.inputs)) {
    try {
      if (stamp(join(root, file)) !== was) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** The path of an up-to-date bundle of src/cli/main.ts, building it when needed; null when it cannot be had. */
export async function cliBundle(root) {
  const dir = join(root, 'node_modules', '.cache', 'knetsim');
  const bundle = join(dir, 'cli.mjs');
  const manifestPath = join(dir, 'cli.json');
  try {
    if (fresh(root, JSON.parse(readFileSync(manifestPath, 'utf8')))) return bundle;
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
    // Written under a name of this process and renamed: commands started together (tests run
    // many) never read a half-written file, and the record is renamed after the bundle it describes.
    const temporary = `${bundle}.${process.pid}.tmp`;
    const result = await esbuild.build({
      absWorkingDir: root,
      entryPoints: [join(root, 'src', 'cli', 'main.ts')],
      outfile: temporary,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // Dependencies are loaded from node_modules as they are installed; only the project's own code is bundled.
      packages: 'external',
      metafile: true,
      logLevel: 'silent',
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    });
    const inputs = {};
    // Inputs are named relative to the working directory given (the project's).
    for (const file of Object.keys(result.metafile.inputs)) inputs[file] = stamp(join(root, file));
    const manifest = `${JSON.stringify({ node: process.version, inputs })}\n`;
    renameSync(temporary, bundle);
    writeFileSync(`${manifestPath}.${process.pid}.tmp`, manifest);
    renameSync(`${manifestPath}.${process.pid}.tmp`, manifestPath);
    return bundle;
  } catch {
    return null;
  }
}
