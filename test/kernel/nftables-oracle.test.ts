// The real kernel as the oracle for knetsim's nftables: kube-proxy's nft
// transaction (the first sync's, with its flushes and deletes), as knetsim
// generates it, loaded with `nft -f` into a fresh network namespace; the kernel's
// `nft list ruleset` must be knetsim's own `nft-list` rendering, and must parse
// back into the same ruleset. Hash sets list their elements in hash order and
// nft wraps long element lists, so element lists are compared as sorted lines.
// Needs root and nft; KNETSIM_KERNEL=required makes their absence a failure,
// KNETSIM_KERNEL=off skips.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildScenarioNode, type ScenarioNode } from '../../src/engine';
import { deleteStaleChains, partialNftablesSync, proxierSettings, trackServiceChanges } from '../../src/kube-proxy';
import { loadScenario } from '../../src/model';
import { dumpNftTransaction, formatNftList, parseNftList } from '../../src/nftables';
import { clusterYaml, serviceYaml } from '../helpers/scenario';
import { kernelGate } from './kernel-gate';
import { Namespaces, removeStale, run } from './netns';
import { scenarioArb } from './random-scenarios';

// This suite needs only ip and nft (not the iptables tools the other oracles drive).
const why = kernelGate('nftables kernel tests', ['ip', 'nft']);

const EXAMPLES = join(__dirname, '..', '..', '..', 'shared', 'examples', 'kube-proxy');

