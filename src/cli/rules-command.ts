// `knetsim rules SCENARIO`: the data-plane state a node would have, in the
// format of the tool that shows it on a real node.
import { buildScenarioNode, type ScenarioNode } from '../engine';
import { flannelAnnotations, flannelRestore, leaseOf, subnetEnv } from '../flannel';
import { formatIpvsadmList, formatIpvsadmSave } from '../ipvs';
import { summarizeScenario } from '../model';
import { formatIPv4 } from '../net';
import { saveState } from '../netfilter';
import { dumpNftTransaction, formatNftList } from '../nftables';
import { chooseNode, loadScenarioInput, withMode } from './load-scenario-input';
import { UserError } from './user-error';

const FORMATS = [
  'iptables-save',
  'iptables-restore',
  'json',
  'ipset',
  'ipvsadm',
  'ipvsadm-save',
  'routes',
  'neigh',
  'fdb',
  'nft',
  'nft-list',
  'summary',
];

export async function runRules(
  path: string,
  o: { node?: string; format: string; mode?: string },
  out: NodeJS.WriteStream,
): Promise<void> {
  if (!FORMATS.includes(o.format)) throw new UserError(`--format: "${o.format}" is not one of ${FORMATS.join(', ')}`);
  const scenario = withMode(await loadScenarioInput(path), o.mode);
  if (o.format === 'summary') {
    out.write(summarizeScenario(scenario).text);
    return;
  }
  const nodeName = chooseNode(scenario, o.node);
  const built = buildScenarioNode(scenario, nodeName);
  if (!built.ok) throw new UserError(built.message);
  const n = built.value;
  switch (o.format) {
    case 'iptables-restore':
      out.write(n.restore);
      return;
    case 'ipset':
      out.write(n.ipsetSave);
      return;
    case 'nft':
    case 'nft-list':
      if (!n.nft) throw new UserError(`--format ${o.format}: kube-proxy mode is ${n.mode}; use --mode nftables`);
      out.write(o.format === 'nft' ? dumpNftTransaction(n.nft.ruleset) : formatNftList(n.nft.ruleset));
      return;
    case 'ipvsadm':
      out.write(formatIpvsadmList(n.node.ipvs ?? []));
      return;
    case 'ipvsadm-save':
      out.write(formatIpvsadmSave(n.node.ipvs ?? []));
      return;
    case 'routes':
      out.write(
        n.network.routes
          .filter((r) => !r.includes(' table local'))
          .map((r) => `${r}\n`)
          .join(''),
      );
      // flanneld logs the routes it could not add; so do we, beside the table.
      for (const note of n.network.notes) process.stderr.write(`knetsim: ${note}\n`);
      return;
    case 'neigh':
      out.write(n.network.neighbours.map((l) => `${l}\n`).join(''));
      return;
    case 'fdb':
      out.write(n.network.fdb.map((l) => `${l}\n`).join(''));
      return;
    case 'json':
      out.write(`${JSON.stringify(rulesJson(scenario, nodeName, n), null, 2)}\n`);
      return;
    default: {
      const summary = summarizeScenario(scenario).counts;
      const about = `# knetsim: node ${nodeName} of ${scenario.file} (${summary.nodes} nodes, ${summary.services} services), kube-proxy mode ${scenario.cluster.proxy.mode}`;
      // Userspace mode: the proxy ports kube-proxy listens on, as comment lines (the dump stays loadable).
      const ports = (n.node.userspace ?? []).map(
        (u) =>
          `#   ${String(u.port).padEnd(6)} ${u.protocol.padEnd(4)} ${u.servicePortName} -> ${u.endpoints.map((e) => `${formatIPv4(e.address)}:${e.port}`).join(', ') || '(no endpoints)'}`,
      );
      const table = ports.length ? `# kube-proxy userspace proxy ports:\n${ports.join('\n')}\n` : '';
      out.write(`${about}\n${table}${saveState(n.netfilter)}`);
    }
  }
}

type LoadedScenario = Awaited<ReturnType<typeof loadScenarioInput>>;

/** `rules --format json`: everything the node's data plane holds, as one object. */
export function rulesJson(scenario: LoadedScenario, nodeName: string, n: ScenarioNode): object {
  return {
    mode: scenario.cluster.proxy.mode,
    ...(scenario.cluster.proxy.mode === 'ipvs'
      ? { scheduler: scenario.cluster.proxy.ipvs.scheduler, strictARP: scenario.cluster.proxy.ipvs.strictARP }
      : {}),
    node: nodeName,
    iptablesRestore: n.restore,
    iptablesSave: saveState(n.netfilter),
    ...(n.nft ? { nft: dumpNftTransaction(n.nft.ruleset), nftTransaction: n.nft.transaction } : {}),
    ipsets: Object.fromEntries(
      (n.ipvs?.sets ?? []).map((set) => [set.name, { type: set.type, comment: set.comment, entries: set.entries }]),
    ),
    virtualServers: n.ipvs?.virtualServers ?? [],
    addresses: Object.fromEntries(n.network.devices.map((d) => [d.name, d.addresses.map((a) => a.address)])),
    routes: n.network.routes,
    neighbours: n.network.neighbours,
    fdb: n.network.fdb,
    ...flannelJson(scenario, nodeName),
    ...(n.node.userspace?.length
      ? {
          proxyPorts: n.node.userspace.map((u) => ({
            port: u.port,
            protocol: u.protocol,
            servicePortName: u.servicePortName,
          })),
        }
      : {}),
  };
}

/** What flanneld publishes for the node and the rules it keeps (not yet loaded into the traced ruleset). */
function flannelJson(scenario: LoadedScenario, nodeName: string): object {
  const node = scenario.nodes.find((x) => x.name === nodeName);
  const lease = node && leaseOf(node);
  if (!node || !lease) return {};
  return {
    flannel: {
      lease,
      annotations: flannelAnnotations(scenario.cluster, node),
      subnetEnv: subnetEnv(scenario.cluster, node),
      iptablesRestore: flannelRestore(scenario.cluster.clusterCIDR, lease),
    },
  };
}
