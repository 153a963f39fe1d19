// A block the parser found plain (declarations and appends, as iptables-save
// and kube-proxy write them) is applied from its layout; that must give exactly
// what applying it statement by statement gives: the same chains in the same
// order, the same rules, and the same error when the commit checks fail. Random
// scripts over a few chains, onto a fresh table or one that already has rules
// and chains (--noflush), with the odd line that makes a block not plain.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyRestoreScript,
  emptyNetfilterState,
  type NetfilterState,
  parseRestoreScript,
  type RestoreScript,
} from '../../src/netfilter';

const USER_CHAINS = ['C0', 'C1', 'C2', 'KUBE-SERVICES', 'KUBE-MARK-MASQ'];
const BUILTINS = ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'];

/** -A CHAIN with a rule, most often a plain one. */
function appendArb(): fc.Arbitrary<string> {
  return fc
    .record({
      chain: fc.constantFrom(...USER_CHAINS, ...BUILTINS),
      src: fc.constantFrom('', ' -s 10.244.1.5/32', ' -s 10.244.1.5,10.244.1.6', ' ! -d 10.96.0.1/32'),
      target: fc.constantFrom(
        ...USER_CHAINS.map((c) => ` -j ${c}`),
        ' -g C1',
        ' -j OUTPUT',
        ' -j MISSING',
        ' -j ACCEPT',
        ' -j RETURN',
        ' -p tcp -j DNAT --to-destination 10.244.1.5:80',
        ' -j MASQUERADE',
        ' -j MARK --set-xmark 0x4000/0x4000',
        '',
      ),
    })
    .map((r) => `-A ${r.chain}${r.src} -m comment --comment "r"${r.target}`);
}

/** One line of a nat block, any kind. */
const lineArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...USER_CHAINS).map((c) => `:${c} - [0:0]`) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...BUILTINS), fc.constantFrom('ACCEPT', 'DROP', 'ACCEPT [3:180]', 'QUEUE'))
      .map(([c, p]) => `:${c} ${p}`),
  },
  { weight: 8, arbitrary: appendArb() },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '-I C0 -j ACCEPT',
      '-N C3',
      '-F C1',
      '-X C2',
      '# a comment',
      '-D C0 -j ACCEPT',
      '-A C3 -j ACCEPT',
      '-A OUTPUT -m owner --uid-owner 0 -j ACCEPT',
    ),
  },
);

/** A dump's shape: user chains declared first, then lines that are mostly appends (now and then one of anything). */
const dumpArb: fc.Arbitrary<string[]> = fc
  .tuple(
    fc.subarray(USER_CHAINS, { minLength: 1 }),
    fc.array(fc.oneof({ weight: 12, arbitrary: appendArb() }, { weight: 1, arbitrary: lineArb }), { maxLength: 24 }),
  )
  .map(([declared, lines]) => [...declared.map((c) => `:${c} - [0:0]`), ...lines]);

/** The same script with its layouts taken away, so every block is applied statement by statement. */
function withoutLayouts(script: RestoreScript): RestoreScript {
  return {
    blocks: script.blocks.map((b) => {
      if (b.kind !== 'table') return b;
      const { layout: _layout, ...rest } = b;
      return rest;
    }),
  };
}

function tablesOf(state: NetfilterState) {
  return [...state.tables].map(([name, t]) => [name, [...t.chains.entries()]]);
}

const PRELUDE = [
  '*nat',
  ':KUBE-SERVICES - [0:0]',
  ':C2 - [0:0]',
  '-A C2 -j RETURN',
  '-I PREROUTING 1 -j KUBE-SERVICES',
  '-A POSTROUTING -j MASQUERADE',
  '-A OUTPUT -j C2',
  'COMMIT',
  '',
].join('\n');

describe('applying a plain block from its layout', () => {
  it('gives what applying it statement by statement gives', () => {
    let plainBlocks = 0;
    let applied = 0;
    fc.assert(
      fc.property(
        fc.oneof(fc.array(lineArb, { minLength: 1, maxLength: 24 }), dumpArb),
        fc.boolean(),
        fc.boolean(),
        (lines, onPrelude, noflush) => {
          const parsed = parseRestoreScript(['*nat', ...lines, 'COMMIT', ''].join('\n'));
          if (!parsed.ok) return;
          let base = emptyNetfilterState();
          if (onPrelude) {
            const prelude = parseRestoreScript(PRELUDE);
            if (!prelude.ok) throw new Error(prelude.error.message);
            const r = applyRestoreScript(base, prelude.script, { noflush: true });
            if (!r.ok) throw new Error(r.error.message);
            base = r.state;
          }
          const block = parsed.script.blocks[0];
          if (block?.kind === 'table' && block.layout) plainBlocks++;
          const fast = applyRestoreScript(base, parsed.script, { noflush });
          const slow = applyRestoreScript(base, withoutLayouts(parsed.script), { noflush });
          if (fast.ok && slow.ok) {
            applied++;
            expect(tablesOf(fast.state)).toEqual(tablesOf(slow.state));
          } else expect(fast).toEqual(slow);
        },
      ),
      { numRuns: 1500 },
    );
    // The generator must reach both paths and scripts that load.
    expect(plainBlocks).toBeGreaterThan(150);
    expect(applied).toBeGreaterThan(150);
  });

  it('checks the rules a table already had with the appended ones', () => {
    const prelude = parseRestoreScript(PRELUDE);
    if (!prelude.ok) throw new Error(prelude.error.message);
    const before = applyRestoreScript(emptyNetfilterState(), prelude.script, { noflush: true });
    if (!before.ok) throw new Error(before.error.message);
    // OUTPUT already jumps to C2; C2, declared again, now masquerades, which works only in POSTROUTING.
    const script = parseRestoreScript(['*nat', ':C2 - [0:0]', '-A C2 -j MASQUERADE', 'COMMIT', ''].join('\n'));
    if (!script.ok) throw new Error(script.error.message);
    expect(script.script.blocks[0]?.kind === 'table' && script.script.blocks[0].layout).toBeTruthy();
    const fast = applyRestoreScript(before.state, script.script, { noflush: true });
    expect(fast).toEqual(applyRestoreScript(before.state, withoutLayouts(script.script), { noflush: true }));
    expect(fast).toEqual({
      ok: false,
      error: {
        line: 3,
        message: 'MASQUERADE target in chain C2 is reached from OUTPUT, but works only in POSTROUTING',
      },
    });
  });

  it('is used for a dump, and not for a block with other commands', () => {
    const dump = parseRestoreScript(
      ['*nat', ':PREROUTING ACCEPT [0:0]', ':C0 - [0:0]', '-A PREROUTING -j C0', '-A C0 -j RETURN', 'COMMIT', ''].join(
        '\n',
      ),
    );
    const edited = parseRestoreScript(['*nat', ':C0 - [0:0]', '-I C0 -j RETURN', 'COMMIT', ''].join('\n'));
    if (!dump.ok || !edited.ok) throw new Error('did not parse');
    const layoutOf = (s: RestoreScript) => (s.blocks[0]?.kind === 'table' ? s.blocks[0].layout : undefined);
    expect(layoutOf(dump.script)).toBeDefined();
    expect(layoutOf(edited.script)).toBeUndefined();
  });
});
