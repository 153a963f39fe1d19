// Property: kube-proxy's incremental syncs equal a full resync. Random sequences of
// cluster changes (fast-check's model-based commands) drive the iptables proxier's
// partial restores, the IPVS proxier's server/set/address commands and the userspace
// proxier's rule appends and deletes; after each
// sync the kernel model (netfilter state; IPVS table, ipsets, kube-ipvs0 addresses)
// that the partial sync leaves must be exactly what a full sync of the new objects
// gives, with nothing stale left, and a sync with no change must send nothing more
// than kube-proxy always sends. Every Service port must reach exactly its usable
// endpoints, uniformly, and the modes must agree on them.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildScenarioNode, tracePacket } from '../../src/engine';
import {
  applyIpsetRestore,
  createRegistry,
  formatIpsetSave,
  type IpsetRegistry,
  parseIpsetSave,
} from '../../src/ipset';
import {
  applyIpvsadmCommands,
  createIpvsTable,
  formatIpvsadmSave,
  formatIpvsTableSave,
  type IpvsTable,
} from '../../src/ipvs';
import {
  type IpvsSync,
  ipvsNodePrelude,
  ipvsServices,
  ipvsSetsRestore,
  ipvsSyncCommands,
  nftablesStep,
  nodePrelude,
  partialIptablesSync,
  proxierSettings,
  syncIpvsState,
  trackServiceChanges,
  type UserspaceSync,
  userspaceJumps,
  userspaceStep,
} from '../../src/kube-proxy';
import { loadScenario, type NodeLocalState, nodeLocalState, type Scenario } from '../../src/model';
import { parseIPv4 } from '../../src/net';
import { loadIptables, type NetfilterState } from '../../src/netfilter';
import { emptyRuleset, type NftRuleset } from '../../src/nftables';
import { normalisedNft } from '../helpers/nft-normalise';

// `npm run test:prop -- --runs N` sets KNETSIM_PROP_RUNS; the default keeps npm test quick.
const RUNS = Number(process.env.KNETSIM_PROP_RUNS ?? 60);

// ---- the model: a small cluster of two nodes, Services with explicit IPs and ports ----

type EpState = 'ready' | 'terminating' | 'notready';
interface Ep {
  id: number;
  node: 'node-1' | 'node-2';
  state: EpState;
}
interface Svc {
  id: number;
  type: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  ports: number;
  etpLocal: boolean;
  itpLocal: boolean;
  affinity: boolean;
  eps: Ep[];
}
interface Model {
  services: Svc[];
  nextId: number;
  node1IP: string;
}

