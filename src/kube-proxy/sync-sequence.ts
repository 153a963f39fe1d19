// kube-proxy running through a sequence of cluster states on one node: the first sync
// is full, each later one sends only what changed (iptables: partial restore; IPVS:
// server, set-entry and address changes), as the proxier does between its syncs.
import type { NodeLocalState } from '../model';
import { type IptablesPartialSync, partialIptablesSync } from './iptables/partial-sync';
import { type IpvsSyncCommands, ipvsSyncCommands } from './ipvs/ipvs-sync-commands';
import { type IpvsSync, syncIpvsState } from './ipvs/sync-ipvs-state';
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
    };

export type SyncMode = 'iptables' | 'ipvs' | 'userspace';

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
  inputs.forEach((input, i) => {
    let changes = trackServiceChanges(previous, input.state);
    if (!changes.fullSync && fullEvery > 0 && i % fullEvery === 0)
      changes = { ...changes, fullSync: true, reason: `periodic full sync (every ${fullEvery} syncs)` };
    if (mode === 'iptables') {
      const iptables = partialIptablesSync(input.state, input.settings, changes, chains);
      chains = iptables.active;
      steps.push({ mode, changes, iptables });
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
