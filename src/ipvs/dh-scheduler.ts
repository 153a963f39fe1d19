// Destination hashing (ip_vs_dh.c): a 256-bucket table dealt to the servers in list order one
// bucket each (weights are not used); the packet's destination address picks the bucket.

import { formatIPv4, type IPv4 } from '../net';
import type { Pick, SchedPacket, Scheduler } from './scheduler';
import type { HashTableState } from './sh-scheduler';
import { isAvailable, type RealServer, serverName } from './virtual-server';

export const DH_TAB_SIZE = 256;

/** ip_vs_dh_hashkey: (addr * 2654435761) & 255. */
export function dhHashKey(addr: IPv4): number {
  return (Math.imul(addr >>> 0, 2654435761 | 0) >>> 0) & (DH_TAB_SIZE - 1);
}

/** ip_vs_dh_reassign: bucket i gets server i mod n. */
export function dhBuckets(servers: readonly RealServer[]): number[] {
  return Array.from({ length: DH_TAB_SIZE }, (_, i) => (servers.length === 0 ? -1 : i % servers.length));
}

export function dhPick(
  state: HashTableState,
  servers: readonly RealServer[],
  packet: SchedPacket,
): Pick<HashTableState> {
  const bucket = dhHashKey(packet.dst);
  const index = state.buckets[bucket] ?? -1;
  const dst = formatIPv4(packet.dst);
  if (index < 0) return { server: null, state, reason: `dh: destination ${dst} -> bucket ${bucket} is empty` };
  const s = servers[index]!;
  if (!isAvailable(s)) {
    return {
      server: null,
      state,
      reason: `dh: destination ${dst} -> bucket ${bucket} -> ${serverName(s)}, unavailable (weight 0 or overloaded)`,
    };
  }
  return { server: index, state, reason: `dh: destination ${dst} -> bucket ${bucket} -> ${serverName(s)}` };
}

export const dhScheduler: Scheduler<HashTableState> = {
  init: (servers) => ({ kind: 'hash-table', buckets: dhBuckets(servers) }),
  update: (_state, _before, after) => ({ kind: 'hash-table', buckets: dhBuckets(after) }),
  pick: (state, servers, packet) => dhPick(state, servers, packet),
};
