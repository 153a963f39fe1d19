// The `ipset restore` input format (which `ipset save` output is): create/add/del/flush/destroy/
// swap/rename lines and their legacy -N/-A/... spellings, applied in order to a registry.

import { parseCreateOptions } from './create-options';
import { parseEntryOptions } from './entry-options';
import { cloneRegistry, createRegistry, type IpsetRegistry } from './registry';
import { tokenizeRestoreLine } from './restore-line';
import { err, ok, type Problem, type Result } from './result';
import {
  addElement,
  checkSetName,
  deleteElement,
  emptySet,
  flushSet,
  type IpSet,
  renamedSet,
  sameSetDefinition,
} from './set';
import { resolveSetType } from './set-type';

export interface RestoreOptions {
  /** Names the input in messages ("node.ipset"); defaults to "ipset restore". */
  readonly source?: string;
  /** `ipset restore -exist`: existing sets and elements are not errors. */
  readonly exist?: boolean;
}

/** Bad input, located: `message` is the whole sentence for the user. */
export interface IpsetError {
  readonly source: string;
  /** 1-based line number, counting blank and comment lines. */
  readonly line: number;
  /** The offending word as written. */
  readonly token: string;
  /** Why, without the location. */
  readonly reason: string;
  /** `${source}: line ${line}: ${reason}` */
  readonly message: string;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  create: 'create',
  '-N': 'create',
  add: 'add',
  '-A': 'add',
  del: 'del',
  '-D': 'del',
  flush: 'flush',
  '-F': 'flush',
  destroy: 'destroy',
  '-X': 'destroy',
  swap: 'swap',
  '-W': 'swap',
  rename: 'rename',
  '-E': 'rename',
};

type Command = 'create' | 'add' | 'del' | 'flush' | 'destroy' | 'swap' | 'rename';

/** Reads an `ipset save` dump (or any restore input) into a new registry. */
export function parseIpsetSave(text: string, options: RestoreOptions = {}): Result<IpsetRegistry, IpsetError> {
  return applyRestore(createRegistry(), text, options);
}

/**
 * Applies restore input to a copy of `base` and returns the copy; `base` is never changed, even
 * when a line fails (the real tool would have applied the lines before it).
 */
export function applyIpsetRestore(
  base: IpsetRegistry,
  text: string,
  options: RestoreOptions = {},
): Result<IpsetRegistry, IpsetError> {
  return applyRestore(cloneRegistry(base), text, options);
}

function applyRestore(
  registry: IpsetRegistry,
  text: string,
  options: RestoreOptions,
): Result<IpsetRegistry, IpsetError> {
  const source = options.source ?? 'ipset restore';
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    const failed = applyLine(registry, line, options.exist ?? false);
    if (failed) {
      const number = i + 1;
      return err({ source, line: number, ...failed, message: `${source}: line ${number}: ${failed.reason}` });
    }
  }
  return ok(registry);
}

function applyLine(registry: IpsetRegistry, line: string, exist: boolean): Problem | null {
  const trimmed = line.trimStart();
  if (trimmed === '' || trimmed.startsWith('#')) return null;
  const tokens = tokenizeRestoreLine(line);
  if (!tokens.ok) return { token: line, reason: tokens.error };
  // -exist (or -!) may stand anywhere on a line and applies to that line.
  const words = tokens.value.filter((w) => w !== '-exist' && w !== '-!');
  const lineExist = exist || words.length !== tokens.value.length;
  const [verb, ...args] = words;
  if (verb === undefined) return null;
  if (verb === 'COMMIT') return null;
  const command = Object.hasOwn(COMMANDS, verb) ? COMMANDS[verb] : undefined;
  if (!command) return { token: verb, reason: `"${verb}" is not an ipset restore command` };
  switch (command) {
    case 'create':
      return create(registry, args, lineExist);
    case 'add':
    case 'del':
      return addOrDelete(registry, command, args, lineExist);
    case 'flush':
    case 'destroy':
      return flushOrDestroy(registry, command, args);
    case 'swap':
    case 'rename':
      return swapOrRename(registry, command, args);
  }
}

