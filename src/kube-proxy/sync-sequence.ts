// kube-proxy running through a sequence of cluster states on one node: the first sync
// is full, each later one sends only what changed (iptables: partial restore; IPVS:
// server, set-entry and address changes), as the proxier does between its syncs.
import type { NodeLocalState } from '../model';
import { type IptablesPartialSync, partialIptablesSync } from './iptables/partial-sync';
import { type IpvsSyncCommands, ipvsSyncCommands } from './ipvs/ipvs-sync-commands';
import { type IpvsSync, syncIpvsState } from './ipvs/sync-ipvs-state';
import type { ProxierSettings } from './proxier-settings';
import { type ServiceChanges, trackServiceChanges } from './service-changes';

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
    };

export type SyncMode = 'iptables' | 'ipvs';

/** The syncs for `inputs` in order; `fullEvery` forces a full iptables sync every N syncs (kube-proxy's periodic resync). */
export function syncSequence(mode: SyncMode, inputs: readonly SyncInput[], fullEvery = 0): SyncStep[] {
  const steps: SyncStep[] = [];
  let previous: NodeLocalState | undefined;
  let chains: ReadonlySet<string> = new Set();
  let ipvsState: IpvsSync | undefined;
  inputs.forEach((input, i) => {
    let changes = trackServiceChanges(previous, input.state);
    if (!changes.fullSync && fullEvery > 0 && i % fullEvery === 0)
      changes = { ...changes, fullSync: true, reason: `periodic full sync (every ${fullEvery} syncs)` };
    if (mode === 'iptables') {
      const iptables = partialIptablesSync(input.state, input.settings, changes, chains);
      chains = iptables.active;
      steps.push({ mode, changes, iptables });
    } else {
      const next = syncIpvsState(input.state, input.settings, input.scheduler);
      steps.push({ mode, changes, ipvs: ipvsSyncCommands(ipvsState, next), state: next });
      ipvsState = next;
    }
    previous = input.state;
  });
  return steps;
}