function yamlOf(m: Model): string {
  const docs = [
    `apiVersion: knetsim.io/v1alpha1
kind: Cluster
metadata: {name: prop}
spec: {clusterCIDR: 10.244.0.0/16, serviceCIDR: 10.96.0.0/12}`,
    `apiVersion: v1
kind: Node
metadata: {name: node-1}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: ${m.node1IP}}]}`,
    `apiVersion: v1
kind: Node
metadata: {name: node-2}
spec: {podCIDR: 10.244.2.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.0.3}]}`,
  ];
  for (const s of m.services) {
    const ports = Array.from({ length: s.ports }, (_, p) => {
      const nodePort = s.type === 'ClusterIP' ? '' : `, nodePort: ${30000 + s.id * 4 + p}`;
      return `{name: p${p}, protocol: TCP, port: ${80 + p}, targetPort: ${8080 + p}${nodePort}}`;
    });
    const spec = [
      `type: ${s.type}`,
      `clusterIP: 10.96.${Math.floor(s.id / 200)}.${(s.id % 200) + 10}`,
      `ports: [${ports.join(', ')}]`,
      s.type !== 'ClusterIP' ? `externalTrafficPolicy: ${s.etpLocal ? 'Local' : 'Cluster'}` : '',
      `internalTrafficPolicy: ${s.itpLocal ? 'Local' : 'Cluster'}`,
      s.affinity ? 'sessionAffinity: ClientIP' : '',
      s.type === 'LoadBalancer' && s.etpLocal ? `healthCheckNodePort: ${32000 + s.id}` : '',
    ].filter(Boolean);
    docs.push(`apiVersion: v1
kind: Service
metadata: {name: svc-${s.id}, namespace: default}
spec:
${spec.map((l) => `  ${l}`).join('\n')}
${s.type === 'LoadBalancer' ? `status: {loadBalancer: {ingress: [{ip: 203.0.113.${s.id % 250}}]}}` : ''}`);
    const eps = s.eps.map((e) => {
      const net = e.node === 'node-1' ? 1 : 2;
      const cond =
        e.state === 'ready'
          ? 'ready: true, serving: true, terminating: false'
          : e.state === 'terminating'
            ? 'ready: false, serving: true, terminating: true'
            : 'ready: false, serving: false, terminating: false';
      return `- addresses: [10.244.${net}.${(e.id % 240) + 10}]\n  nodeName: ${e.node}\n  conditions: {${cond}}`;
    });
    docs.push(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc-${s.id}-a, namespace: default, labels: {kubernetes.io/service-name: svc-${s.id}}}
addressType: IPv4
endpoints:${eps.length ? `\n${eps.join('\n')}` : ' []'}
ports: [${Array.from({ length: s.ports }, (_, p) => `{name: p${p}, protocol: TCP, port: ${8080 + p}}`).join(', ')}]`);
  }
  return `${docs.join('\n---\n')}\n`;
}

function scenarioOf(m: Model): Scenario {
  const r = loadScenario(yamlOf(m), 'prop.yaml');
  if (!r.ok) throw new Error(r.issues.map((i) => i.message).join('\n'));
  return r.scenario;
}

// ---- the real system: the kernel state each proxier has built up by its syncs ----

interface Kernel {
  local?: NodeLocalState;
  iptables: NetfilterState;
  chains: ReadonlySet<string>;
  ipvs?: IpvsSync;
  ipvsIptables: NetfilterState;
  ipvsTable: IpvsTable;
  ipsets: IpsetRegistry;
  kubeIpvs0: Set<string>;
  userspace?: UserspaceSync;
  userspaceIptables: NetfilterState;
  nft: NftRuleset;
  nftStale: readonly string[];
}

const userspaceStartup = () => loaded(nodePrelude([]) + userspaceJumps());

/** iptables commands (`-t TABLE -A|-D CHAIN ...`) as one restore script, table by table, in order. */
function asRestore(commands: readonly string[]): string {
  // One table section per run of commands on the same table, so their order is kept.
  const sections: [string, string[]][] = [];
  for (const c of commands) {
    const [, table, ...rest] = c.split(' ');
    const last = sections[sections.length - 1];
    if (last && last[0] === table) last[1].push(rest.join(' '));
    else sections.push([table!, [rest.join(' ')]]);
  }
  return sections.map(([t, lines]) => `*${t}\n${lines.join('\n')}\nCOMMIT\n`).join('');
}

function loaded(text: string, base?: NetfilterState): NetfilterState {
  const r = loadIptables(text, 'restore', base);
  if (!r.ok) throw new Error(r.message);
  return r.state;
}

/** iptables-save, chains in a canonical order (creation order differs between partial and full syncs). */
function canonical(state: NetfilterState, anyRuleOrder = false): string {
  const out: string[] = [];
  for (const [name, table] of state.tables) {
    out.push(`*${name}`);
    for (const chain of [...table.chains.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      // The rule itself (what was read and what it means), not the line of the script that added it.
      const rules = chain.rules.map(({ rule: r }) =>
        JSON.stringify([r.source, r.header, r.matches, r.target, r.comment, r.matchHooks]),
      );
      out.push(`:${chain.name} ${chain.policy ?? '-'}`, ...(anyRuleOrder ? rules.sort() : rules));
    }
  }
  return out.join('\n');
}

function newKernel(): Kernel {
  return {
    iptables: loaded(nodePrelude()),
    chains: new Set(),
    ipvsIptables: loaded(ipvsNodePrelude()),
    ipvsTable: createIpvsTable(),
    ipsets: createRegistry(),
    kubeIpvs0: new Set(),
    userspaceIptables: userspaceStartup(),
    nft: emptyRuleset(),
    nftStale: [],
  };
}

function sync(k: Kernel, m: Model, expectQuiet: boolean): void {
  const scenario = scenarioOf(m);
  const local = nodeLocalState(scenario, 'node-1', 'IPv4');
  const settings = proxierSettings(scenario.cluster, local.node);
  const changes = trackServiceChanges(k.local, local);

  // iptables: the partial restore on top of what the kernel holds equals a full sync on a fresh node.
  const partial = partialIptablesSync(local, settings, changes, k.chains);
  k.iptables = loaded(partial.restore, k.iptables);
  const full = partialIptablesSync(local, settings, { ...changes, fullSync: true }, new Set());
  expect(canonical(k.iptables)).toBe(canonical(loaded(full.restore, loaded(nodePrelude()))));
  k.chains = partial.active;

  // IPVS: servers, ipset entries and kube-ipvs0 addresses after the commands equal the full state.
  const next = syncIpvsState(local, settings, 'rr');
  const cmds = ipvsSyncCommands(k.ipvs, next);
  const table = applyIpvsadmCommands(k.ipvsTable, cmds.ipvsadm.join('\n'), 'sync');
  if (!table.ok) throw new Error(table.error.message);
  k.ipvsTable = table.value;
  expect(formatIpvsTableSave(k.ipvsTable)).toBe(formatIpvsadmSave(ipvsServices(next)));
  const sets = applyIpsetRestore(k.ipsets, cmds.ipset.map((l) => `${l}\n`).join(''));
  if (!sets.ok) throw new Error(sets.error.message);
  k.ipsets = sets.value;
  const wantSets = parseIpsetSave(ipvsSetsRestore(next.sets));
  if (!wantSets.ok) throw new Error(wantSets.error.message);
  // A hash set's members in any order: the same set.
  const members = (r: IpsetRegistry) => formatIpsetSave(r).split('\n').sort();
  expect(members(k.ipsets)).toEqual(members(wantSets.value));
  for (const line of cmds.addresses) {
    const [, , op, cidr] = line.split(' ');
    if (op === 'add') k.kubeIpvs0.add(cidr!.split('/')[0]!);
    else k.kubeIpvs0.delete(cidr!.split('/')[0]!);
  }
  expect([...k.kubeIpvs0].sort()).toEqual([...next.kubeIpvs0].sort());
  k.ipvsIptables = loaded(cmds.restore, k.ipvsIptables);
  expect(canonical(k.ipvsIptables)).toBe(canonical(loaded(next.restore, loaded(ipvsNodePrelude()))));
  k.ipvs = next;

  // userspace: rules appended and deleted one by one, sockets kept by unchanged service ports.
  const step = userspaceStep(k.userspace, { state: local, settings, scheduler: 'rr' }, changes);
  const nextUserspace = step.state;
  const us = step.changes;
  if (us.iptables.length > 0) k.userspaceIptables = loaded(asRestore(us.iptables), k.userspaceIptables);
  // The userspace proxier appends a reopened portal's rules at the end of each chain, so rule
  // order follows history (as on a real node); the rules themselves must be the same.
  expect(canonical(k.userspaceIptables, true)).toBe(canonical(loaded(nextUserspace.restore, userspaceStartup()), true));
  for (const p of nextUserspace.portals)
    if (us.held.has(p.servicePortName)) expect(p.proxyPort).toBe(us.held.get(p.servicePortName));
  k.userspace = nextUserspace;

  // nftables: the transaction on the kernel's ruleset equals a first sync on an empty one, less
  // the service chains it flushed and leaves for the next sync to delete.
  const input = { state: local, settings, scheduler: 'rr', serviceCIDRs: ['10.96.0.0/12'] };
  const nft = nftablesStep(k.nft, input, changes, k.nftStale);
  const nftFull = nftablesStep(emptyRuleset(), input, { ...changes, fullSync: true }, []);
  expect(normalisedNft(nft.ruleset, new Set(nft.step.staleChains))).toEqual(normalisedNft(nftFull.ruleset));
  k.nft = nft.ruleset;
  k.nftStale = nft.step.staleChains;

  if (expectQuiet) {
    // Nothing changed: no service chain written or deleted, no IPVS, set or address command.
    expect(changes.changed.size).toBe(0);
    expect(partial.written).toEqual([]);
    expect(partial.deleted).toEqual([]);
    expect(partial.restore).not.toMatch(/^:KUBE-(SVC|SVL|EXT|FW|SEP)-/m);
    expect([...cmds.ipvsadm, ...cmds.ipset, ...cmds.addresses]).toEqual([]);
    expect([...us.iptables, ...us.opened, ...us.closed]).toEqual([]);
    expect(nft.step.rules).toBe(0);
  }
  k.local = local;
}

// ---- reachability: each Service port reaches its usable endpoints, uniformly, in every mode ----

/** kube-proxy's usable endpoints: ready ones, else serving-terminating ones (CategorizeEndpoints). */
function usable(eps: readonly Ep[]): Ep[] {
  const ready = eps.filter((e) => e.state === 'ready');
  return ready.length > 0 ? ready : eps.filter((e) => e.state === 'terminating');
}

function usableEndpoints(s: Svc, port: number, mode: 'iptables' | 'ipvs' | 'nftables'): string[] {
  let chosen = s.itpLocal ? usable(s.eps.filter((e) => e.node === 'node-1')) : usable(s.eps);
  // IPVS by design (kubernetes#97081): with no local endpoints a Local policy falls back to the
  // cluster endpoints, which CategorizeEndpoints keeps when the Service accepts external traffic
  // at all (needed for the short circuit even with externalTrafficPolicy Local).
  const usesClusterEndpoints = s.type !== 'ClusterIP';
  if (mode === 'ipvs' && s.itpLocal && chosen.length === 0 && usesClusterEndpoints) chosen = usable(s.eps);
  return chosen.map((e) => `10.244.${e.node === 'node-1' ? 1 : 2}.${(e.id % 240) + 10}:${8080 + port}`).sort();
}

function reachable(scenario: Scenario, mode: 'iptables' | 'ipvs' | 'nftables' | 'userspace', s: Svc, port: number) {
  const sc = { ...scenario, cluster: { ...scenario.cluster, proxy: { ...scenario.cluster.proxy, mode } } };
  const built = buildScenarioNode(sc, 'node-1');
  if (!built.ok) throw new Error(built.message);
  const t = tracePacket(built.value.node, {
    src: parseIPv4('10.244.1.250')!,
    dst: parseIPv4(`10.96.${Math.floor(s.id / 200)}.${(s.id % 200) + 10}`)!,
    protocol: 'tcp',
    dport: 80 + port,
    origin: { kind: 'interface', iface: 'cni0' },
  });
  return {
    endpoints: t.endpoints.map((e) => ({ address: e.address, probability: e.probability })),
    masquerade: t.masquerade,
  };
}

function checkReachability(m: Model): void {
  const scenario = scenarioOf(m);
  for (const s of m.services)
    for (let p = 0; p < s.ports; p++) {
      const want = usableEndpoints(s, p, 'iptables');
      const masquerade: Record<string, boolean> = {};
      for (const mode of ['iptables', 'ipvs', 'nftables'] as const) {
        const got = reachable(scenario, mode, s, p);
        const want = usableEndpoints(s, p, mode);
        expect(got.endpoints.map((e) => e.address).sort(), `${mode} svc-${s.id}:p${p}`).toEqual(want);
        for (const e of got.endpoints) expect(e.probability).toBeCloseTo(1 / want.length, 6);
        masquerade[mode] = got.masquerade;
      }
      // From a pod inside the cluster CIDR neither mode source-NATs a connection to a ClusterIP.
      expect(masquerade).toEqual({ iptables: false, ipvs: false, nftables: false });
      // v1.25's userspace proxier reads v1 Endpoints: ready addresses only, no terminating fallback
      // and no internalTrafficPolicy (differences by design, so compared only where they do not apply).
      if (!s.itpLocal && s.eps.some((e) => e.state === 'ready')) {
        const got = reachable(scenario, 'userspace', s, p);
        expect(got.endpoints.map((e) => e.address).sort(), `userspace svc-${s.id}:p${p}`).toEqual(want);
      }
    }
}

// ---- commands ----

type Real = { kernel: Kernel };

class AddService implements fc.Command<Model, Real> {
  constructor(
    readonly type: Svc['type'],
    readonly ports: number,
    readonly eps: Ep['node'][],
  ) {}
  check = () => true;
  run(m: Model, r: Real) {
    const id = m.nextId++;
    m.services.push({
      id,
      type: this.type,
      ports: this.ports,
      etpLocal: false,
      itpLocal: false,
      affinity: false,
      eps: this.eps.map((node) => ({ id: m.nextId++, node, state: 'ready' })),
    });
    sync(r.kernel, m, false);
  }
  toString = () => `AddService(${this.type}, ${this.ports} ports, ${this.eps.join('+')})`;
}

class RemoveService implements fc.Command<Model, Real> {
  constructor(readonly pick: number) {}
  check = (m: Readonly<Model>) => m.services.length > 0;
  run(m: Model, r: Real) {
    m.services.splice(this.pick % m.services.length, 1);
    sync(r.kernel, m, false);
  }
  toString = () => `RemoveService(${this.pick})`;
}

class ChangeEndpoints implements fc.Command<Model, Real> {
  constructor(
    readonly pick: number,
    readonly op: 'add' | 'remove' | EpState,
    readonly node: Ep['node'],
  ) {}
  check = (m: Readonly<Model>) => m.services.length > 0;
  run(m: Model, r: Real) {
    const s = m.services[this.pick % m.services.length]!;
    if (this.op === 'add') s.eps.push({ id: m.nextId++, node: this.node, state: 'ready' });
    else if (s.eps.length > 0) {
      const i = this.pick % s.eps.length;
      if (this.op === 'remove') s.eps.splice(i, 1);
      else s.eps[i]!.state = this.op;
    }
    sync(r.kernel, m, false);
  }
  toString = () => `ChangeEndpoints(${this.pick}, ${this.op}, ${this.node})`;
}

class ChangePolicy implements fc.Command<Model, Real> {
  constructor(
    readonly pick: number,
    readonly what: 'etp' | 'itp' | 'affinity' | Svc['type'],
  ) {}
  check = (m: Readonly<Model>) => m.services.length > 0;
  run(m: Model, r: Real) {
    const s = m.services[this.pick % m.services.length]!;
    if (this.what === 'etp') s.etpLocal = !s.etpLocal;
    else if (this.what === 'itp') s.itpLocal = !s.itpLocal;
    else if (this.what === 'affinity') s.affinity = !s.affinity;
    else s.type = this.what;
    sync(r.kernel, m, false);
  }
  toString = () => `ChangePolicy(${this.pick}, ${this.what})`;
}

class MoveNode implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real) {
    m.node1IP = m.node1IP === '192.168.0.2' ? '192.168.0.12' : '192.168.0.2';
    sync(r.kernel, m, false);
  }
  toString = () => 'MoveNode';
}

class Resync implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real) {
    sync(r.kernel, m, true);
    checkReachability(m);
  }
  toString = () => 'Resync';
}

const node = fc.constantFrom<Ep['node']>('node-1', 'node-2');
const commands = [
  fc
    .tuple(
      fc.constantFrom<Svc['type']>('ClusterIP', 'NodePort', 'LoadBalancer'),
      fc.integer({ min: 1, max: 2 }),
      fc.array(node, { maxLength: 3 }),
    )
    .map(([t, p, e]) => new AddService(t, p, e)),
  fc.nat().map((i) => new RemoveService(i)),
  fc
    .tuple(
      fc.nat(),
      fc.constantFrom<'add' | 'remove' | EpState>('add', 'remove', 'ready', 'terminating', 'notready'),
      node,
    )
    .map(([i, op, n]) => new ChangeEndpoints(i, op, n)),
  fc
    .tuple(
      fc.nat(),
      fc.constantFrom<'etp' | 'itp' | 'affinity' | Svc['type']>(
        'etp',
        'itp',
        'affinity',
        'ClusterIP',
        'NodePort',
        'LoadBalancer',
      ),
    )
    .map(([i, w]) => new ChangePolicy(i, w)),
  fc.constant(new MoveNode()),
  fc.constant(new Resync()),
];

describe('incremental syncs equal a full resync', () => {
  it('iptables partial restores and IPVS commands, over random change sequences', () => {
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 12 }), (cmds) => {
        const model: Model = { services: [], nextId: 0, node1IP: '192.168.0.2' };
        const real: Real = { kernel: newKernel() };
        sync(real.kernel, model, false);
        fc.modelRun(() => ({ model, real }), cmds);
        // Whatever happened, a final quiet resync sends nothing, and every endpoint is reachable.
        sync(real.kernel, model, true);
        checkReachability(model);
      }),
      { numRuns: RUNS, ...(process.env.KNETSIM_PROP_SEED ? { seed: Number(process.env.KNETSIM_PROP_SEED) } : {}) },
    );
  });
});
