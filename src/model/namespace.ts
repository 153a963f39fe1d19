// v1 Namespace: a namespace exists if a Namespace names it or any object lives in it.
import { compareStrings } from './compare-strings';

export interface Namespace {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** A Namespace object was given (otherwise implied by the objects in it). */
  readonly declared: boolean;
}

/** Declared namespaces plus the ones objects live in, sorted by name. */
export function collectNamespaces(declared: readonly Namespace[], used: Iterable<string>): Namespace[] {
  const byName = new Map<string, Namespace>(declared.map((ns) => [ns.name, ns]));
  for (const name of used) {
    if (name !== '' && !byName.has(name)) byName.set(name, { name, labels: {}, declared: false });
  }
  return [...byName.values()].sort((a, b) => compareStrings(a.name, b.name));
}
