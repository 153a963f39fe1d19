// Domain names as CoreDNS handles them: fully qualified with a trailing dot,
// compared without regard to case, zones matched by the longest suffix.

/** The name with exactly one trailing dot (`.` for the root). */
export function fqdn(name: string): string {
  if (name === '' || name === '.') return '.';
  return name.endsWith('.') ? name : `${name}.`;
}

/** Labels left to right, without the root: `a.b.` -> ['a', 'b']. */
export function labelsOf(name: string): string[] {
  const f = fqdn(name);
  return f === '.' ? [] : f.slice(0, -1).split('.');
}

export function sameName(a: string, b: string): boolean {
  return fqdn(a).toLowerCase() === fqdn(b).toLowerCase();
}

/** Whether `child` equals `parent` or lies below it (case-insensitive, label-aligned). */
export function isSubdomain(parent: string, child: string): boolean {
  const p = fqdn(parent).toLowerCase();
  const c = fqdn(child).toLowerCase();
  if (p === '.') return true;
  return c === p || c.endsWith(`.${p}`);
}

/**
 * The longest of `zones` that `name` lies in, as written in `zones`; undefined when none does.
 * CoreDNS's plugin.Zones.Matches.
 */
export function matchZone(zones: readonly string[], name: string): string | undefined {
  let best: string | undefined;
  for (const z of zones) {
    if (!isSubdomain(z, name)) continue;
    if (best === undefined || labelsOf(z).length > labelsOf(best).length) best = z;
  }
  return best;
}

/** `name` without `zone` and the dot between them (`a.b.zone.` -> `a.b`); '' for the apex. */
export function trimZone(name: string, zone: string): string {
  const n = labelsOf(name);
  const z = labelsOf(zone);
  return n.slice(0, n.length - z.length).join('.');
}

/** Joins labels or names into one fully qualified name. */
export function joinName(...parts: readonly string[]): string {
  return fqdn(
    parts
      .map((p) => (p.endsWith('.') ? p.slice(0, -1) : p))
      .filter((p) => p !== '')
      .join('.'),
  );
}

/** A problem with a name as typed, or undefined when it is a valid DNS name. */
export function nameProblem(name: string): string | undefined {
  if (name === '.' || name === '') return undefined;
  const f = fqdn(name);
  if (f.length > 254) return `"${name}" is longer than 253 characters`;
  for (const label of f.slice(0, -1).split('.')) {
    if (label === '') return `"${name}" has an empty label`;
    if (label.length > 63) return `"${name}" has a label longer than 63 characters`;
    if (/[\s"\\]/.test(label)) return `"${name}" has a character that is not allowed in a name`;
  }
  return undefined;
}
