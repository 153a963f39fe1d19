// The options of `ipset create`, read from tokens, normalised as the kernel stores them (hashsize
// rounded up to a power of two, bucketsize clamped) and printed in `ipset save` order.

import { formatIPv4, type IPv4, maskOf } from '../net/ipv4';
import { parsePlainAddress } from './address-spec';
import { HOST_MASK } from './element';
import { numberReason, parseUnsigned } from './number-text';
import { ok, type Problem, problem, type Result } from './result';
import { type IpsetType, SET_TYPES } from './set-type';

/**
 * A set's create options after normalisation. Hash types always have `hashsize` and `maxelem`;
 * bitmap:port always has `range`. `bucketsize` and `initval` are kept only when given: the
 * kernel picks a random initval otherwise, which no simulator can print back.
 */
export interface CreateOptions {
  readonly hashsize?: number;
  readonly maxelem?: number;
  /** hash:ip only: addresses are stored masked to this prefix length (absent means 32). */
  readonly netmask?: number;
  /** hash:ip only: like netmask, with an arbitrary mask. */
  readonly bitmask?: IPv4;
  readonly range?: { readonly first: number; readonly last: number };
  /** Default element timeout in seconds; present means the set supports timeouts. */
  readonly timeout?: number;
  readonly counters: boolean;
  readonly comment: boolean;
  /** Kept and printed so a restore round trip keeps it; eviction when full is not modelled. */
  readonly forceadd: boolean;
  readonly skbinfo: boolean;
  readonly bucketsize?: number;
  readonly initval?: number;
}

export type CreateOptionsInput = Partial<CreateOptions>;

const DEFAULT_HASHSIZE = 1024;
const DEFAULT_MAXELEM = 65536;
const MAX_TIMEOUT = 2147483;
const MAX_U32 = 4294967295;

type OptionName =
  | 'family'
  | 'hashsize'
  | 'maxelem'
  | 'netmask'
  | 'bitmask'
  | 'range'
  | 'timeout'
  | 'counters'
  | 'comment'
  | 'forceadd'
  | 'skbinfo'
  | 'bucketsize'
  | 'initval';

const FLAGS: ReadonlySet<OptionName> = new Set(['counters', 'comment', 'forceadd', 'skbinfo']);
const HASH_OPTIONS: readonly OptionName[] = [
  'family',
  'hashsize',
  'maxelem',
  'timeout',
  'counters',
  'comment',
  'forceadd',
  'skbinfo',
  'bucketsize',
  'initval',
];

function allowedOptions(type: IpsetType): readonly OptionName[] {
  if (type === 'bitmap:port') return ['range', 'timeout', 'counters', 'comment', 'skbinfo'];
  return type === 'hash:ip' ? [...HASH_OPTIONS, 'netmask', 'bitmask'] : HASH_OPTIONS;
}

/** The kernel's hash table size: at least 64, rounded up to a power of two. */
function normalHashsize(value: number): number {
  let size = 64;
  while (size < value) size *= 2;
  return size;
}

/** The kernel's bucket size: clamped to 2-12 and rounded up to even. */
function normalBucketsize(value: number): number {
  if (value < 2) return 2;
  if (value > 12) return 12;
  return value % 2 === 1 ? value + 1 : value;
}

function numberOption(name: string, text: string, min: number, max: number): Result<number, Problem> {
  const value = parseUnsigned(text, max);
  if (value === null || value < min) {
    return problem(
      text,
      value === null ? numberReason(text, name, min, max) : `${name} ${text} is out of range ${min}-${max}`,
    );
  }
  return ok(value);
}

/** Reads the option tokens after `create NAME TYPE`. */
export function parseCreateOptions(type: IpsetType, tokens: readonly string[]): Result<CreateOptions, Problem> {
  const allowed = allowedOptions(type);
  const seen = new Set<string>();
  const input: { -readonly [K in keyof CreateOptions]?: CreateOptions[K] } = {};
  for (let i = 0; i < tokens.length; i++) {
    const name = tokens[i]!;
    if (!(allowed as readonly string[]).includes(name)) {
      return problem(name, `"${name}" is not a create option of ${type}`);
    }
    if (seen.has(name)) return problem(name, `create option "${name}" is given twice`);
    seen.add(name);
    const option = name as OptionName;
    if (FLAGS.has(option)) {
      input[option as 'counters' | 'comment' | 'forceadd' | 'skbinfo'] = true;
      continue;
    }
    const value = tokens[++i];
    if (value === undefined) return problem(name, `create option "${name}" needs a value`);
    const read = readValue(option, value);
    if (!read.ok) return read;
    if (option !== 'family') Object.assign(input, { [option]: read.value });
  }
  return normalizeCreateOptions(type, input);
}

