// The real kernel as the oracle for kube-proxy's partial iptables syncs: in one
// network namespace, the node's start-up rules, A's full sync, then the partial
// restore that takes it to B (unchanged Services' chains left out, stale chains
// flushed and deleted); in another, B's full sync. `iptables-save` of the two must
// hold the same chains with the same rules. Pairs (A, B) are seeded random
// scenarios where B keeps some of A's Services as they were, changes others, and
// drops or adds some. Needs root and iptables; KNETSIM_KERNEL=required makes their
// absence a failure, KNETSIM_KERNEL=off skips.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodePrelude, partialIptablesSync, proxierSettings, trackServiceChanges } from '../../src/kube-proxy';
import { loadScenario, nodeLocalState } from '../../src/model';
import { kernelGate } from './kernel-gate';
import { inNs, Namespaces, removeStale } from './netns';
import { type RandomService, scenarioYamlOf, serviceArb } from './random-scenarios';

const why = kernelGate('partial-sync kernel tests');

/** A and B: B keeps each of A's Services (kept), replaces it, and may drop the last ones or add more. */
const pairArb = fc
  .tuple(
    fc.array(fc.tuple(serviceArb, fc.boolean(), serviceArb), { minLength: 1, maxLength: 5 }),
    fc.integer({ min: 0, max: 2 }),
    fc.array(serviceArb, { maxLength: 2 }),
  )
  .map(([triples, dropped, added]) => {
    const a: RandomService[] = triples.map(([s]) => s);
    const b: RandomService[] = triples.map(([s, kept, other]) => (kept ? s : other));
    return { a, b: [...b.slice(0, Math.max(0, b.length - dropped)), ...added] };
  });

function local(services: readonly RandomService[]) {
  const r = loadScenario(scenarioYamlOf(services, 'iptables'), 'pair.yaml');
  if (!r.ok) throw new Error(r.issues.map((i) => i.message).join('\n'));
  const state = nodeLocalState(r.scenario, 'node-1', 'IPv4');
  return { state, settings: proxierSettings(r.scenario.cluster, state.node) };
}

/** iptables-save without counters or comments, chains sorted by name, each with its rules in order. */
function canonicalSave(text: string): string[] {
  const out: string[] = [];
  let table = '';
  const chains = new Map<string, string[]>();
  const flush = () => {
    for (const [c, rules] of [...chains].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      out.push(`${table} ${c}`, ...rules);
    chains.clear();
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    if (line.startsWith('*')) {
      flush();
      table = line;
    } else if (line.startsWith(':'))
      chains.set(line.slice(1).split(' ')[0]!, chains.get(line.slice(1).split(' ')[0]!) ?? []);
    else if (line.startsWith('-A ')) {
      const chain = line.split(' ')[1]!;
      chains.set(chain, [...(chains.get(chain) ?? []), line]);
    }
  }
  flush();
  return out;
}

/** A namespace with the node's start-up rules and the nfacct counters kube-proxy's rules name. */
function node(ns: Namespaces, role: string, restores: readonly string[]): string {
  const n = ns.create(role);
  for (const name of new Set(restores.flatMap((r) => [...r.matchAll(/--nfacct-name (\S+)/g)].map((m) => m[1]!))))
    inNs(n, 'nfacct', ['add', name]);
  inNs(n, 'iptables-restore', ['--noflush'], nodePrelude());
  return n;
}

describe.skipIf(why !== null)('partial iptables syncs on the real kernel', () => {
  const ns = new Namespaces();
  beforeAll(() => removeStale());
  afterAll(() => ns.cleanup());

  const pairs = fc.sample(pairArb, { seed: 20261207, numRuns: 12 });
  for (const [i, pair] of pairs.entries())
    it(`pair ${i + 1}: A (${pair.a.length} Services) then B (${pair.b.length}) equals B loaded whole`, () => {
      const a = local(pair.a);
      const b = local(pair.b);
      const first = partialIptablesSync(a.state, a.settings, trackServiceChanges(undefined, a.state), new Set());
      const partial = partialIptablesSync(b.state, b.settings, trackServiceChanges(a.state, b.state), first.active);
      const whole = partialIptablesSync(b.state, b.settings, trackServiceChanges(undefined, b.state), new Set());

      const stepwise = node(ns, 'ps', [first.restore, partial.restore]);
      inNs(stepwise, 'iptables-restore', ['--noflush', '--counters'], first.restore);
      inNs(stepwise, 'iptables-restore', ['--noflush', '--counters'], partial.restore);
      const direct = node(ns, 'pw', [whole.restore]);
      inNs(direct, 'iptables-restore', ['--noflush', '--counters'], whole.restore);

      expect(canonicalSave(inNs(stepwise, 'iptables-save', []))).toEqual(
        canonicalSave(inNs(direct, 'iptables-save', [])),
      );
    });
});