/** nft's listing with each element list on one line, sorted, and `# handle` notes dropped. */
function normaliseListing(text: string): string[] {
  const lines: string[] = [];
  const raw = text.split('\n');
  for (let i = 0; i < raw.length; i++) {
    let line = raw[i]!.replace(/\s+# handle \d+$/, '');
    if (/^\s*elements = \{/.test(line)) {
      while (!line.trimEnd().endsWith('}') && i + 1 < raw.length) line += ` ${raw[++i]!.trim()}`;
      const m = /^(\s*elements = \{ )(.*)( \})\s*$/.exec(line)!;
      line = `${m[1]}${m[2]!
        .split(/,\s+/)
        .map((e) => e.trim())
        .sort()
        .join(', ')}${m[3]}`;
    }
    lines.push(line);
  }
  return lines;
}

/** A listing with its sets and chains in name order (a from-scratch dump creates them in that order). */
function byName(text: string): string[] {
  const parsed = parseNftList(text);
  if (!parsed.ok) throw new Error(parsed.message);
  for (const t of parsed.value.tables.values())
    for (const m of [t.chains, t.sets] as Map<string, unknown>[]) {
      const sorted = [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      m.clear();
      for (const [k, v] of sorted) m.set(k, v);
    }
  return normaliseListing(formatNftList(parsed.value));
}

interface Case {
  readonly name: string;
  readonly yaml: string;
  readonly node: string;
}

const SYNTHETIC: Case[] = [
  {
    name: 'every Service feature, nodePortAddresses empty',
    node: 'node-1',
    yaml:
      clusterYaml({ masqueradeAll: true }).replace('mode: iptables', 'mode: nftables') +
      serviceYaml({
        name: 'lb',
        type: 'LoadBalancer',
        clusterIP: '10.96.0.11',
        nodePort: 30090,
        extra:
          '  externalTrafficPolicy: Local\n  loadBalancerSourceRanges: [203.0.113.0/25, 192.168.0.0/24]\n  sessionAffinity: ClientIP\n  externalIPs: [192.0.2.9]',
        status: 'status: {loadBalancer: {ingress: [{ip: 198.51.100.9}]}}',
        endpoints: [
          { ip: '10.244.1.7', node: 'node-1' },
          { ip: '10.244.2.7', node: 'node-2' },
        ],
      }) +
      serviceYaml({ name: 'empty', type: 'NodePort', nodePort: 30091, clusterIP: '10.96.0.12', endpoints: [] }) +
      serviceYaml({
        name: 'itp',
        clusterIP: '10.96.0.13',
        protocol: 'UDP',
        extra: '  internalTrafficPolicy: Local',
        endpoints: [{ ip: '10.244.2.8', node: 'node-2' }],
      }),
  },
];

function referenceCases(): Case[] {
  return ['nftables-TestOverallNFTablesRules.yaml', 'nftables-TestClusterIPGeneral.yaml'].map((f) => ({
    name: f,
    yaml: readFileSync(join(EXAMPLES, f), 'utf8'),
    node: 'test-node',
  }));
}

function randomCases(): Case[] {
  const runs = Number(process.env.KNETSIM_KERNEL_RUNS ?? 20);
  return fc.sample(scenarioArb, { numRuns: runs, seed: 9 }).map((yaml, i) => ({
    name: `random scenario ${i}`,
    yaml: yaml.replace(/mode: \w+/, 'mode: nftables'),
    node: 'node-1',
  }));
}

describe.skipIf(why !== null)('nftables: the kernel agrees with knetsim', () => {
  const ns = new Namespaces();
  beforeAll(() => removeStale());
  afterAll(() => ns.cleanup());

  for (const c of [...referenceCases(), ...SYNTHETIC, ...randomCases()]) {
    it(`${c.name}: nft -f loads kube-proxy's transaction and nft list ruleset is knetsim's nft-list`, () => {
      const loaded = loadScenario(c.yaml, `${c.name}.yaml`);
      if (!loaded.ok) throw new Error(loaded.issues.map((i) => i.message).join('\n'));
      const built = buildScenarioNode(loaded.scenario, c.node);
      if (!built.ok || !built.value.nft) throw new Error(built.ok ? 'not in nftables mode' : built.message);
      const { transaction, ruleset } = built.value.nft;
      const name = ns.create('nft');
      try {
        const load = run('ip', ['netns', 'exec', name, 'nft', '-f', '-'], transaction);
        expect(load.stderr).toBe('');
        expect(load.status).toBe(0);
        const listed = run('ip', ['netns', 'exec', name, 'nft', 'list', 'ruleset']).stdout;
        expect(normaliseListing(listed)).toEqual(normaliseListing(formatNftList(ruleset)));
        const parsed = parseNftList(listed);
        if (!parsed.ok) throw new Error(parsed.message);
        expect(normaliseListing(formatNftList(parsed.value))).toEqual(normaliseListing(formatNftList(ruleset)));
        // The state as a from-scratch transaction (rules --format nft) loads to the same listing.
        run('ip', ['netns', 'exec', name, 'nft', 'flush', 'ruleset']);
        const again = run('ip', ['netns', 'exec', name, 'nft', '-f', '-'], dumpNftTransaction(ruleset));
        expect(again.stderr).toBe('');
        const relisted = run('ip', ['netns', 'exec', name, 'nft', 'list', 'ruleset']).stdout;
        expect(byName(relisted)).toEqual(byName(listed));
      } finally {
        run('ip', ['netns', 'del', name]);
      }
    });
  }
});

function nftNode(yaml: string): ScenarioNode {
  const loaded = loadScenario(yaml, 'random.yaml');
  if (!loaded.ok) throw new Error(loaded.issues.map((i) => i.message).join('\n'));
  const built = buildScenarioNode(loaded.scenario, 'node-1');
  if (!built.ok || !built.value.nft) throw new Error(built.ok ? 'not in nftables mode' : built.message);
  return built.value;
}

describe.skipIf(why !== null)('nftables: a later sync in the kernel', () => {
  const ns = new Namespaces();
  beforeAll(() => removeStale());
  afterAll(() => ns.cleanup());
  const runs = Math.max(4, Math.floor(Number(process.env.KNETSIM_KERNEL_RUNS ?? 20) / 2));
  const pairs = fc
    .sample(fc.tuple(scenarioArb, scenarioArb), { numRuns: runs, seed: 13 })
    .map(([a, b]) => [a, b].map((y) => y.replace(/mode: \w+/, 'mode: nftables')) as [string, string]);
  pairs.forEach(([aYaml, bYaml], i) => {
    it(`random change ${i}: the first sync of A, then the partial sync to B, leave what B's first sync leaves`, () => {
      const a = nftNode(aYaml);
      const b = nftNode(bYaml);
      const scenario = loadScenario(bYaml, 'b.yaml');
      if (!scenario.ok) throw new Error('b.yaml');
      const sync = partialNftablesSync(
        b.localState,
        proxierSettings(scenario.scenario.cluster, b.localState.node),
        [scenario.scenario.cluster.serviceCIDR],
        trackServiceChanges(a.localState, b.localState),
        a.nft!.ruleset,
      );
      const name = ns.create('nftsync');
      try {
        for (const [what, text] of [
          ['first sync of A', a.nft!.transaction],
          ['partial sync to B', sync.transaction],
          ['stale chains deleted', deleteStaleChains(sync.staleChains)],
        ] as const) {
          if (!text) continue;
          const r = run('ip', ['netns', 'exec', name, 'nft', '-f', '-'], text);
          expect(`${what}: ${r.stderr}`).toBe(`${what}: `);
        }
        const listed = run('ip', ['netns', 'exec', name, 'nft', 'list', 'ruleset']).stdout;
        expect(byName(listed)).toEqual(byName(formatNftList(b.nft!.ruleset)));
      } finally {
        run('ip', ['netns', 'del', name]);
      }
    });
  });
});
