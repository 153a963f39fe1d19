// Connects iptables' -m set to the node's ipsets, counting look-ups as the
// kernel's cost. A flow whose SET targets changed a set sees that set with the
// changes applied, in order, to a copy (the node's sets stay as loaded).
import {
  cloneRegistry,
  cloneSet,
  editFromPacket,
  elementForFlags,
  type IpSet,
  type IpsetRegistry,
  matchSet,
  type PacketFields,
  testMembership,
} from '../ipset';
import { PROTOCOL_NUMBERS } from '../net';
import type { NfPacket, SetEdit } from '../netfilter';
import type { EditableSets, SetLookup } from './sim-node';

function fieldsOf(p: NfPacket): PacketFields {
  return {
    src: p.src,
    dst: p.dst,
    proto: PROTOCOL_NUMBERS[p.protocol],
    sport: p.sport,
    dport: p.dport,
    ...(p.protocol === 'icmp' ? { icmpType: p.sport, icmpCode: p.dport } : {}),
    laterFragment: p.fragment,
  };
}

/**
 * The sets as a flow's edits leave them, made once per list of edits (a flow extends its list by
 * copying it, so a list never changes once made).
 */
const EDITED = new WeakMap<readonly SetEdit[], Map<string, IpSet>>();

function editedSets(registry: IpsetRegistry, edits: readonly SetEdit[]): Map<string, IpSet> {
  let sets = EDITED.get(edits);
  if (!sets) {
    const copy = cloneRegistry({
      sets: new Map([...registry.sets].filter(([name]) => edits.some((e) => e.set === name))),
      stats: registry.stats,
    });
    for (const e of edits) {
      const set = copy.sets.get(e.set);
      if (set) editFromPacket(set, e.add, e.flags, fieldsOf(e.packet));
    }
    sets = copy.sets;
    EDITED.set(edits, sets);
  }
  return sets;
}

export function setLookupOf(registry: IpsetRegistry): SetLookup {
  return {
    editable: () => editableOf(registry),
    get lookups() {
      return registry.stats.lookups;
    },
    has: (name) => registry.sets.has(name),
    test(name, flags, p, edits) {
      if (edits !== undefined && edits.length > 0 && edits.some((e) => e.set === name)) {
        const set = editedSets(registry, edits).get(name);
        if (!set) return false;
        registry.stats.lookups++;
        const lookup = elementForFlags(set.type, flags, fieldsOf(p));
        if (lookup === null) return false;
        const membership = testMembership(set, lookup);
        registry.stats.probes += membership.probes;
        return membership.member;
      }
      const r = matchSet(registry, name, flags, fieldsOf(p));
      // The rules were checked against the sets when loaded, so a missing set here is a miss.
      return r.ok && r.value.member;
    },
  };
}

/**
 * A copy of the sets that edits change in place: each set is copied the first time an edit touches
 * it, the others shared with the node's (read only).
 */
function editableOf(registry: IpsetRegistry): EditableSets {
  const copy: IpsetRegistry = { sets: new Map(registry.sets), stats: registry.stats };
  const own = new Set<string>();
  const lookup = setLookupOf(copy);
  return {
    ...lookup,
    get lookups() {
      return copy.stats.lookups;
    },
    apply(edits) {
      for (const e of edits) {
        const set = copy.sets.get(e.set);
        if (!set) continue;
        if (!own.has(e.set)) {
          copy.sets.set(e.set, cloneSet(set));
          own.add(e.set);
        }
        editFromPacket(copy.sets.get(e.set)!, e.add, e.flags, fieldsOf(e.packet));
      }
    },
  };
}
