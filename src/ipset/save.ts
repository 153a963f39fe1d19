// Prints sets in `ipset save` form: per set, its create line then one add line per entry, every
// line ending in a newline, so a dump parsed and printed comes back byte for byte.

import { formatCreateOptions } from './create-options';
import { formatElement } from './element';
import { formatEntryOptions } from './entry-options';
import type { IpsetRegistry } from './registry';
import { type IpSet, type IpsetEntry, savedEntries } from './set';

export function formatCreateLine(set: IpSet): string {
  return `create ${set.name} ${set.type} ${formatCreateOptions(set.type, set.options)}`;
}

export function formatAddLine(set: IpSet, entry: IpsetEntry): string {
  return `add ${set.name} ${formatElement(set.type, entry.key)}${formatEntryOptions(entry.options, set.options)}`;
}

/** One set as `ipset save NAME` prints it. */
export function formatSetSave(set: IpSet): string {
  let text = `${formatCreateLine(set)}\n`;
  for (const entry of savedEntries(set)) text += `${formatAddLine(set, entry)}\n`;
  return text;
}

/** All sets as `ipset save` prints them. */
export function formatIpsetSave(sets: IpsetRegistry | Iterable<IpSet>): string {
  const list = isRegistry(sets) ? sets.sets.values() : sets;
  let text = '';
  for (const set of list) text += formatSetSave(set);
  return text;
}

function isRegistry(value: IpsetRegistry | Iterable<IpSet>): value is IpsetRegistry {
  return 'sets' in value && value.sets instanceof Map;
}
