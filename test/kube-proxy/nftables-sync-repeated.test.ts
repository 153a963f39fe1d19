// kube-proxy nftables mode over a sequence of syncs, as kube-proxy's own
// TestSyncProxyRulesRepeated drives it: after each sync the table holds what a first
// sync of the same objects holds plus the service chains it flushed and has not deleted
// yet, and each transaction has as many commands as the Go test counts.
import { describe, expect, it } from 'vitest';
import { buildScenarioNode } from '../../src/engine';
import { nftablesStep, proxierSettings, type SyncInput, trackServiceChanges } from '../../src/kube-proxy';
import type { NodeLocalState } from '../../src/model';
import { emptyRuleset, loadNftTransaction, type NftRuleset } from '../../src/nftables';
import { normalisedNft } from '../helpers/nft-normalise';
import { scenarioOf } from '../helpers/scenario';

// NewFakeProxier's node and settings.
const HEADER = `apiVersion: knetsim.io/v1alpha1
kind: Cluster
metadata: {name: repeated}
spec:
  clusterCIDR: 10.0.0.0/8
  serviceCIDR: 172.30.0.0/16
  proxy: {mode: nftables, localDetector: ClusterCIDR, nodePortAddresses: [192.168.0.2/32]}
---
apiVersion: v1
kind: Node
metadata: {name: test-node}
status:
  addresses: [{type: InternalIP, address: 192.168.0.2}]
`;

const SERVICES = {
  svc1: { ns: 'ns1', ip: '172.30.0.41', port: 80, portName: 'p80' },
  svc2: { ns: 'ns2', ip: '172.30.0.42', port: 8080, portName: 'p8080' },
  svc3: { ns: 'ns3', ip: '172.30.0.43', port: 80, portName: 'p80' },
  svc4: { ns: 'ns4', ip: '172.30.0.44', port: 80, portName: 'p80' },
} as const;
type Name = keyof typeof SERVICES;

/** The Services present, each with its endpoint IPs (null: no EndpointSlice at all). */
function scenarioYaml(state: Partial<Record<Name, readonly string[] | null>>): string {
  let yaml = HEADER;
  for (const [name, eps] of Object.entries(state) as [Name, readonly string[] | null][]) {
    const s = SERVICES[name];
    yaml += `---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${s.ns}}
spec:
  clusterIP: ${s.ip}
  ports: [{name: ${s.portName}, port: ${s.port}, protocol: TCP}]
`;
    if (eps !== null)
      yaml += `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-1, namespace: ${s.ns}, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
endpoints: [${eps.map((ip) => `{addresses: [${ip}]}`).join(', ')}]
ports: [{name: ${s.portName}, port: ${s.port}, protocol: TCP}]
`;
  }
  return yaml;
}

function nodeState(yaml: string): { input: SyncInput; fresh: NftRuleset } {
  const scenario = scenarioOf(yaml);
  const built = buildScenarioNode(scenario, 'test-node');
  if (!built.ok || !built.value.nft) throw new Error(built.ok ? 'not nftables' : built.message);
  const state: NodeLocalState = built.value.localState;
  return {
    input: {
      state,
      settings: proxierSettings(scenario.cluster, state.node),
      scheduler: 'rr',
      serviceCIDRs: [scenario.cluster.serviceCIDR],
    },
    fresh: built.value.nft.ruleset,
  };
}

/** Replays syncs, one kube-proxy process: the kernel's ruleset and the chains flushed but not deleted. */
class Proxier {
  ruleset: NftRuleset = emptyRuleset();
  pendingStale: readonly string[] = [];
  previous: NodeLocalState | undefined;

  /** One sync; the number of commands in its main transaction (stale chains are deleted in another). */
  sync(yaml: string): { operations: number; fresh: NftRuleset } {
    const { input, fresh } = nodeState(yaml);
    const changes = trackServiceChanges(this.previous, input.state);
    const done = nftablesStep(this.ruleset, input, changes, this.pendingStale);
    this.ruleset = done.ruleset;
    this.pendingStale = done.step.staleChains;
    this.previous = input.state;
    const operations = done.step.transaction.split('\n').filter(Boolean).length;
    return { operations, fresh };
  }

  /** The table is a first sync's of the same objects plus these flushed, empty chains. */
  expectHolds(fresh: NftRuleset, staleChains: readonly string[]): void {
    const want = [...normalisedNft(fresh), ...staleChains.map((c) => `add chain ip kube-proxy ${c}`)];
    expect(normalisedNft(this.ruleset)).toEqual(normalisedNft(rulesetOf(want)));
    expect([...this.pendingStale].sort()).toEqual([...staleChains].sort());
  }
}

