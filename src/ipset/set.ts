// One ipset: its type, create options and entries. Entries live in a Map keyed by the element's
// canonical id, so a membership test is one hash probe (one per prefix length for net types).

import {
  addressMask,
  type CreateOptions,
  type CreateOptionsInput,
  compatibleCreateOptions,
  normalizeCreateOptions,
} from './create-options';
import { formatElement, type IpsetKey, keyId, parseElement } from './element';
import { checkEntryOptions, type EntryOptions, normalizeEntryOptions } from './entry-options';
import { ok, type Problem, problem, type Result } from './result';
import { type IpsetType, SET_TYPES } from './set-type';

export interface IpsetEntry {
  readonly key: IpsetKey;
  readonly options: EntryOptions;
}

export interface IpSet {
  readonly name: string;
  readonly type: IpsetType;
  readonly options: CreateOptions;
  /** Entries by key id, in insertion order: the order knetsim prints hash sets in. */
  readonly entries: Map<string, IpsetEntry>;
  /**
   * hash:net and hash:ip,port,net: how many entries have each prefix length (index 0-32), so a
   * look-up probes only the lengths present, most specific first, as the kernel does.
   */
  readonly prefixCounts: number[];
}

/** IPSET_MAXNAMELEN is 32 bytes with the terminating NUL. */
export const MAX_SET_NAME_LENGTH = 31;

export function checkSetName(name: string): Problem | null {
  if (name.length === 0) return { token: name, reason: 'a set name cannot be empty' };
  if (name.length > MAX_SET_NAME_LENGTH) {
    return { token: name, reason: `set name "${name}" is longer than ${MAX_SET_NAME_LENGTH} characters` };
  }
  return null;
}

/** A new empty set; options are normalised as the kernel would store them. */
export function createSet(name: string, type: IpsetType, options: CreateOptionsInput = {}): Result<IpSet, Problem> {
  const bad = checkSetName(name);
  if (bad) return { ok: false, error: bad };
  const normal = normalizeCreateOptions(type, options);
  if (!normal.ok) return normal;
  return ok(emptySet(name, type, normal.value));
}

export function emptySet(name: string, type: IpsetType, options: CreateOptions): IpSet {
  return { name, type, options, entries: new Map(), prefixCounts: new Array<number>(33).fill(0) };
}

/** Whether `create -exist` may meet this existing set without error. */
export function sameSetDefinition(set: IpSet, type: IpsetType, options: CreateOptions): boolean {
  return set.type === type && compatibleCreateOptions(set.options, options);
}

function prefixOf(set: IpSet, key: IpsetKey): number | undefined {
  return set.type === 'hash:net' ? key.cidr : set.type === 'hash:ip,port,net' ? key.cidr2 : undefined;
}

export interface AddOptions {
  /** `-exist`: re-adding updates the entry instead of failing. */
  readonly exist?: boolean;
}

/**
 * Adds one key. With `exist`, an existing entry takes the new options but keeps its counters
 * unless new ones are given, as the kernel does.
 */
export function addKey(
  set: IpSet,
  key: IpsetKey,
  options: EntryOptions = {},
  add: AddOptions = {},
): Result<void, Problem> {
  const element = formatElement(set.type, key);
  const bad = checkEntryOptions(options, set.type, set.options);
  if (bad) return { ok: false, error: bad };
  const range = set.options.range;
  if (range && (key.port! < range.first || key.port! > range.last)) {
    return problem(element, `port ${key.port} is outside the range ${range.first}-${range.last} of set "${set.name}"`);
  }
  const id = keyId(set.type, key);
  const existing = set.entries.get(id);
  const normal = normalizeEntryOptions(options);
  if (existing) {
    if (!add.exist) return problem(element, `"${element}" is already in set "${set.name}"`);
    const kept = {
      ...(existing.options.packets !== undefined ? { packets: existing.options.packets } : {}),
      ...(existing.options.bytes !== undefined ? { bytes: existing.options.bytes } : {}),
    };
    set.entries.set(id, { key: existing.key, options: { ...kept, ...normal } });
    return ok(undefined);
  }
  if (set.options.maxelem !== undefined && set.entries.size >= set.options.maxelem) {
    return problem(element, `set "${set.name}" is full (maxelem ${set.options.maxelem})`);
  }
  set.entries.set(id, { key, options: normal });
  const prefix = prefixOf(set, key);
  if (prefix !== undefined) set.prefixCounts[prefix]!++;
  return ok(undefined);
}

function badElement(set: IpSet, element: string, reason: string): { readonly ok: false; readonly error: Problem } {
  return problem(element, `"${element}" is not a valid ${set.type} element: ${reason}`);
}

/**
 * `ipset add NAME ELEMENT [options]`: the element text may hold CIDRs and ranges, which add every
 * key they stand for. Returns how many keys were added or updated.
 */
export function addElement(
  set: IpSet,
  element: string,
  options: EntryOptions = {},
  add: AddOptions = {},
): Result<number, Problem> {
  const keys = parseElement(set.type, element, addressMask(set.options));
  if (!keys.ok) return badElement(set, element, keys.error);
  for (const key of keys.value) {
    const added = addKey(set, key, options, add);
    if (!added.ok) return added;
  }
  return ok(keys.value.length);
}

/** Removes one key; with `exist`, a missing key is not an error. */
export function deleteKey(set: IpSet, key: IpsetKey, add: AddOptions = {}): Result<void, Problem> {
  const id = keyId(set.type, key);
  if (!set.entries.delete(id)) {
    if (add.exist) return ok(undefined);
    const element = formatElement(set.type, key);
    return problem(element, `"${element}" is not in set "${set.name}"`);
  }
  const prefix = prefixOf(set, key);
  if (prefix !== undefined) set.prefixCounts[prefix]!--;
  return ok(undefined);
}

/** `ipset del NAME ELEMENT`. Returns how many keys were removed. */
export function deleteElement(set: IpSet, element: string, add: AddOptions = {}): Result<number, Problem> {
  const keys = parseElement(set.type, element, addressMask(set.options));
  if (!keys.ok) return badElement(set, element, keys.error);
  for (const key of keys.value) {
    const deleted = deleteKey(set, key, add);
    if (!deleted.ok) return deleted;
  }
  return ok(keys.value.length);
}

export function flushSet(set: IpSet): void {
  set.entries.clear();
  set.prefixCounts.fill(0);
}

/** The same set under another name (entries shared: the old value is meant to be dropped). */
export function renamedSet(set: IpSet, name: string): IpSet {
  return { ...set, name };
}

export function cloneSet(set: IpSet): IpSet {
  return { ...set, entries: new Map(set.entries), prefixCounts: [...set.prefixCounts] };
}

/** Entries in the order `ipset save` prints them: bitmaps by port, hash sets as added. */
export function savedEntries(set: IpSet): IpsetEntry[] {
  const entries = [...set.entries.values()];
  if (SET_TYPES[set.type].kind === 'bitmap') entries.sort((a, b) => a.key.port! - b.key.port!);
  return entries;
}
