// Deterministic stand-ins for the random parts of Kubernetes names (pod-template-hash,
// generateName suffixes): the same scenario always yields the same names, and a name
// depends only on its own object, so editing one object does not rename the others.

/** The alphabet of apimachinery's rand.String and SafeEncodeString (no vowels, no 0/1/3). */
export const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** 32-bit FNV-1a of the UTF-16 code units; the hash family Kubernetes uses for pod-template-hash. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** JSON with object keys sorted, so equal values hash equally whatever their key order. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** apimachinery's rand.SafeEncodeString: each character mapped into the name alphabet. */
export function safeEncodeString(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) out += NAME_ALPHABET[text.charCodeAt(i) % NAME_ALPHABET.length];
  return out;
}

/** A pod-template-hash-like value: SafeEncodeString of the decimal FNV hash, as the deployment controller does. */
export function templateHash(template: unknown): string {
  return safeEncodeString(String(fnv1a32(stableStringify(template))));
}

/** `length` characters of the name alphabet derived from `seed` (the deterministic generateName suffix). */
export function nameSuffix(seed: string, length = 5): string {
  let hash = fnv1a32(seed);
  let out = '';
  for (let i = 0; i < length; i++) {
    if (hash === 0) hash = fnv1a32(`${seed}#${i}`);
    out += NAME_ALPHABET[hash % NAME_ALPHABET.length];
    hash = Math.floor(hash / NAME_ALPHABET.length);
  }
  return out;
}

/** apiserver's SimpleNameGenerator: the base is cut so that base + 5-char suffix fits 63 characters. */
export function generatedName(base: string, seed: string): string {
  const maxBase = 63 - 5;
  return (base.length > maxBase ? base.slice(0, maxBase) : base) + nameSuffix(seed);
}

/** A generated name not in `taken`: re-seeds on the (rare) collision and records the result. */
export function uniqueGeneratedName(base: string, seed: string, taken: Set<string>): string {
  let name = generatedName(base, seed);
  for (let attempt = 1; taken.has(name); attempt++) name = generatedName(base, `${seed}#${attempt}`);
  taken.add(name);
  return name;
}

/** Names already used, per namespace, so generated names never collide with given ones. */
export type TakenNames = Map<string, Set<string>>;

export function takenIn(taken: TakenNames, namespace: string): Set<string> {
  let set = taken.get(namespace);
  if (!set) {
    set = new Set();
    taken.set(namespace, set);
  }
  return set;
}
