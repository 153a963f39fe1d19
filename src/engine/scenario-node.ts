// Builds a node from Kubernetes objects: kube-proxy's rules for it (loaded
// through the same iptables-restore parser a user's dump goes through), on top
// of what kubelet set up, with the devices and routes flannel gives it.
import { flannelRestore, leaseOf, type NodeNetwork, nodeNetwork } from '../flannel';
import { formatIpsetSave, parseIpsetSave } from '../ipset';
import {
  type IpvsSync,
  ipvsNodePrelude,
  ipvsServices,
  ipvsSetsRestore,
  loadBalancerFromSync,
  nodePrelude,
  proxierSettings,
  routeLocalnetFor,
  syncIptablesRules,
  syncIpvsState,
  syncNftablesRules,
  syncUserspaceState,
} from '../kube-proxy';
import { type NodeLocalState, nodeLocalState, type Scenario, ZONE_LABEL } from '../model';
import { parseIPv4, parseIPv4Prefix, parseIpRoutes } from '../net';
import { compileRuleset, loadIptables, type NetfilterState } from '../netfilter';
import { loadNftTransaction, type NftRuleset } from '../nftables';
import { setLookupOf } from './ipset-lookup';
import { makeSimNode, type SetLookup, type SimNode, type UserspaceProxy, type VxlanEndpoint } from './sim-node';

export interface ScenarioNode {
  readonly name: string;
  readonly mode: 'iptables' | 'ipvs' | 'userspace' | 'nftables';
  readonly node: SimNode;
  readonly localState: NodeLocalState;
  /** What kube-proxy pipes to iptables-restore. */
  readonly restore: string;
  /** flanneld's iptables rules on the node ('' when the Cluster document names no CNI). */
  readonly cniRestore: string;
  /** Everything the node's iptables hold once loaded. */
  readonly netfilter: NetfilterState;
  readonly network: NodeNetwork;
  /** IPVS mode's virtual servers, ipsets and kube-ipvs0 addresses (null in iptables mode). */
  readonly ipvs: IpvsSync | null;
  /** The node's ipsets as `ipset save` prints them (empty in iptables mode). */
  readonly ipsetSave: string;
  /** nftables mode: what kube-proxy sends to `nft -f`, and the ruleset once loaded (null in other modes). */
  readonly nft: { readonly transaction: string; readonly ruleset: NftRuleset } | null;
}

export type ScenarioNodeResult =
  | { readonly ok: true; readonly value: ScenarioNode }
  | { readonly ok: false; readonly message: string };

// kube-proxy's virtual servers as the kernel holds them; used by the bench too.
export { ipvsServices };

/** flanneld's rules for a node, when the Cluster document names flannel as the CNI ('' otherwise). */
function cniRulesFor(scenario: Scenario, nodeName: string): string {
  const cni = scenario.cluster.cni;
  const node = scenario.nodes.find((n) => n.name === nodeName);
  const lease = node ? leaseOf(node) : undefined;
  if (!cni.named || cni.plugin !== 'flannel' || lease === undefined) return '';
  return flannelRestore(scenario.cluster.clusterCIDR, lease);
}

