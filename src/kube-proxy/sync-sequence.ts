// kube-proxy running through a sequence of cluster states on one node: the first sync
// is full, each later one sends only what changed (iptables: partial restore; IPVS:
// server, set-entry and address changes), as the proxier does between its syncs.
import type { NodeLocalState } from '../model';
import { emptyRuleset, loadNftTransaction, type NftRuleset } from '../nftables';
import { type IptablesPartialSync, partialIptablesSync } from './iptables/partial-sync';
import { type IpvsSyncCommands, ipvsSyncCommands } from './ipvs/ipvs-sync-commands';
import { type IpvsSync, syncIpvsState } from './ipvs/sync-ipvs-state';
import { deleteStaleChains, partialNftablesSync } from './nftables/sync-nftables-rules';
import type { ProxierSettings } from './proxier-settings';
import { type ServiceChanges, trackServiceChanges } from './service-changes';
import { syncUserspaceState, type UserspaceSync } from './userspace/sync-userspace-state';
import {
  heldUserspacePorts,
  type UserspaceSyncChanges,
  userspaceSyncChanges,
} from './userspace/userspace-sync-changes';

export interface SyncInput {
  readonly state: NodeLocalState;
  readonly settings: ProxierSettings;
  /** IPVS scheduler (IPVS mode). */
  readonly scheduler: string;
  /** The cluster's Service CIDRs (nftables mode). */
  readonly serviceCIDRs?: readonly string[];
}

export interface NftablesSyncStep {
  /** Sent first, as a transaction of its own: the deletion of the chains an earlier sync flushed. */
  readonly cleanup: string;
  /** What kube-proxy sends to `nft -f` for the sync itself. */
  readonly transaction: string;
  /** Service chains flushed now, deleted by the next sync. */
  readonly staleChains: readonly string[];
  /** Chains an earlier sync flushed, deleted now. */
  readonly deletedChains: readonly string[];
  readonly deletedSets: readonly string[];
  readonly rules: number;
  readonly chains: number;
}

function applied(text: string, ruleset: NftRuleset): NftRuleset {
  const loaded = loadNftTransaction(text, 'kube-proxy nftables sync', ruleset);
  if (!loaded.ok) throw new Error(loaded.message);
  return loaded.value.ruleset;
}

/**
 * One nftables sync on the kernel's current ruleset. kube-proxy first deletes, in a
 * transaction of its own, the chains it flushed over a second ago (syncs are at least
 * min-sync-period, 1s, apart: every chain the previous sync flushed), so the sync proper
 * neither sees nor flushes them again; one it needs again it creates anew.
 */
export function nftablesStep(
  current: NftRuleset,
  input: SyncInput,
  changes: ServiceChanges,
  pendingStale: readonly string[],
): { readonly step: NftablesSyncStep; readonly ruleset: NftRuleset } {
  const cleanup = deleteStaleChains(pendingStale);
  const cleaned = cleanup === '' ? current : applied(cleanup, current);
  const sync = partialNftablesSync(input.state, input.settings, input.serviceCIDRs ?? [], changes, cleaned);
  return {
    ruleset: applied(sync.transaction, cleaned),
    step: {
      cleanup,
      transaction: sync.transaction,
      staleChains: sync.staleChains,
      deletedChains: [...pendingStale],
      deletedSets: sync.deletedSets,
      rules: sync.rules,
      chains: sync.chains,
    },
  };
}

export type SyncStep =
  | { readonly mode: 'iptables'; readonly changes: ServiceChanges; readonly iptables: IptablesPartialSync }
  | {
      readonly mode: 'ipvs';
      readonly changes: ServiceChanges;
      readonly ipvs: IpvsSyncCommands;
      readonly state: IpvsSync;
    }
  | {
      readonly mode: 'userspace';
      readonly changes: ServiceChanges;
      readonly userspace: UserspaceSyncChanges;
      readonly state: UserspaceSync;
    }
  | { readonly mode: 'nftables'; readonly changes: ServiceChanges; readonly nftables: NftablesSyncStep };

