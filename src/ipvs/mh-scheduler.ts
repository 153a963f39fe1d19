// Maglev hashing (ip_vs_mh.c): each server walks its own permutation of a prime-sized lookup
// table (offset and skip from hsiphash of its address and port), the servers taking turns in
// proportion to their weights until every slot is owned; the client address picks the slot.

import { formatIPv4, type IPv4 } from '../net';
import type { Pick, SchedFlags, SchedPacket, Scheduler } from './scheduler';
import { hsiphashU32 } from './siphash';
import { type RealServer, serverName } from './virtual-server';

/** The table sizes CONFIG_IP_VS_MH_TAB_INDEX 8..17 choose from. */
export const MH_PRIMES = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071] as const;
/** CONFIG_IP_VS_MH_TAB_INDEX's default: 12, a table of 4093 slots. */
export const DEFAULT_MH_TAB_INDEX = 12;

/** generate_hash_secret: fixed keys, so every kernel builds the same table for the same servers. */
const HASH1_KEY = 2654435761n;
const HASH2_KEY = 2654446892n;

export interface MhConfig {
  /** CONFIG_IP_VS_MH_TAB_INDEX, 8..17: the table has MH_PRIMES[index - 8] slots. */
  readonly tableIndex: number;
}

/** The lookup table: slot -> index of a server in list order, or -1 when the table is empty. */
export interface MhState {
  readonly kind: 'mh';
  readonly size: number;
  readonly lookup: readonly number[];
}

export function mhTableSize(config: MhConfig = { tableIndex: DEFAULT_MH_TAB_INDEX }): number {
  const size = MH_PRIMES[config.tableIndex - 8];
  if (size === undefined) throw new RangeError(`CONFIG_IP_VS_MH_TAB_INDEX ${config.tableIndex} is outside 8..17`);
  return size;
}

/** ip_vs_mh_hashkey: hsiphash of the u32 (offset + port + addr) under one of the two keys. */
export function mhHashKey(addr: IPv4, port: number, key: 1 | 2, offset: number): number {
  const k = key === 1 ? HASH1_KEY : HASH2_KEY;
  return hsiphashU32((offset + port + addr) >>> 0, k, k);
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** fls(): the 1-based position of the highest set bit (0 for 0). */
function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

/** The permutation parameters of each server (struct ip_vs_mh_dest_setup), after ip_vs_mh_permutate. */
export interface MhDestSetup {
  readonly offset: number;
  readonly skip: number;
  readonly turns: number;
}

export function mhDestSetup(servers: readonly RealServer[], size: number, tableIndex: number): MhDestSetup[] {
  let g = 0;
  for (const s of servers) if (s.lastWeight > 0) g = g > 0 ? gcd(s.lastWeight, g) : s.lastWeight;
  if (g < 1) return [];
  // To keep huge weights from needing huge tables, weights/gcd are shifted down to TAB_BITS bits.
  const maxWeight = servers.reduce((m, s) => Math.max(m, s.lastWeight), 0);
  const rshift = Math.max(0, fls(Math.trunc(maxWeight / g)) - Math.trunc(tableIndex / 2));
  return servers.map((s) => {
    const turns = Math.trunc(s.lastWeight / g) >> rshift;
    return {
      offset: mhHashKey(s.address, s.port, 1, 0) % size,
      skip: (mhHashKey(s.address, s.port, 2, 0) % (size - 1)) + 1,
      turns: turns || (s.lastWeight !== 0 ? 1 : 0),
    };
  });
}

/** ip_vs_mh_populate: servers take turns claiming their next free preferred slot. */
export function mhPopulate(
  servers: readonly RealServer[],
  config: MhConfig = { tableIndex: DEFAULT_MH_TAB_INDEX },
): MhState {
  const size = mhTableSize(config);
  const setup = mhDestSetup(servers, size, config.tableIndex);
  const lookup: number[] = new Array(size).fill(-1);
  if (setup.length === 0) return { kind: 'mh', size, lookup };
  const perm = setup.map((d) => d.offset);
  const taken = new Uint8Array(size);
  let n = 0;
  let dtCount = 0;
  while (n < size) {
    for (let i = 0; i < servers.length; ) {
      const d = setup[i]!;
      if (d.turns < 1) {
        i++;
        continue;
      }
      let c = perm[i]!;
      while (taken[c]) {
        c += d.skip;
        if (c >= size) c -= size;
      }
      perm[i] = c;
      taken[c] = 1;
      lookup[c] = i;
      if (++n === size) return { kind: 'mh', size, lookup };
      if (++dtCount >= d.turns) {
        dtCount = 0;
        i++;
      }
    }
  }
  return { kind: 'mh', size, lookup };
}

const unavailable = (s: RealServer): boolean => s.weight <= 0 || s.overloaded;

export function mhPick(
  state: MhState,
  servers: readonly RealServer[],
  packet: SchedPacket,
  flags: SchedFlags,
): Pick<MhState> {
  // sched2 is mh-port (hash the source port too), sched1 mh-fallback.
  const port = flags.sched2 ? packet.sport : 0;
  const source = `${formatIPv4(packet.src)}${flags.sched2 ? `:${packet.sport}` : ''}`;
  const first = mhHashKey(packet.src, port, 1, 0) % state.size;
  const index = state.lookup[first] ?? -1;
  const none = (reason: string): Pick<MhState> => ({ server: null, state, reason });
  if (index < 0) return none(`mh: source ${source} -> slot ${first}/${state.size} is empty: no destination available`);
  const chosen = servers[index]!;
  if (!unavailable(chosen)) {
    return {
      server: index,
      state,
      reason: `mh: source ${source} -> slot ${first}/${state.size} -> ${serverName(chosen)}`,
    };
  }
  if (!flags.sched1) {
    return none(
      `mh: source ${source} -> slot ${first}/${state.size} -> ${serverName(chosen)}, unavailable (weight 0 or overloaded)`,
    );
  }
  for (let offset = 0; offset < state.size; offset++) {
    const roffset = (offset + first) % state.size;
    const slot = mhHashKey(packet.src, port, 1, roffset) % state.size;
    const i = state.lookup[slot] ?? -1;
    if (i < 0) break;
    if (!unavailable(servers[i]!)) {
      return {
        server: i,
        state,
        reason: `mh: source ${source} -> slot ${first} -> ${serverName(chosen)} unavailable; fallback offset ${roffset} -> slot ${slot} -> ${serverName(servers[i]!)}`,
      };
    }
  }
  return none(`mh: source ${source}: no available destination after fallback`);
}

export function mhScheduler(config: MhConfig = { tableIndex: DEFAULT_MH_TAB_INDEX }): Scheduler<MhState> {
  return {
    init: (servers) => mhPopulate(servers, config),
    update: (_state, _before, after) => mhPopulate(after, config),
    pick: mhPick,
  };
}