function readValue(option: OptionName, text: string): Result<unknown, Problem> {
  switch (option) {
    case 'family':
      if (text === 'inet' || text === 'ipv4') return ok('inet');
      if (text === 'inet6' || text === 'ipv6') return problem(text, 'family inet6 is not modelled by knetsim');
      return problem(text, `"${text}" is not a family`);
    case 'hashsize':
      return numberOption('hashsize', text, 0, MAX_U32);
    case 'maxelem':
      return numberOption('maxelem', text, 0, MAX_U32);
    case 'netmask':
      return numberOption('netmask', text, 1, 32);
    case 'bitmask': {
      const mask = parsePlainAddress(text);
      return mask === null || mask === 0 ? problem(text, `bitmask "${text}" is not a non-zero dotted mask`) : ok(mask);
    }
    case 'range': {
      const m = /^([^-]+)-([^-]+)$/.exec(text);
      if (!m) return problem(text, `range "${text}" is not FROM-TO`);
      const from = numberOption('port', m[1]!, 0, 65535);
      if (!from.ok) return from;
      const to = numberOption('port', m[2]!, 0, 65535);
      if (!to.ok) return to;
      return ok({ first: Math.min(from.value, to.value), last: Math.max(from.value, to.value) });
    }
    case 'timeout':
      return numberOption('timeout', text, 0, MAX_TIMEOUT);
    case 'bucketsize':
      return numberOption('bucketsize', text, 0, 255);
    case 'initval':
      return numberOption('initval', text, 0, MAX_U32);
    default:
      return ok(true);
  }
}

/** Fills defaults and applies the kernel's normalisation; checks what parsing cannot. */
export function normalizeCreateOptions(
  type: IpsetType,
  input: CreateOptionsInput = {},
): Result<CreateOptions, Problem> {
  const hash = SET_TYPES[type].kind === 'hash';
  if (!hash && input.range === undefined) return problem(type, 'bitmap:port needs the "range" option');
  if (input.netmask !== undefined && input.bitmask !== undefined) {
    return problem('bitmask', 'netmask and bitmask cannot be used together');
  }
  if (input.timeout !== undefined && (input.timeout < 0 || input.timeout > MAX_TIMEOUT)) {
    return problem(String(input.timeout), `timeout ${input.timeout} is out of range 0-${MAX_TIMEOUT}`);
  }
  const options: CreateOptions = {
    ...(hash
      ? {
          hashsize: normalHashsize(input.hashsize ?? DEFAULT_HASHSIZE),
          maxelem: input.maxelem ?? DEFAULT_MAXELEM,
        }
      : { range: input.range! }),
    ...(input.netmask !== undefined && input.netmask !== 32 ? { netmask: input.netmask } : {}),
    ...(input.bitmask !== undefined ? { bitmask: input.bitmask } : {}),
    ...(input.timeout !== undefined ? { timeout: input.timeout } : {}),
    counters: input.counters ?? false,
    comment: input.comment ?? false,
    forceadd: hash && (input.forceadd ?? false),
    skbinfo: input.skbinfo ?? false,
    ...(hash && input.bucketsize !== undefined ? { bucketsize: normalBucketsize(input.bucketsize) } : {}),
    ...(hash && input.initval !== undefined ? { initval: input.initval >>> 0 } : {}),
  };
  return ok(options);
}

/** The create options as `ipset save` prints them after the type name. */
export function formatCreateOptions(type: IpsetType, o: CreateOptions): string {
  const words: string[] = [];
  if (SET_TYPES[type].kind === 'hash') words.push('family inet', `hashsize ${o.hashsize}`, `maxelem ${o.maxelem}`);
  else words.push(`range ${o.range!.first}-${o.range!.last}`);
  if (o.netmask !== undefined) words.push(`netmask ${o.netmask}`);
  if (o.bitmask !== undefined) words.push(`bitmask ${formatIPv4(o.bitmask)}`);
  if (o.timeout !== undefined) words.push(`timeout ${o.timeout}`);
  if (o.counters) words.push('counters');
  if (o.comment) words.push('comment');
  if (o.forceadd) words.push('forceadd');
  if (o.skbinfo) words.push('skbinfo');
  if (o.bucketsize !== undefined) words.push(`bucketsize ${o.bucketsize}`);
  if (o.initval !== undefined) words.push(`initval 0x${o.initval.toString(16).padStart(8, '0')}`);
  return words.join(' ');
}

/**
 * Whether `create -exist` of an existing set with these options is accepted: the kernel
 * compares what changes the set's meaning (maxelem, timeout, masks, range, extensions), not
 * hashsize, which grows on its own.
 */
export function compatibleCreateOptions(a: CreateOptions, b: CreateOptions): boolean {
  return (
    a.maxelem === b.maxelem &&
    a.timeout === b.timeout &&
    a.netmask === b.netmask &&
    a.bitmask === b.bitmask &&
    a.range?.first === b.range?.first &&
    a.range?.last === b.range?.last &&
    a.counters === b.counters &&
    a.comment === b.comment &&
    a.forceadd === b.forceadd &&
    a.skbinfo === b.skbinfo
  );
}

/** The mask hash:ip applies to addresses before storing or looking them up. */
export function addressMask(o: CreateOptions): number {
  if (o.bitmask !== undefined) return o.bitmask;
  return o.netmask !== undefined ? maskOf(o.netmask) : HOST_MASK;
}
