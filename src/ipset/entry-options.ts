// The options an element carries (timeout, nomatch, counters, comment, skbinfo): read from the
// tokens after an element, checked against what the set was created with, printed in save order.

import type { CreateOptions } from './create-options';
import { numberReason, parseUnsigned, parseUnsignedBig } from './number-text';
import { ok, type Problem, problem, type Result } from './result';
import { type IpsetType, SET_TYPES } from './set-type';

/** Per-element options. Zero skbinfo values, an empty comment and `nomatch: false` are absent. */
export interface EntryOptions {
  readonly timeout?: number;
  /** hash:net and hash:ip,port,net: the entry excludes its network instead of matching it. */
  readonly nomatch?: boolean;
  readonly packets?: bigint;
  readonly bytes?: bigint;
  readonly comment?: string;
  readonly skbmark?: { readonly mark: number; readonly mask: number };
  readonly skbprio?: { readonly major: number; readonly minor: number };
  readonly skbqueue?: number;
}

const MAX_TIMEOUT = 2147483;
const MAX_COMMENT = 255;
const MAX_U64 = 2n ** 64n - 1n;

type Mutable<T> = { -readonly [K in keyof T]?: T[K] };

/** Reads the option tokens after an element of a set of `type` created with `create`. */
export function parseEntryOptions(
  tokens: readonly string[],
  type: IpsetType,
  create: CreateOptions,
): Result<EntryOptions, Problem> {
  const options: Mutable<EntryOptions> = {};
  const seen = new Set<string>();
  for (let i = 0; i < tokens.length; i++) {
    const name = tokens[i]!;
    if (seen.has(name)) return problem(name, `element option "${name}" is given twice`);
    seen.add(name);
    if (name === 'nomatch') {
      options.nomatch = true;
      continue;
    }
    if (!['timeout', 'packets', 'bytes', 'comment', 'skbmark', 'skbprio', 'skbqueue'].includes(name)) {
      return problem(name, `"${name}" is not an element option`);
    }
    const value = tokens[++i];
    if (value === undefined) return problem(name, `element option "${name}" needs a value`);
    const read = readValue(name, value, options);
    if (read) return { ok: false, error: read };
  }
  const checked = checkEntryOptions(options, type, create);
  return checked ? { ok: false, error: checked } : ok(normalizeEntryOptions(options));
}

function readValue(name: string, text: string, into: Mutable<EntryOptions>): Problem | null {
  switch (name) {
    case 'timeout': {
      const value = parseUnsigned(text, MAX_TIMEOUT);
      if (value === null) return { token: text, reason: numberReason(text, 'timeout', 0, MAX_TIMEOUT) };
      into.timeout = value;
      return null;
    }
    case 'packets':
    case 'bytes': {
      const value = parseUnsignedBig(text, MAX_U64);
      if (value === null) return { token: text, reason: `${name} "${text}" is not a 64-bit counter value` };
      into[name] = value;
      return null;
    }
    case 'comment':
      into.comment = text;
      return null;
    case 'skbmark': {
      const m = /^0x([0-9a-f]{1,8})(?:\/0x([0-9a-f]{1,8}))?$/i.exec(text);
      if (!m) return { token: text, reason: `skbmark "${text}" is not 0xMARK or 0xMARK/0xMASK` };
      into.skbmark = {
        mark: Number.parseInt(m[1]!, 16),
        mask: m[2] === undefined ? 0xffffffff : Number.parseInt(m[2], 16),
      };
      return null;
    }
    case 'skbprio': {
      const m = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(text);
      if (!m) return { token: text, reason: `skbprio "${text}" is not MAJOR:MINOR` };
      into.skbprio = { major: Number.parseInt(m[1]!, 16), minor: Number.parseInt(m[2]!, 16) };
      return null;
    }
    default: {
      const value = parseUnsigned(text, 65535);
      if (value === null) return { token: text, reason: numberReason(text, 'skbqueue', 0, 65535) };
      into.skbqueue = value;
      return null;
    }
  }
}

/** Why options cannot go on an element of this set (as the kernel refuses them), or null. */
export function checkEntryOptions(options: EntryOptions, type: IpsetType, create: CreateOptions): Problem | null {
  if (options.nomatch && !SET_TYPES[type].nomatch) {
    return { token: 'nomatch', reason: `"nomatch" is not an option of ${type} elements` };
  }
  if (options.timeout !== undefined && create.timeout === undefined) {
    return { token: 'timeout', reason: 'timeout cannot be used: the set was created without timeout support' };
  }
  if ((options.packets !== undefined || options.bytes !== undefined) && !create.counters) {
    const token = options.packets !== undefined ? 'packets' : 'bytes';
    return { token, reason: `${token} cannot be used: the set was created without counters support` };
  }
  if (options.comment !== undefined) {
    if (!create.comment) {
      return { token: 'comment', reason: 'comment cannot be used: the set was created without comment support' };
    }
    if (options.comment.includes('"')) return { token: options.comment, reason: 'a comment cannot contain "' };
    if (options.comment.length > MAX_COMMENT) {
      return { token: options.comment, reason: `a comment is longer than ${MAX_COMMENT} characters` };
    }
  }
  const skb = options.skbmark ?? options.skbprio ?? options.skbqueue;
  if (skb !== undefined && !create.skbinfo) {
    const token = options.skbmark ? 'skbmark' : options.skbprio ? 'skbprio' : 'skbqueue';
    return { token, reason: `${token} cannot be used: the set was created without skbinfo support` };
  }
  return null;
}

/** Drops what the kernel does not keep: an empty comment, zero skbinfo values, nomatch false. */
export function normalizeEntryOptions(options: EntryOptions): EntryOptions {
  const out: Mutable<EntryOptions> = {};
  if (options.timeout !== undefined) out.timeout = options.timeout;
  if (options.nomatch) out.nomatch = true;
  if (options.packets !== undefined) out.packets = options.packets;
  if (options.bytes !== undefined) out.bytes = options.bytes;
  if (options.comment) out.comment = options.comment;
  if (options.skbmark && (options.skbmark.mark !== 0 || options.skbmark.mask !== 0)) out.skbmark = options.skbmark;
  if (options.skbprio && (options.skbprio.major !== 0 || options.skbprio.minor !== 0)) out.skbprio = options.skbprio;
  if (options.skbqueue) out.skbqueue = options.skbqueue;
  return out;
}

/**
 * The options as `ipset save` prints them after the element (leading space included): every
 * entry of a set with timeouts or counters shows them, defaulting to the set's timeout and 0.
 */
export function formatEntryOptions(options: EntryOptions, create: CreateOptions): string {
  let text = '';
  if (create.timeout !== undefined) text += ` timeout ${options.timeout ?? create.timeout}`;
  if (options.nomatch) text += ' nomatch';
  if (create.counters) text += ` packets ${options.packets ?? 0n} bytes ${options.bytes ?? 0n}`;
  if (create.comment && options.comment) text += ` comment "${options.comment}"`;
  if (create.skbinfo) {
    const { skbmark, skbprio, skbqueue } = options;
    if (skbmark) {
      text += ` skbmark 0x${skbmark.mark.toString(16)}`;
      if (skbmark.mask !== 0xffffffff) text += `/0x${skbmark.mask.toString(16)}`;
    }
    if (skbprio) text += ` skbprio ${skbprio.major.toString(16)}:${skbprio.minor.toString(16)}`;
    if (skbqueue) text += ` skbqueue ${skbqueue}`;
  }
  return text;
}