function rulesetOf(lines: readonly string[]): NftRuleset {
  // Chains before the rules that use them: the dump's own order.
  const sorted = [...lines].sort((a, b) => rank(a) - rank(b));
  const r = loadNftTransaction(`${sorted.join('\n')}\n`, 'expected', emptyRuleset());
  if (!r.ok) throw new Error(r.message);
  return r.value.ruleset;
}
const rank = (l: string) => ['table', 'set', 'map', 'chain', 'rule', 'element'].indexOf(l.split(' ')[1]!);

const SVC2 = 'service-MHHHYRWA-ns2/svc2/tcp/p8080';
const EP2 = 'endpoint-7RVP4LUQ-ns2/svc2/tcp/p8080__10.0.2.1/8080';
const SVC3 = 'service-4AT6LBPK-ns3/svc3/tcp/p80';
const EP31 = 'endpoint-2OCDJSZQ-ns3/svc3/tcp/p80__10.0.3.1/80';
const EP32 = 'endpoint-SWWHDC7X-ns3/svc3/tcp/p80__10.0.3.2/80';
const EP33 = 'endpoint-TQ2QKHCZ-ns3/svc3/tcp/p80__10.0.3.3/80';

describe("TestSyncProxyRulesRepeated's sequence", () => {
  it('leaves the same table and sends as many commands as kube-proxy does at every step', () => {
    const p = new Proxier();
    const s1 = ['10.0.1.1'];
    const s4 = ['10.0.4.1'];

    let r = p.sync(scenarioYaml({ svc1: s1, svc2: ['10.0.2.1'] }));
    p.expectHolds(r.fresh, []);

    r = p.sync(scenarioYaml({ svc1: s1, svc2: ['10.0.2.1'], svc3: ['10.0.3.1'] }));
    p.expectHolds(r.fresh, []);
    expect(r.operations).toBe(10);

    // A deleted Service's chains are flushed, not deleted yet.
    r = p.sync(scenarioYaml({ svc1: s1, svc3: ['10.0.3.1'] }));
    p.expectHolds(r.fresh, [SVC2, EP2]);
    expect(r.operations).toBe(4);

    // The next sync deletes them, in a transaction of its own.
    r = p.sync(scenarioYaml({ svc1: s1, svc3: ['10.0.3.1'] }));
    p.expectHolds(r.fresh, []);
    expect(r.operations).toBe(0);

    r = p.sync(scenarioYaml({ svc1: s1, svc3: ['10.0.3.1'], svc4: null }));
    p.expectHolds(r.fresh, []);
    expect(r.operations).toBe(2);

    r = p.sync(scenarioYaml({ svc1: s1, svc3: ['10.0.3.1'], svc4: s4 }));
    p.expectHolds(r.fresh, []);
    expect(r.operations).toBe(10);

    // A changed endpoint: the old endpoint's chain is flushed.
    r = p.sync(scenarioYaml({ svc1: s1, svc3: ['10.0.3.2'], svc4: s4 }));
    p.expectHolds(r.fresh, [EP31]);
    expect(r.operations).toBe(9);

    const both = ['10.0.3.2', '10.0.3.3'];
    r = p.sync(scenarioYaml({ svc1: s1, svc3: both, svc4: s4 }));
    p.expectHolds(r.fresh, []);
    expect(r.operations).toBe(12);

    // Endpoints emptied: the Service's chains are flushed...
    r = p.sync(scenarioYaml({ svc1: s1, svc3: [], svc4: s4 }));
    p.expectHolds(r.fresh, [SVC3, EP32, EP33]);
    expect(r.operations).toBe(5);

    // ...and written again when they come back at once, no longer stale.
    r = p.sync(scenarioYaml({ svc1: s1, svc3: both, svc4: s4 }));
    p.expectHolds(r.fresh, []);
    expect(r.operations).toBe(14);

    // Emptied, then back after the stale chains aged: deleted first, then re-created.
    p.sync(scenarioYaml({ svc1: s1, svc3: [], svc4: s4 }));
    r = p.sync(scenarioYaml({ svc1: s1, svc3: both, svc4: s4 }));
    p.expectHolds(r.fresh, []);

    r = p.sync(scenarioYaml({ svc1: s1, svc3: both, svc4: s4 }));
    p.expectHolds(r.fresh, []);
    expect(r.operations).toBe(0);
  });
});
