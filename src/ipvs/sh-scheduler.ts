// Source hashing (ip_vs_sh.c): a 256-bucket table tiled with the servers in list order, each
// taking as many consecutive buckets as its weight; the client address picks the bucket.

import { formatIPv4, type IPv4 } from '../net';
import type { Pick, SchedFlags, SchedPacket, Scheduler } from './scheduler';
import { isAvailable, type RealServer, serverName } from './virtual-server';

/** IP_VS_SH_TAB_BITS defaults to 8 (CONFIG_IP_VS_SH_TAB_BITS). */
export const SH_TAB_SIZE = 256;
const SH_TAB_MASK = SH_TAB_SIZE - 1;
/** 2654435761: the golden-ratio multiplier both sh and dh hash with. */
const GOLDEN = 2654435761;

/** Bucket i holds the index of a server in list order, or -1 when the service has none. */
export interface HashTableState {
  readonly kind: 'hash-table';
  readonly buckets: readonly number[];
}

/**
 * ip_vs_sh_hashkey: (offset + (port + addr) * 2654435761) & 255. Only the low 8 bits survive
 * the mask, so a 32-bit multiply gives the same bucket as the kernel's 64-bit one.
 */
export function shHashKey(addr: IPv4, port: number, offset: number): number {
  const key = (port + addr) >>> 0;
  return (offset + (Math.imul(key, GOLDEN | 0) >>> 0)) & SH_TAB_MASK;
}

/** ip_vs_sh_reassign: tile the table, a server staying for `weight` buckets (at least one). */
export function shBuckets(servers: readonly RealServer[]): number[] {
  const buckets: number[] = [];
  let p = 0;
  let count = 0;
  for (let i = 0; i < SH_TAB_SIZE; i++) {
    if (servers.length === 0) {
      buckets.push(-1);
      continue;
    }
    buckets.push(p);
    if (++count >= servers[p]!.weight) {
      p = (p + 1) % servers.length;
      count = 0;
    }
  }
  return buckets;
}

export function shInit(servers: readonly RealServer[]): HashTableState {
  return { kind: 'hash-table', buckets: shBuckets(servers) };
}

export function shPick(
  state: HashTableState,
  servers: readonly RealServer[],
  packet: SchedPacket,
  flags: SchedFlags,
): Pick<HashTableState> {
  // sched2 is sh-port (hash the source port too), sched1 sh-fallback.
  const port = flags.sched2 ? packet.sport : 0;
  const source = `${formatIPv4(packet.src)}${flags.sched2 ? `:${packet.sport}` : ''}`;
  const first = shHashKey(packet.src, port, 0);
  const index = state.buckets[first] ?? -1;
  const none = (reason: string): Pick<HashTableState> => ({ server: null, state, reason });
  if (index < 0) return none(`sh: source ${source} -> bucket ${first} is empty: no destination available`);
  const chosen = servers[index]!;
  if (isAvailable(chosen)) {
    return { server: index, state, reason: `sh: source ${source} -> bucket ${first} -> ${serverName(chosen)}` };
  }
  if (!flags.sched1) {
    return none(
      `sh: source ${source} -> bucket ${first} -> ${serverName(chosen)}, unavailable (weight 0 or overloaded)`,
    );
  }
  // ip_vs_sh_get_fallback: rehash with offsets counted from the first bucket.
  for (let offset = 0; offset < SH_TAB_SIZE; offset++) {
    const roffset = (offset + first) % SH_TAB_SIZE;
    const bucket = shHashKey(packet.src, port, roffset);
    const i = state.buckets[bucket] ?? -1;
    if (i < 0) break;
    const s = servers[i]!;
    if (isAvailable(s)) {
      return {
        server: i,
        state,
        reason: `sh: source ${source} -> bucket ${first} -> ${serverName(chosen)} unavailable; fallback offset ${roffset} -> bucket ${bucket} -> ${serverName(s)}`,
      };
    }
  }
  return none(`sh: source ${source}: no available destination after fallback`);
}

export const shScheduler: Scheduler<HashTableState> = {
  init: shInit,
  update: (_state, _before, after) => shInit(after),
  pick: shPick,
};
