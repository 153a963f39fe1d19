// The sets of one node by name, as iptables' `-m set` and the engine see them, with counters of
// the look-ups made so the engine can report what set matching cost.

import type { Membership } from './membership';
import { testMembership } from './membership';
import { elementForFlags, type PacketFields, type SetFlag } from './packet-lookup';
import { ok, type Problem, problem, type Result } from './result';
import { cloneSet, type IpSet } from './set';

export interface IpsetStats {
  /** `-m set` evaluations. */
  lookups: number;
  /** Hash or bitmap probes those made (a hash:net look-up probes once per prefix length). */
  probes: number;
}

export interface IpsetRegistry {
  /** Sets by name, in the order `ipset save` lists them. */
  readonly sets: Map<string, IpSet>;
  readonly stats: IpsetStats;
}

export function createRegistry(sets: Iterable<IpSet> = []): IpsetRegistry {
  const registry: IpsetRegistry = { sets: new Map(), stats: { lookups: 0, probes: 0 } };
  for (const set of sets) registry.sets.set(set.name, set);
  return registry;
}

/** A deep copy: changing the copy's sets leaves the original untouched. */
export function cloneRegistry(registry: IpsetRegistry): IpsetRegistry {
  const copy = createRegistry([...registry.sets.values()].map(cloneSet));
  copy.stats.lookups = registry.stats.lookups;
  copy.stats.probes = registry.stats.probes;
  return copy;
}

/**
 * `-m set --match-set NAME FLAGS` on a packet, counted in the registry's stats. A missing set is
 * an error (iptables refuses such a rule), not a miss.
 */
export function matchSet(
  registry: IpsetRegistry,
  name: string,
  flags: readonly SetFlag[],
  packet: PacketFields,
): Result<Membership, Problem> {
  const set = registry.sets.get(name);
  if (!set) return problem(name, `set "${name}" does not exist`);
  registry.stats.lookups++;
  const lookup = elementForFlags(set.type, flags, packet);
  if (lookup === null) return ok({ member: false, probes: 0 });
  const membership = testMembership(set, lookup);
  registry.stats.probes += membership.probes;
  return ok(membership);
}
