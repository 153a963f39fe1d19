// Builds a node from Kubernetes objects: kube-proxy's rules for it (loaded
// through the same iptables-restore parser a user's dump goes through), on top
// of what kubelet set up, with the devices and routes flannel gives it.
import { type NodeNetwork, nodeNetwork } from '../flannel';
import { nodePrelude, proxierSettings, syncIptablesRules } from '../kube-proxy';
import { type NodeLocalState, nodeLocalState, type Scenario, ZONE_LABEL } from '../model';
import { parseIPv4, parseIpRoutes } from '../net';
import { compileRuleset, loadIptables, type NetfilterState } from '../netfilter';
import { makeSimNode, type SimNode } from './sim-node';

export interface ScenarioNode {
  readonly name: string;
  readonly node: SimNode;
  readonly localState: NodeLocalState;
  /** What kube-proxy pipes to iptables-restore. */
  readonly restore: string;
  /** Everything the node's iptables hold once loaded. */
  readonly netfilter: NetfilterState;
  readonly network: NodeNetwork;
}

export type ScenarioNodeResult =
  | { readonly ok: true; readonly value: ScenarioNode }
  | { readonly ok: false; readonly message: string };

export function buildScenarioNode(scenario: Scenario, nodeName: string): ScenarioNodeResult {
  const mode = scenario.cluster.proxy.mode;
  if (mode !== 'iptables')
    return {
      ok: false,
      message: `${scenario.file}: proxy mode "${mode}" is not modelled yet (iptables is); set Cluster spec.proxy.mode: iptables`,
    };
  const localState = nodeLocalState(scenario, nodeName, 'IPv4');
  const zone = scenario.nodes.find((n) => n.name === nodeName)?.labels[ZONE_LABEL];
  const settings = proxierSettings(scenario.cluster, localState.node, zone);
  const sync = syncIptablesRules(localState, settings);
  const prelude = loadIptables(nodePrelude(), 'kubelet/kube-proxy start-up');
  if (!prelude.ok) return { ok: false, message: prelude.message };
  const loaded = loadIptables(sync.restore, `kube-proxy restore for ${nodeName}`, prelude.state);
  if (!loaded.ok) return { ok: false, message: loaded.message };
  const network = nodeNetwork(scenario.cluster, scenario.nodes, nodeName);
  const routes = parseIpRoutes(network.routes.join('\n'));
  if (!routes.ok) return { ok: false, message: `routes of ${nodeName}: line ${routes.line}: ${routes.message}` };
  const node = makeSimNode({
    name: nodeName,
    interfaces: network.devices.map((d) => ({
      name: d.name,
      addresses: d.addresses.map((a) => ({ address: parseIPv4(a.address)!, prefixLength: a.prefixLength })),
    })),
    routes: routes.routes,
    ruleset: compileRuleset(loaded.state),
    sets: null,
    defaultInterface: 'eth0',
  });
  return {
    ok: true,
    value: { name: nodeName, node, localState, restore: sync.restore, netfilter: loaded.state, network },
  };
}
