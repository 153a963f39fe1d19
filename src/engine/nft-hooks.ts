// nftables base chains inside the node pipeline: which chains run where the
// pipeline walks an iptables table, and the packet as nft expressions see it.
// nat-type chains run with the nat table (so only a connection's first packet
// consults them); filter and route chains after the iptables table of the
// highest priority not above theirs that the pipeline walks at that hook (the
// kernel's priority order, e.g. kube-proxy's -110 chains between mangle and nat).
import { isDnat, isSnat, type Route, type TcpFlags } from '../net';
import type { Hook, NfPacket, TableName } from '../netfilter';
import { baseChainsAt, type NftChain, type NftPacketView, type NftTable, TCP_FLAG_BITS } from '../nftables';
import { routeBack } from './route-back';
import { addressType, interfaceOnLink, type SimNode } from './sim-node';

const TABLE_PRIORITY: Record<Exclude<TableName, 'nat'>, number> = { raw: -300, mangle: -150, filter: 0, security: 50 };
/** The non-nat tables the pipeline walks at each hook, in order. */
const TABLES_AT: Record<Hook, readonly TableName[]> = {
  PREROUTING: ['raw', 'mangle'],
  INPUT: ['mangle', 'filter', 'security'],
  FORWARD: ['mangle', 'filter', 'security'],
  OUTPUT: ['raw', 'mangle', 'filter', 'security'],
  POSTROUTING: ['mangle'],
};

function slotOf(chain: NftChain, hook: Hook): TableName {
  if (chain.base!.type === 'nat') return 'nat';
  const tables = TABLES_AT[hook] ?? [];
  let slot = tables[0] ?? 'filter';
  for (const t of tables) if ((TABLE_PRIORITY as Record<string, number>)[t]! <= chain.base!.priority) slot = t;
  return slot;
}

const CHAINS = new WeakMap<SimNode, Map<string, { table: NftTable; chain: NftChain }[]>>();

/** The nft base chains that run with `table` at `hook`, in priority order. */
export function nftChainsAt(node: SimNode, table: TableName, hook: Hook): { table: NftTable; chain: NftChain }[] {
  if (!node.nft) return [];
  let byKey = CHAINS.get(node);
  if (!byKey) {
    byKey = new Map();
    CHAINS.set(node, byKey);
  }
  const key = `${table} ${hook}`;
  let found = byKey.get(key);
  if (!found) {
    found = baseChainsAt(node.nft.tables.values(), hook.toLowerCase()).filter((c) => slotOf(c.chain, hook) === table);
    byKey.set(key, found);
  }
  return found;
}

/** The packet and its connection as nft's ip, th, meta, ct and fib expressions read them. */
export function nftPacketView(node: SimNode, p: NfPacket): NftPacketView {
  const ct = p.ct;
  const status: string[] = [];
  if (ct) {
    const entry = { original: ct.original, reply: ct.reply };
    if (isDnat(entry as Parameters<typeof isDnat>[0])) status.push('dnat');
    if (isSnat(entry as Parameters<typeof isSnat>[0])) status.push('snat');
    if (ct.seenReply) status.push('seen-reply');
    if (ct.assured) status.push('assured');
    if (ct.confirmed) status.push('confirmed');
  }
  return {
    src: p.src,
    dst: p.dst,
    protocol: p.protocol,
    sport: p.sport,
    dport: p.dport,
    mark: p.mark,
    iifname: p.inIface,
    oifname: p.outIface,
    // Without a connection: untracked after notrack, else invalid (nft_ct: before conntrack too).
    ctState: ct ? ct.state.toLowerCase() : p.untracked ? 'untracked' : 'invalid',
    ctStatus: status,
    ctMark: ct?.mark ?? 0,
    ctZone: p.ctZone ?? 0,
    fibType: (address, device) => addressType(node, address, device ?? null).toLowerCase(),
    fibDevice: (address, from, mark, prefer) => fibDevice(node, address, from, mark, prefer),
    ctDirection: ct ? (ct.direction === 'REPLY' ? 'reply' : 'original') : null,
    ttl: p.ttl,
    tos: p.tos,
    length: p.length,
    tcpFlags: p.tcpFlags ? tcpFlagBits(p.tcpFlags) : null,
    socketUid: p.socket?.uid ?? null,
    socketGid: p.socket?.gid ?? null,
  };
}

/** The TCP flags as the header's bits, by nft's names for them (TCP_FLAG_BITS). */
function tcpFlagBits(f: TcpFlags): number {
  let bits = 0;
  for (const name of TCP_FLAG_NAMES) if (f[name]) bits |= TCP_FLAG_BITS[name]!;
  return bits;
}

const TCP_FLAG_NAMES = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg'] as const;

/**
 * The device nft's fib look-up finds the route to an address leaving by (`fib saddr . iif oif`, the
 * way back for reverse-path filtering): lo for the node's own addresses, through the policy rules when
 * the node has some; null when there is no route.
 */
function fibDevice(node: SimNode, address: number, from: number, mark: number, prefer: string | null): string | null {
  if (addressType(node, address, null) === 'LOCAL') return 'lo';
  if (node.routes.length === 0) return interfaceOnLink(node, address) ?? node.defaultInterface;
  const r = routeBack(node, address, from, mark);
  return r === null ? null : deviceOf(node, r, prefer);
}

/** A route's device for fib: lo for a local one; a multipath route's `prefer` when a live path uses it (fib_info_nh_uses_dev). */
function deviceOf(node: SimNode, r: Route, prefer: string | null): string | null {
  if (r.type === 'local') return 'lo';
  if (r.type !== 'unicast') return null;
  if (prefer !== null && r.nexthops?.some((h) => !h.dead && h.dev === prefer)) return prefer;
  return r.dev ?? node.defaultInterface;
}