export type SyncMode = 'iptables' | 'ipvs' | 'userspace' | 'nftables';

/** The userspace proxier's state after a sync, its unchanged service ports keeping their proxy ports. */
export function nextUserspaceState(previous: UserspaceSync | undefined, input: SyncInput): UserspaceSync {
  const options = { nodeIP: input.state.node.internalIPs[0] ?? '127.0.0.1' };
  const provisional = syncUserspaceState(input.state, input.settings, options);
  const heldPorts = heldUserspacePorts(previous, provisional.portals);
  return syncUserspaceState(input.state, input.settings, { ...options, heldPorts });
}

/**
 * One userspace sync. A node change restarts the proxier (it reads the node's IP at start
 * only): nothing is held over, its chains are flushed and every portal opened again.
 */
export function userspaceStep(
  previous: UserspaceSync | undefined,
  input: SyncInput,
  changes: ServiceChanges,
): { readonly state: UserspaceSync; readonly changes: UserspaceSyncChanges } {
  const restart = previous !== undefined && changes.fullSync;
  const state = nextUserspaceState(restart ? undefined : previous, input);
  return { state, changes: userspaceSyncChanges(previous, state, restart) };
}

export interface SyncSequenceOptions {
  /** Force a full sync every N syncs (kube-proxy's periodic resync); 0: never. */
  readonly fullEvery?: number;
  /**
   * IPVS: removed TCP real servers still have connections when they go (so kube-proxy sets
   * them to weight 0 and deletes them once those end, here at the next sync).
   */
  readonly graceful?: boolean;
}

/** The syncs for `inputs` in order, as one kube-proxy makes them. */
export function syncSequence(
  mode: SyncMode,
  inputs: readonly SyncInput[],
  options: SyncSequenceOptions = {},
): SyncStep[] {
  const fullEvery = options.fullEvery ?? 0;
  let terminating: ReadonlyMap<string, readonly string[]> = new Map();
  const steps: SyncStep[] = [];
  let previous: NodeLocalState | undefined;
  let chains: ReadonlySet<string> = new Set();
  let ipvsState: IpvsSync | undefined;
  let userspaceState: UserspaceSync | undefined;
  let ruleset: NftRuleset = emptyRuleset();
  let pendingStale: readonly string[] = [];
  inputs.forEach((input, i) => {
    let changes = trackServiceChanges(previous, input.state);
    if (!changes.fullSync && fullEvery > 0 && i % fullEvery === 0)
      changes = { ...changes, fullSync: true, reason: `periodic full sync (every ${fullEvery} syncs)` };
    if (mode === 'iptables') {
      const iptables = partialIptablesSync(input.state, input.settings, changes, chains);
      chains = iptables.active;
      steps.push({ mode, changes, iptables });
    } else if (mode === 'nftables') {
      const done = nftablesStep(ruleset, input, changes, pendingStale);
      ruleset = done.ruleset;
      pendingStale = done.step.staleChains;
      steps.push({ mode, changes, nftables: done.step });
    } else if (mode === 'userspace') {
      const step = userspaceStep(userspaceState, input, changes);
      steps.push({ mode, changes, userspace: step.changes, state: step.state });
      userspaceState = step.state;
    } else {
      const next = syncIpvsState(input.state, input.settings, input.scheduler);
      // With --graceful a server has connections in the sync that removes it; by the next sync they are gone.
      const draining = new Set([...terminating].flatMap(([vs, rs]) => rs.map((r) => `${vs}|${r}`)));
      const ipvs = ipvsSyncCommands(ipvsState, next, {
        terminating,
        hasConnections: (vs, rs) => options.graceful === true && !draining.has(`${vs}|${rs}`),
      });
      terminating = ipvs.terminating;
      steps.push({ mode, changes, ipvs, state: next });
      ipvsState = next;
    }
    previous = input.state;
  });
  return steps;
}
