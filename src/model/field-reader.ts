// Typed reads of untyped YAML values: each reader returns the value or undefined and
// records a precise issue (field path, offending value) instead of throwing, so one
// pass over a file finds every problem.
import { type IPFamily, type ParsedCIDR, type ParsedIP, parseCIDR, parseIP } from './ip-address';
import { type ObjectContext, reportError, reportWarning } from './validation-issue';

export type YamlMap = Record<string, unknown>;

/** `a.b` joined, tolerating an empty parent. */
export function fieldPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/** How a value is quoted in a message: strings in double quotes, containers by kind. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

function wrongType(ctx: ObjectContext, path: string, expected: string, value: unknown): undefined {
  reportError(ctx, path, 'wrong-type', `expected ${expected}, got ${describeValue(value)}`);
  return undefined;
}

function absent(value: unknown): value is null | undefined {
  return value === undefined || value === null;
}

export function isMap(value: unknown): value is YamlMap {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Reports a missing required field; true when the value is present. */
export function requireField(ctx: ObjectContext, value: unknown, path: string): boolean {
  if (!absent(value) && value !== '') return true;
  reportError(ctx, path, 'missing-field', 'missing required field');
  return false;
}

export function readMap(ctx: ObjectContext, value: unknown, path: string): YamlMap | undefined {
  if (absent(value)) return undefined;
  return isMap(value) ? value : wrongType(ctx, path, 'a map', value);
}

/** A list; absent gives []. */
export function readList(ctx: ObjectContext, value: unknown, path: string): unknown[] {
  if (absent(value)) return [];
  if (Array.isArray(value)) return value;
  wrongType(ctx, path, 'a list', value);
  return [];
}

export function readString(ctx: ObjectContext, value: unknown, path: string): string | undefined {
  if (absent(value)) return undefined;
  return typeof value === 'string' ? value : wrongType(ctx, path, 'a string', value);
}

export function readBool(ctx: ObjectContext, value: unknown, path: string): boolean | undefined {
  if (absent(value)) return undefined;
  return typeof value === 'boolean' ? value : wrongType(ctx, path, 'a boolean', value);
}

export interface IntRange {
  readonly min: number;
  readonly max: number;
}

export function readInt(ctx: ObjectContext, value: unknown, path: string, range?: IntRange): number | undefined {
  if (absent(value)) return undefined;
  if (typeof value !== 'number') return wrongType(ctx, path, 'an integer', value);
  if (!Number.isInteger(value)) {
    reportError(ctx, path, 'wrong-type', `${value} is not an integer`);
    return undefined;
  }
  if (range && (value < range.min || value > range.max)) {
    reportError(ctx, path, 'out-of-range', `${value} is out of range (${range.min}-${range.max})`);
    return undefined;
  }
  return value;
}

export function readPort(ctx: ObjectContext, value: unknown, path: string): number | undefined {
  if (absent(value)) return undefined;
  if (typeof value !== 'number') return wrongType(ctx, path, 'a port number', value);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    reportError(ctx, path, 'invalid-port', `${value} is not a port (1-65535)`);
    return undefined;
  }
  return value;
}

export function readEnum<T extends string>(
  ctx: ObjectContext,
  value: unknown,
  path: string,
  allowed: readonly T[],
): T | undefined {
  if (absent(value)) return undefined;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  reportError(ctx, path, 'invalid-enum', `${describeValue(value)} is not one of: ${allowed.join(', ')}`);
  return undefined;
}

/** A map of strings (labels, annotations, selectors, ConfigMap data). */
export function readStringMap(ctx: ObjectContext, value: unknown, path: string): Record<string, string> {
  const map = readMap(ctx, value, path);
  const out: Record<string, string> = {};
  if (!map) return out;
  for (const [key, v] of Object.entries(map)) {
    const s = readString(ctx, v, fieldPath(path, key));
    if (s !== undefined) out[key] = s;
  }
  return out;
}

export function readStringList(ctx: ObjectContext, value: unknown, path: string): string[] {
  const out: string[] = [];
  readList(ctx, value, path).forEach((item, i) => {
    const s = readString(ctx, item, indexPath(path, i));
    if (s !== undefined) out.push(s);
  });
  return out;
}

function warnLeadingZeros(ctx: ObjectContext, path: string, given: string, canonical: string): void {
  reportWarning(
    ctx,
    path,
    'leading-zeros',
    `${JSON.stringify(given)} has leading zeros; read as decimal ${canonical}, as kube-proxy does`,
  );
}

/** An IP address, canonicalised; leading zeros warn; `family` restricts the family. */
export function readIP(ctx: ObjectContext, value: unknown, path: string, family?: IPFamily): ParsedIP | undefined {
  const text = readString(ctx, value, path);
  if (text === undefined) return undefined;
  const ip = parseIP(text);
  if (!ip) {
    reportError(ctx, path, 'invalid-ip', `${JSON.stringify(text)} is not a valid IP address`);
    return undefined;
  }
  if (family && ip.family !== family) {
    reportError(ctx, path, 'ip-family-mismatch', `${JSON.stringify(text)} is not an ${family} address`);
    return undefined;
  }
  if (ip.leadingZeros) warnLeadingZeros(ctx, path, text, ip.text);
  return ip;
}

/** A CIDR, canonicalised to its network; `trim` allows surrounding whitespace (loadBalancerSourceRanges). */
export function readCIDR(ctx: ObjectContext, value: unknown, path: string, trim = false): ParsedCIDR | undefined {
  const given = readString(ctx, value, path);
  if (given === undefined) return undefined;
  const text = trim ? given.trim() : given;
  const cidr = parseCIDR(text);
  if (!cidr) {
    reportError(ctx, path, 'invalid-cidr', `${JSON.stringify(given)} is not a valid CIDR`);
    return undefined;
  }
  if (cidr.leadingZeros) warnLeadingZeros(ctx, path, text, cidr.text);
  return cidr;
}