export function buildScenarioNode(scenario: Scenario, nodeName: string): ScenarioNodeResult {
  const mode = scenario.cluster.proxy.mode;
  const localState = nodeLocalState(scenario, nodeName, 'IPv4');
  const zone = scenario.nodes.find((n) => n.name === nodeName)?.labels[ZONE_LABEL];
  const settings = proxierSettings(scenario.cluster, localState.node, zone);
  const ipvs = mode === 'ipvs' ? syncIpvsState(localState, settings, scenario.cluster.proxy.ipvs.scheduler) : null;
  const userspace =
    mode === 'userspace'
      ? syncUserspaceState(localState, settings, { nodeIP: localState.node.internalIPs[0] ?? '127.0.0.1' })
      : null;
  const nftSync = mode === 'nftables' ? syncNftablesRules(localState, settings, [scenario.cluster.serviceCIDR]) : null;
  let nft: ScenarioNode['nft'] = null;
  if (nftSync) {
    const loadedNft = loadNftTransaction(nftSync.transaction, `kube-proxy nft transaction for ${nodeName}`);
    if (!loadedNft.ok) return { ok: false, message: loadedNft.message };
    nft = { transaction: nftSync.transaction, ruleset: loadedNft.value.ruleset };
  }
  // nftables mode writes no iptables rules; kubelet's still stand.
  const restore = ipvs
    ? ipvs.restore
    : userspace
      ? userspace.restore
      : nftSync
        ? ''
        : syncIptablesRules(localState, settings).restore;
  // Start-up state: kubelet's chains, then the proxier's own (the userspace proxier's jumps come with it).
  const startup = ipvs
    ? ipvsNodePrelude()
    : userspace
      ? nodePrelude([]) + userspace.jumps
      : nftSync
        ? nodePrelude([])
        : nodePrelude();
  const prelude = loadIptables(startup, 'kubelet/kube-proxy start-up');
  if (!prelude.ok) return { ok: false, message: prelude.message };
  const proxied = loadIptables(restore, `kube-proxy restore for ${nodeName}`, prelude.state);
  if (!proxied.ok) return { ok: false, message: proxied.message };
  // flanneld appends its jumps after kube-proxy's (which kube-proxy keeps first).
  const cniRestore = cniRulesFor(scenario, nodeName);
  const loaded = cniRestore ? loadIptables(cniRestore, `flanneld rules for ${nodeName}`, proxied.state) : proxied;
  if (!loaded.ok) return { ok: false, message: loaded.message };
  let sets: SetLookup | null = null;
  let ipsetSave = '';
  if (ipvs) {
    const parsed = parseIpsetSave(ipvsSetsRestore(ipvs.sets), { source: `kube-proxy ipsets for ${nodeName}` });
    if (!parsed.ok) return { ok: false, message: parsed.error.message };
    sets = setLookupOf(parsed.value);
    ipsetSave = formatIpsetSave(parsed.value);
  }
  const network = nodeNetwork(scenario.cluster, scenario.nodes, nodeName);
  const routes = parseIpRoutes(network.routes.join('\n'));
  if (!routes.ok) return { ok: false, message: `routes of ${nodeName}: line ${routes.line}: ${routes.message}` };
  const devices = ipvs
    ? [
        ...network.devices,
        { name: 'kube-ipvs0', addresses: ipvs.kubeIpvs0.map((address) => ({ address, prefixLength: 32 })) },
      ]
    : network.devices;
  const routeLocalnet = routeLocalnetFor(mode, settings);
  const node = makeSimNode({
    name: nodeName,
    interfaces: devices.map((d) => ({
      name: d.name,
      bridge: d.name === 'cni0',
      addresses: d.addresses.map((a) => ({ address: parseIPv4(a.address)!, prefixLength: a.prefixLength })),
    })),
    routes: routes.routes,
    ruleset: compileRuleset(loaded.state),
    sets,
    defaultInterface: 'eth0',
    ...(routeLocalnet === undefined ? {} : { routeLocalnet }),
    ipvs: ipvs ? ipvsServices(ipvs) : [],
    ...(nft ? { nft: nft.ruleset } : {}),
    ...(network.vxlan ? { vxlan: vxlanEndpointOf(network.vxlan) } : {}),
    unroutable: network.unroutable.map((u) => ({ prefix: parseIPv4Prefix(u.cidr)!, why: u.why })),
    virtualCIDRs: scenario.cluster.serviceCIDR
      .split(',')
      .map((c) => parseIPv4Prefix(c.trim()))
      .filter((c) => c !== null),
    ...(userspace ? { userspaceBalancer: { lb: loadBalancerFromSync(userspace) } } : {}),
    userspace: (userspace?.portals ?? []).map((portal) => ({
      protocol: portal.protocol.toLowerCase() as UserspaceProxy['protocol'],
      port: portal.proxyPort,
      servicePortName: portal.servicePortName,
      endpoints: portal.endpoints.map((e) => ({ address: parseIPv4(e.ip)!, port: e.port })),
    })),
  });
  return {
    ok: true,
    value: {
      name: nodeName,
      mode,
      node,
      localState,
      restore,
      netfilter: loaded.state,
      cniRestore,
      network: { ...network, devices },
      ipvs,
      ipsetSave,
      nft,
    },
  };
}

/** flannel.1 as the engine sees it: the device and its neighbour and FDB tables. */
function vxlanEndpointOf(v: NonNullable<NodeNetwork['vxlan']>): VxlanEndpoint {
  return {
    device: { name: 'flannel.1', vni: v.vni, port: v.port, local: parseIPv4(v.local)! },
    mtu: v.mtu,
    neighbours: new Map(v.remotes.map((r) => [parseIPv4(r.address)!, r.mac])),
    fdb: new Map(v.remotes.map((r) => [r.mac, parseIPv4(r.publicIP)!])),
  };
}

/** Every node of the scenario, by name, for walks across the cluster. */
export function buildClusterNodes(
  scenario: Scenario,
): { ok: true; value: Map<string, SimNode> } | { ok: false; message: string } {
  const nodes = new Map<string, SimNode>();
  for (const n of scenario.nodes) {
    const built = buildScenarioNode(scenario, n.name);
    if (!built.ok) return built;
    nodes.set(n.name, built.value.node);
  }
  return { ok: true, value: nodes };
}
