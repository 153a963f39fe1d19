// Where the project's own files are (examples/, bin/bench.js). bin/knetsim.js names the
// directory in KNETSIM_ROOT, since the command it runs may be a bundle in a cache elsewhere;
// run from the sources, it is two directories above this file.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT: string =
  process.env.KNETSIM_ROOT ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..');
