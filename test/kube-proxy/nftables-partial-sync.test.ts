// kube-proxy nftables mode's later syncs: applied to the kernel's ruleset after the
// previous sync, a partial sync (and the next sync's deletion of the chains it
// flushed) leaves exactly what a first sync of the new objects gives; unchanged
// Services' chains are not rewritten; a sync without changes sends no rule.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildScenarioNode, type ScenarioNode } from '../../src/engine';
import {
  deleteStaleChains,
  partialNftablesSync,
  proxierSettings,
  servicePortNameBase,
  trackServiceChanges,
} from '../../src/kube-proxy';
import { loadNftTransaction, type NftRuleset } from '../../src/nftables';
import { normalisedNft } from '../helpers/nft-normalise';
import { scenarioOf } from '../helpers/scenario';
import { scenarioArb } from '../kernel/random-scenarios';

const nftArb = scenarioArb.map((yaml) => yaml.replace(/mode: \w+/, 'mode: nftables'));

function built(yaml: string): ScenarioNode {
  const r = buildScenarioNode(scenarioOf(yaml), 'node-1');
  if (!r.ok || !r.value.nft) throw new Error(r.ok ? 'not nftables' : r.message);
  return r.value;
}

function apply(text: string, base: NftRuleset, what: string): NftRuleset {
  const r = loadNftTransaction(text, what, base);
  if (!r.ok) throw new Error(`${r.message}\n${text}`);
  return r.value.ruleset;
}

function step(a: ScenarioNode, bYaml: string, full = false) {
  const b = built(bYaml);
  const scenario = scenarioOf(bYaml);
  const settings = proxierSettings(scenario.cluster, b.localState.node);
  const changes = full
    ? { changed: new Set<string>(), fullSync: true }
    : trackServiceChanges(a.localState, b.localState);
  const sync = partialNftablesSync(b.localState, settings, [scenario.cluster.serviceCIDR], changes, a.nft!.ruleset);
  const after = apply(
    deleteStaleChains(sync.staleChains),
    apply(sync.transaction, a.nft!.ruleset, 'partial'),
    'cleanup',
  );
  return { b, sync, changes, after };
}

describe('nftables partial sync', () => {
  it('applied to the previous state, equals a first sync of the new objects', () => {
    fc.assert(
      fc.property(nftArb, nftArb, (aYaml, bYaml) => {
        const { b, after } = step(built(aYaml), bYaml);
        expect(normalisedNft(after)).toEqual(normalisedNft(b.nft!.ruleset));
      }),
      { numRuns: 40, seed: 7 },
    );
  });
  it('a full resync over an existing table equals it too', () => {
    fc.assert(
      fc.property(nftArb, nftArb, (aYaml, bYaml) => {
        const { b, after } = step(built(aYaml), bYaml, true);
        expect(normalisedNft(after)).toEqual(normalisedNft(b.nft!.ruleset));
      }),
      { numRuns: 15, seed: 8 },
    );
  });
  it("leaves unchanged Services' chains alone, and sends no rule when nothing changed", () => {
    fc.assert(
      fc.property(nftArb, nftArb, (aYaml, bYaml) => {
        const a = built(aYaml);
        const { b, sync, changes } = step(a, bYaml);
        for (const svc of b.localState.servicePorts) {
          const key = `${svc.namespace}/${svc.serviceName}`;
          if (changes.changed.has(key)) continue;
          expect(sync.transaction).not.toContain(`/${servicePortNameBase(svc).split('/').slice(1).join('/')}`);
        }
        const same = step(a, aYaml);
        expect(same.sync.transaction).toBe('');
      }),
      { numRuns: 25, seed: 9 },
    );
  });
});