function missingSet(name: string): Problem {
  return { token: name, reason: `set "${name}" does not exist` };
}

function arity(command: string, args: readonly string[], min: number, max: number, usage: string): Problem | null {
  if (args.length >= min && args.length <= max) return null;
  const token = args.length > max ? args[max]! : command;
  return { token, reason: args.length > max ? `"${token}" is one word too many: ${usage}` : `usage: ${usage}` };
}

function create(registry: IpsetRegistry, args: readonly string[], exist: boolean): Problem | null {
  const bad = arity('create', args, 2, Number.POSITIVE_INFINITY, 'create NAME TYPE [OPTIONS]');
  if (bad) return bad;
  const [name, typeName, ...rest] = args as [string, string, ...string[]];
  const badName = checkSetName(name);
  if (badName) return badName;
  const resolved = resolveSetType(typeName);
  if ('reason' in resolved) return { token: typeName, reason: resolved.reason };
  const options = parseCreateOptions(resolved.type, rest);
  if (!options.ok) return options.error;
  const existing = registry.sets.get(name);
  if (existing) {
    if (exist && sameSetDefinition(existing, resolved.type, options.value)) return null;
    return { token: name, reason: `set "${name}" already exists` };
  }
  registry.sets.set(name, emptySet(name, resolved.type, options.value));
  return null;
}

function addOrDelete(
  registry: IpsetRegistry,
  command: 'add' | 'del',
  args: readonly string[],
  exist: boolean,
): Problem | null {
  const usage = command === 'add' ? 'add NAME ELEMENT [OPTIONS]' : 'del NAME ELEMENT';
  const bad = arity(command, args, 2, command === 'add' ? Number.POSITIVE_INFINITY : 2, usage);
  if (bad) return bad;
  const [name, element, ...rest] = args as [string, string, ...string[]];
  const set = registry.sets.get(name);
  if (!set) return missingSet(name);
  if (command === 'del') {
    const deleted = deleteElement(set, element, { exist });
    return deleted.ok ? null : deleted.error;
  }
  const options = parseEntryOptions(rest, set.type, set.options);
  if (!options.ok) return options.error;
  const added = addElement(set, element, options.value, { exist });
  return added.ok ? null : added.error;
}

function flushOrDestroy(
  registry: IpsetRegistry,
  command: 'flush' | 'destroy',
  args: readonly string[],
): Problem | null {
  const bad = arity(command, args, 0, 1, `${command} [NAME]`);
  if (bad) return bad;
  const name = args[0];
  const targets: IpSet[] = name === undefined ? [...registry.sets.values()] : [];
  if (name !== undefined) {
    const set = registry.sets.get(name);
    if (!set) return missingSet(name);
    targets.push(set);
  }
  for (const set of targets) {
    if (command === 'flush') flushSet(set);
    else registry.sets.delete(set.name);
  }
  return null;
}

function swapOrRename(registry: IpsetRegistry, command: 'swap' | 'rename', args: readonly string[]): Problem | null {
  const bad = arity(command, args, 2, 2, `${command} FROM TO`);
  if (bad) return bad;
  const [from, to] = args as [string, string];
  const a = registry.sets.get(from);
  if (!a) return missingSet(from);
  const b = registry.sets.get(to);
  if (command === 'rename') {
    if (b) return { token: to, reason: `set "${to}" already exists` };
    const badName = checkSetName(to);
    if (badName) return badName;
    // The renamed set keeps its place in the listing, as the kernel keeps its index.
    const entries = [...registry.sets.entries()];
    registry.sets.clear();
    for (const [name, set] of entries) {
      if (name === from) registry.sets.set(to, renamedSet(set, to));
      else registry.sets.set(name, set);
    }
    return null;
  }
  if (!b) return missingSet(to);
  if (a.type !== b.type)
    return { token: to, reason: `sets "${from}" and "${to}" cannot be swapped: their types differ` };
  // Names stay in their places in the listing; the contents change places.
  registry.sets.set(from, renamedSet(b, from));
  registry.sets.set(to, renamedSet(a, to));
  return null;
}
