// `knetsim sync A.yaml --then B.yaml [--then C.yaml ...]`: what kube-proxy sends the
// kernel on each sync as the cluster goes from one state to the next (a full first
// sync, then only the changes), with a summary per step.
import { proxierSettings, type SyncInput, type SyncMode, type SyncStep, syncSequence } from '../kube-proxy';
import { nodeLocalState, type Scenario, ZONE_LABEL } from '../model';
import { chooseNode, loadScenarioInput, withMode } from './load-scenario-input';
import { UserError } from './user-error';

export interface SyncOptions {
  then?: string[];
  node?: string;
  mode?: string;
  json?: boolean;
  fullEvery?: string;
  graceful?: boolean;
}

function inputOf(scenario: Scenario, nodeName: string): SyncInput {
  const state = nodeLocalState(scenario, nodeName, 'IPv4');
  const zone = scenario.nodes.find((n) => n.name === nodeName)?.labels[ZONE_LABEL];
  return {
    state,
    settings: proxierSettings(scenario.cluster, state.node, zone),
    scheduler: scenario.cluster.proxy.ipvs.scheduler,
    serviceCIDRs: [scenario.cluster.serviceCIDR],
  };
}

function header(step: SyncStep, i: number, file: string): string[] {
  const c = step.changes;
  const kind = c.fullSync ? `full sync (${c.reason})` : 'partial sync';
  const changed = [...c.changed].sort();
  return [
    `# sync ${i + 1}: ${file}: ${kind}`,
    `# services changed: ${changed.length === 0 ? 'none' : changed.join(', ')}`,
  ];
}

function render(step: SyncStep, i: number, file: string): string {
  const lines = header(step, i, file);
  if (step.mode === 'iptables') {
    const p = step.iptables;
    lines.push(p.restore.trimEnd());
    lines.push(
      `# summary: ${p.written.length} service chains written, ${p.unchanged.length} unchanged, ${p.deleted.length} deleted${p.deleted.length ? ` (${p.deleted.join(', ')})` : ''}`,
    );
  } else if (step.mode === 'nftables') {
    const n = step.nftables;
    if (n.cleanup !== '')
      lines.push('# stale chains deleted first, in a transaction of their own', n.cleanup.trimEnd());
    lines.push(
      n.transaction.trimEnd(),
      `# summary: ${n.chains} chains and ${n.rules} rules written, ${n.staleChains.length} stale chains flushed (deleted by the next sync), ${n.deletedChains.length} deleted, ${n.deletedSets.length} affinity sets deleted`,
    );
  } else if (step.mode === 'userspace') {
    const u = step.userspace;
    lines.push(
      ...u.closed.map((c) => `# close proxy socket ${c}`),
      ...u.iptables.map((c) => `iptables ${c}`),
      ...u.opened.map((c) => `# open proxy socket ${c}`),
      ...u.endpointsUpdated.map((n) => `# round robin of ${n}: endpoints updated in user space`),
      `# summary: ${u.opened.length} portals opened, ${u.closed.length} closed, ${u.endpointsUpdated.length} with new endpoints, ${u.iptables.length} iptables commands`,
    );
  } else {
    const s = step.ipvs.summary;
    lines.push(...step.ipvs.commands, step.ipvs.restore.trimEnd());
    lines.push(
      `# summary: virtual servers +${s.virtualServers.added} ~${s.virtualServers.updated} -${s.virtualServers.deleted} (${s.virtualServers.unchanged} unchanged), real servers +${s.realServers.added} ~${s.realServers.updated} -${s.realServers.deleted}${s.realServers.terminating ? ` (${s.realServers.terminating} at weight 0 until their connections end)` : ''}, ipset entries +${s.setEntries.added} -${s.setEntries.deleted}, kube-ipvs0 addresses +${s.addresses.bound} -${s.addresses.unbound}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function json(step: SyncStep, i: number, file: string): unknown {
  const base = {
    sync: i + 1,
    file,
    mode: step.mode,
    full: step.changes.fullSync,
    ...(step.changes.reason ? { reason: step.changes.reason } : {}),
    servicesChanged: [...step.changes.changed].sort(),
  };
  if (step.mode === 'iptables') {
    const p = step.iptables;
    return { ...base, iptablesRestore: p.restore, written: p.written, unchanged: p.unchanged, deleted: p.deleted };
  }
  if (step.mode === 'nftables') {
    const n = step.nftables;
    return {
      ...base,
      nft: n.cleanup + n.transaction,
      cleanupNft: n.cleanup,
      chainsWritten: n.chains,
      rulesWritten: n.rules,
      staleChains: n.staleChains,
      deletedChains: n.deletedChains,
      deletedSets: n.deletedSets,
    };
  }
  if (step.mode === 'userspace') {
    const u = step.userspace;
    return {
      ...base,
      iptables: u.iptables,
      opened: u.opened,
      closed: u.closed,
      endpointsUpdated: u.endpointsUpdated,
      proxyPorts: Object.fromEntries(step.state.portals.map((p) => [p.servicePortName, p.proxyPort])),
    };
  }
  const x = step.ipvs;
  return {
    ...base,
    ipvsadm: x.ipvsadm,
    ipset: x.ipset,
    addresses: x.addresses,
    iptablesRestore: x.restore,
    summary: x.summary,
  };
}

export async function runSync(first: string, o: SyncOptions, out: NodeJS.WritableStream): Promise<void> {
  const files = [first, ...(o.then ?? [])];
  if (files.length < 2) throw new UserError('sync: give the next state with --then FILE (one or more)');
  const fullEvery = o.fullEvery === undefined ? 0 : Number(o.fullEvery);
  if (!Number.isInteger(fullEvery) || fullEvery < 0)
    throw new UserError(`--full-every: "${o.fullEvery}" is not a number of syncs`);
  const scenarios: Scenario[] = [];
  for (const f of files) scenarios.push(withMode(await loadScenarioInput(f), o.mode));
  const mode = scenarios[0]!.cluster.proxy.mode;

  const nodeName = chooseNode(scenarios[0]!, o.node);
  for (const s of scenarios.slice(1)) chooseNode(s, nodeName);
  const steps = syncSequence(
    mode as SyncMode,
    scenarios.map((s) => inputOf(s, nodeName)),
    { fullEvery, graceful: o.graceful === true },
  );
  if (o.json)
    out.write(
      `${JSON.stringify(
        steps.map((s, i) => json(s, i, files[i]!)),
        null,
        2,
      )}\n`,
    );
  else out.write(steps.map((s, i) => render(s, i, files[i]!)).join('\n'));
}
