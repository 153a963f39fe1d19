// One bench node per proxy mode for a workload: the real generator's output for the
// node, loaded through the same parsers as a user's dumps, with what each mode
// installs (rules, set entries, servers, proxy ports) and its size as text.
import { ipvsServices, makeSimNode, nodeFromDumps, type SimNode, setLookupOf } from '../src/engine';
import { parseIpsetSave } from '../src/ipset';
import { formatIpvsadmSave } from '../src/ipvs';
import {
  ipvsNodePrelude,
  ipvsSetsRestore,
  nodePrelude,
  type ProxierSettings,
  syncIptablesRules,
  syncIpvsState,
  syncNftablesRules,
  syncUserspaceState,
} from '../src/kube-proxy';
import type { NodeLocalState } from '../src/model';
import { parseIPv4 } from '../src/net';
import type { BenchMode } from './sync-and-established';
import { BENCH_NODE, BENCH_ROUTES } from './workload';

export interface ModeNode {
  readonly mode: BenchMode;
  readonly node: SimNode;
  /** What the mode installs, in words (`117,509 iptables rules`). */
  readonly installed: string;
  /** The mode's state as its tools' text (iptables-restore, ipvsadm/ipset, nft), in bytes. */
  readonly textBytes: number;
  readonly generateMs: number;
}

const fmt = (n: number) => n.toLocaleString('en-US');
const rulesIn = (text: string) => text.split('\n').filter((l) => l.startsWith('-A ')).length;

function loaded<T extends { ok: true } | { ok: false; message: string }>(r: T): Extract<T, { ok: true }> {
  if (!r.ok) throw new Error((r as { message: string }).message);
  return r as Extract<T, { ok: true }>;
}

export function modeNode(
  mode: BenchMode,
  state: NodeLocalState,
  settings: ProxierSettings,
  serviceCIDR: string,
): ModeNode {
  const t0 = performance.now();
  switch (mode) {
    case 'iptables': {
      const sync = syncIptablesRules(state, settings);
      const generateMs = performance.now() - t0;
      const node = loaded(
        nodeFromDumps({
          name: 'bench',
          iptables: { text: nodePrelude() + sync.restore, file: 'bench' },
          routes: { text: BENCH_ROUTES, file: 'routes' },
        }),
      ).node;
      return {
        mode,
        node,
        installed: `${fmt(rulesIn(sync.restore))} iptables rules`,
        textBytes: Buffer.byteLength(sync.restore),
        generateMs,
      };
    }
    case 'ipvs': {
      const sync = syncIpvsState(state, settings, 'rr');
      const generateMs = performance.now() - t0;
      const sets = parseIpsetSave(ipvsSetsRestore(sync.sets), { source: 'bench' });
      if (!sets.ok) throw new Error(sets.error.message);
      const services = ipvsServices(sync);
      const node = loaded(
        nodeFromDumps({
          name: 'bench',
          iptables: { text: ipvsNodePrelude() + sync.restore, file: 'bench' },
          routes: { text: BENCH_ROUTES, file: 'routes' },
          sets: setLookupOf(sets.value),
          ipvs: services,
        }),
      ).node;
      const entries = sync.sets.reduce((k, s) => k + s.entries.length, 0);
      const real = sync.virtualServers.reduce((k, v) => k + v.realServers.length, 0);
      // As the tools print it: iptables-restore input, ipset save, ipvsadm -S.
      const text = sync.restore + ipvsSetsRestore(sync.sets) + formatIpvsadmSave(services);
      return {
        mode,
        node,
        installed: `${fmt(rulesIn(sync.restore))} iptables rules, ${fmt(entries)} set entries, ${fmt(sync.virtualServers.length)} virtual / ${fmt(real)} real servers`,
        textBytes: Buffer.byteLength(text),
        generateMs,
      };
    }
    case 'nftables': {
      const sync = syncNftablesRules(state, settings, [serviceCIDR]);
      const generateMs = performance.now() - t0;
      const node = loaded(
        nodeFromDumps({
          name: 'bench',
          iptables: { text: nodePrelude([]), file: 'bench' },
          nft: { text: sync.transaction, file: 'bench' },
          routes: { text: BENCH_ROUTES, file: 'routes' },
        }),
      ).node;
      return {
        mode,
        node,
        installed: `${fmt(sync.rules)} nft rules, ${fmt(sync.chains)} chains`,
        textBytes: Buffer.byteLength(sync.transaction),
        generateMs,
      };
    }
    case 'userspace': {
      const sync = syncUserspaceState(state, settings, { nodeIP: BENCH_NODE.ip, proxyPortRange: [20000, 60000] });
      const generateMs = performance.now() - t0;
      const dump = loaded(
        nodeFromDumps({
          name: 'bench',
          iptables: { text: nodePrelude([]) + sync.jumps + sync.restore, file: 'bench' },
          routes: { text: BENCH_ROUTES, file: 'routes' },
        }),
      );
      const node = makeSimNode({
        ...dump.node,
        userspace: sync.portals.map((u) => ({
          protocol: 'tcp' as const,
          port: u.proxyPort,
          servicePortName: u.servicePortName,
          endpoints: u.endpoints.map((e) => ({ address: parseIPv4(e.ip)!, port: e.port })),
        })),
      });
      return {
        mode,
        node,
        installed: `${fmt(rulesIn(sync.restore))} iptables rules, ${fmt(sync.portals.length)} proxy ports`,
        textBytes: Buffer.byteLength(sync.restore),
        generateMs,
      };
    }
  }
}
