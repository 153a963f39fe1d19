// Two figures per proxy mode for the modes table: what an incremental sync sends after
// one endpoint is added to one Service (bytes and time, next to the first full sync),
// and what an established packet costs once its connection is in conntrack (next to
// the first packet's cost).

import { type SimNode, type TraceRequest, tracePacket } from '../src/engine';
import {
  ipvsSyncCommands,
  type ProxierSettings,
  partialIptablesSync,
  partialNftablesSync,
  syncIpvsState,
  trackServiceChanges,
  userspaceStep,
} from '../src/kube-proxy';
import type { LocalEndpoint, NodeLocalState } from '../src/model';
import { ACK } from '../src/net';
import { emptyRuleset, loadNftTransaction } from '../src/nftables';

export type BenchMode = 'userspace' | 'iptables' | 'ipvs' | 'nftables';

export interface SyncCost {
  readonly fullBytes: number;
  readonly fullMs: number;
  readonly partialBytes: number;
  readonly partialMs: number;
}

const now = () => performance.now();
const bytes = (text: string) => Buffer.byteLength(text);

/** The same node with one more endpoint on its middle Service. */
export function withOneMoreEndpoint(state: NodeLocalState): NodeLocalState {
  const mid = state.servicePorts.length >> 1;
  return {
    ...state,
    servicePorts: state.servicePorts.map((sp, i) => {
      if (i !== mid) return sp;
      const extra: LocalEndpoint = { ...sp.endpoints[0]!, ip: '10.250.0.9', isLocal: false };
      return { ...sp, endpoints: [...sp.endpoints, extra] };
    }),
  };
}

function timed<T>(f: () => T): [T, number] {
  const t0 = now();
  const v = f();
  return [v, now() - t0];
}

/** The first (full) sync and the sync after one endpoint is added, as kube-proxy sends them. */
export function syncCost(
  mode: BenchMode,
  state: NodeLocalState,
  settings: ProxierSettings,
  serviceCIDR: string,
): SyncCost {
  const next = withOneMoreEndpoint(state);
  const first = trackServiceChanges(undefined, state);
  const changed = trackServiceChanges(state, next);
  switch (mode) {
    case 'iptables': {
      const [full, fullMs] = timed(() => partialIptablesSync(state, settings, first, new Set()));
      const [partial, partialMs] = timed(() => partialIptablesSync(next, settings, changed, full.active));
      return { fullBytes: bytes(full.restore), fullMs, partialBytes: bytes(partial.restore), partialMs };
    }
    case 'ipvs': {
      const [full, fullMs] = timed(() => {
        const s = syncIpvsState(state, settings, 'rr');
        return { s, c: ipvsSyncCommands(undefined, s) };
      });
      const [partial, partialMs] = timed(() => ipvsSyncCommands(full.s, syncIpvsState(next, settings, 'rr')));
      const size = (c: typeof partial) => bytes(c.commands.join('\n')) + bytes(c.restore);
      return { fullBytes: size(full.c), fullMs, partialBytes: size(partial), partialMs };
    }
    case 'userspace': {
      const input = (s: NodeLocalState) => ({ state: s, settings, scheduler: 'rr' });
      const [full, fullMs] = timed(() => userspaceStep(undefined, input(state), first));
      const [partial, partialMs] = timed(() => userspaceStep(full.state, input(next), changed));
      // The full sync opens every portal: its rules, as commands.
      const size = (c: typeof partial.changes) => bytes(c.iptables.map((r) => `iptables ${r}`).join('\n'));
      return { fullBytes: size(full.changes), fullMs, partialBytes: size(partial.changes), partialMs };
    }
    case 'nftables': {
      const [full, fullMs] = timed(() => partialNftablesSync(state, settings, [serviceCIDR], first, emptyRuleset()));
      const loaded = loadNftTransaction(full.transaction, 'bench');
      if (!loaded.ok) throw new Error(loaded.message);
      const [partial, partialMs] = timed(() =>
        partialNftablesSync(next, settings, [serviceCIDR], changed, loaded.value.ruleset),
      );
      return { fullBytes: bytes(full.transaction), fullMs, partialBytes: bytes(partial.transaction), partialMs };
    }
  }
}

export interface PacketCost {
  readonly rulesEvaluated: number;
  readonly conntrackLookups: number;
  readonly setLookups: number;
  readonly ipvsLookups: number;
  readonly userSpaceCopies: number;
}

let nextPort = 45000;

/** A connection's first packet (committed to conntrack) and the next packet of the same connection. */
export function firstAndEstablished(
  node: SimNode,
  request: TraceRequest,
): { first: PacketCost; established: PacketCost } {
  const sport = nextPort++;
  const first = tracePacket(node, { ...request, sport, commit: true, sample: () => 0.5 }).cost;
  const established = tracePacket(node, { ...request, sport, tcpFlags: ACK }).cost;
  return { first, established };
}
