// Reads an `ipset save` dump for `trace --ipset`.

import type { SetLookup } from '../engine';
import { setLookupOf } from '../engine';
import { parseIpsetSave } from '../ipset';
import { UserError } from './user-error';

export function loadSetsForTrace(text: string, file: string): SetLookup {
  const parsed = parseIpsetSave(text, { source: file });
  if (!parsed.ok) throw new UserError(parsed.error.message);
  return setLookupOf(parsed.value);
}
