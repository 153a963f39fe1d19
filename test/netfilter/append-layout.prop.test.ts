// A block the parser found plain (declarations and appends, as iptables-save
// and kube-proxy write them) is applied from its layout; that must give exactly
// what applying it statement by statement gives: the same chains in the same
// order, the same rules, and the same error when the commit checks fail. Random
// scripts of one to three nat and filter blocks over a few chain names (shared
// between the tables), onto a fresh state or one that already has rules and
// chains (--noflush), with the odd line that makes a block not plain.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyRestoreScript,
  compileRuleset,
  emptyNetfilterState,
  type NetfilterState,
  parseRestoreScript,
  prepareAllChains,
  type RestoreScript,
} from '../../src/netfilter';

type Table = 'nat' | 'filter';

const USER_CHAINS = ['C0', 'C1', 'C2', 'KUBE-SERVICES', 'KUBE-MARK-MASQ'];
const BUILTINS: Record<Table, readonly string[]> = {
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};
/** Targets that work at some hooks only (DNAT, MASQUERADE, REJECT's table limits) and anywhere. */
const TARGETS: Record<Table, readonly string[]> = {
  nat: [
    ' -p tcp -j DNAT --to-destination 10.244.1.5:80',
    ' -j MASQUERADE',
    ' -j SNAT --to-source 192.168.0.2',
    ' -j MARK --set-xmark 0x4000/0x4000',
  ],
  filter: [' -j REJECT', ' -j DROP', ' -j MARK --set-xmark 0x4000/0x4000', ' -m owner --uid-owner 0 -j ACCEPT'],
};

/** -A CHAIN with a rule, most often a plain one. */
function appendArb(table: Table): fc.Arbitrary<string> {
  return fc
    .record({
      chain: fc.constantFrom(...USER_CHAINS, ...BUILTINS[table]),
      src: fc.constantFrom('', '', ' -s 10.244.1.5/32', ' -s 10.244.1.5,10.244.1.6', ' ! -d 10.96.0.1/32'),
      target: fc.constantFrom(
        ...USER_CHAINS.map((c) => ` -j ${c}`),
        ' -g C1',
        ' -j OUTPUT',
        ' -j MISSING',
        ' -j ACCEPT',
        ' -j RETURN',
        '',
        ...TARGETS[table],
      ),
    })
    .map((r) => `-A ${r.chain}${r.src} -m comment --comment "r"${r.target}`);
}

/** One line of a block, any kind. */
function lineArb(table: Table): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...USER_CHAINS).map((c) => `:${c} - [0:0]`) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...BUILTINS[table]), fc.constantFrom('ACCEPT', 'DROP', 'ACCEPT [3:180]', 'QUEUE'))
        .map(([c, p]) => `:${c} ${p}`),
    },
    { weight: 8, arbitrary: appendArb(table) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '-I C0 -j ACCEPT',
        '-N C3',
        '-F C1',
        '-X C2',
        '-E C3 C4',
        '# a comment',
        '-D C0 -j ACCEPT',
        '-A C3 -j ACCEPT',
        '[5:300] -A C0 -j RETURN',
        '--append C1 -j RETURN',
      ),
    },
  );
}

/**
 * An append a dump would have: to a built-in chain or one of `declared`, jumping forward along
 * `declared` (no loops) or to a target that works anywhere.
 */
function dumpAppendArb(table: Table, declared: readonly string[]): fc.Arbitrary<string> {
  return fc
    .record({
      from: fc.integer({ min: -BUILTINS[table].length, max: declared.length - 1 }),
      to: fc.integer({ min: 0, max: declared.length + 2 }),
      src: fc.constantFrom('', '', ' -s 10.244.1.5/32', ' ! -d 10.96.0.1/32'),
    })
    .map(({ from, to, src }) => {
      const chain = from < 0 ? BUILTINS[table][-from - 1]! : declared[from]!;
      const target =
        to < declared.length
          ? from < to
            ? ` -j ${declared[to]}`
            : ' -j RETURN'
          : ([' -j ACCEPT', '', ' -j MARK --set-xmark 0x1/0x1'][to - declared.length] ?? '');
      return `-A ${chain}${src}${target}`;
    });
}

/** A dump's shape: user chains declared first, then lines that are mostly appends a dump would have (now and then any line). */
function dumpArb(table: Table): fc.Arbitrary<string[]> {
  return fc
    .shuffledSubarray(USER_CHAINS, { minLength: 1 })
    .chain((declared) =>
      fc
        .array(
          fc.oneof(
            { weight: 16, arbitrary: dumpAppendArb(table, declared) },
            { weight: 2, arbitrary: appendArb(table) },
            { weight: 1, arbitrary: lineArb(table) },
          ),
          { maxLength: 24 },
        )
        .map((lines) => [...declared.map((c) => `:${c} - [0:0]`), ...lines]),
    );
}

const blockArb: fc.Arbitrary<string[]> = fc
  .constantFrom<Table>('nat', 'filter')
  .chain((table) =>
    fc
      .oneof(fc.array(lineArb(table), { minLength: 1, maxLength: 24 }), dumpArb(table))
      .map((lines) => [`*${table}`, ...lines, 'COMMIT']),
  );

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
  '*filter',
  ':C1 - [0:0]',
  ':C2 - [0:0]',
  '-A C1 -j C2',
  '-A FORWARD -j C1',
  '-A OUTPUT -j C2',
  'COMMIT',
  '',
].join('\n');

function preludeState(): NetfilterState {
  const prelude = parseRestoreScript(PRELUDE);
  if (!prelude.ok) throw new Error(prelude.error.message);
  const r = applyRestoreScript(emptyNetfilterState(), prelude.script, { noflush: true });
  if (!r.ok) throw new Error(r.error.message);
  return r.state;
}

/** Applies the script both ways onto `base` and expects the same outcome; says whether it loaded. */
function expectSameBothWays(script: RestoreScript, base: NetfilterState, noflush: boolean): boolean {
  const fast = applyRestoreScript(base, script, { noflush });
  const slow = applyRestoreScript(base, withoutLayouts(script), { noflush });
  if (fast.ok && slow.ok) {
    expect(tablesOf(fast.state)).toEqual(tablesOf(slow.state));
    // Each chain knows its place (compiling numbers chains by it): made, deleted and renamed ones too.
    for (const t of fast.state.tables.values())
      expect([...t.chains.values()].map((c) => c.index)).toEqual([...t.chains.keys()].map((_, i) => i));
    prepareAllChains(compileRuleset(fast.state));
    return true;
  }
  expect(fast).toEqual(slow);
  return false;
}

describe('applying a plain block from its layout', () => {
  it('gives what applying it statement by statement gives', () => {
    let plainBlocks = 0;
    let applied = 0;
    const prelude = preludeState();
    fc.assert(
      fc.property(
        fc.array(blockArb, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        fc.boolean(),
        (blocks, onPrelude, noflush) => {
          const parsed = parseRestoreScript([...blocks.flat(), ''].join('\n'));
          if (!parsed.ok) return;
          const plain = parsed.script.blocks.filter((b) => b.kind === 'table' && b.layout).length;
          plainBlocks += plain;
          if (expectSameBothWays(parsed.script, onPrelude ? prelude : emptyNetfilterState(), noflush) && plain > 0)
            applied++;
        },
      ),
      { numRuns: 1500 },
    );
    // The generator must reach both paths, and scripts with a plain block that load (the rest end in errors, compared too).
    expect(plainBlocks).toBeGreaterThan(600);
    expect(applied).toBeGreaterThan(150);
  });

  it('checks the rules a table already had with the appended ones', () => {
    const before = preludeState();
    // OUTPUT already jumps to C2; C2, declared again, now masquerades, which works only in POSTROUTING.
    const script = parseRestoreScript(['*nat', ':C2 - [0:0]', '-A C2 -j MASQUERADE', 'COMMIT', ''].join('\n'));
    if (!script.ok) throw new Error(script.error.message);
    expect(script.script.blocks[0]?.kind === 'table' && script.script.blocks[0].layout).toBeTruthy();
    expectSameBothWays(script.script, before, true);
    expect(applyRestoreScript(before, script.script, { noflush: true })).toEqual({
      ok: false,
      error: {
        line: 3,
        message: 'MASQUERADE target in chain C2 is reached from OUTPUT, but works only in POSTROUTING',
      },
    });
  });

  it('leaves a block with a target whose hooks depend on its options to the statement-by-statement checks', () => {
    // TCPMSS --clamp-mss-to-pmtu needs the route out: the kernel refuses it in PREROUTING, plain --set-mss it takes.
    const script = (target: string) =>
      parseRestoreScript(
        [
          '*mangle',
          ':C0 - [0:0]',
          '-A PREROUTING -j C0',
          `-A C0 -p tcp -m tcp --tcp-flags SYN,RST SYN ${target}`,
          'COMMIT',
          '',
        ].join('\n'),
      );
    const clamp = script('-j TCPMSS --clamp-mss-to-pmtu');
    const set = script('-j TCPMSS --set-mss 1400');
    if (!clamp.ok || !set.ok) throw new Error('did not parse');
    for (const noflush of [true, false]) {
      expect(expectSameBothWays(clamp.script, emptyNetfilterState(), noflush)).toBe(false);
      expect(expectSameBothWays(set.script, emptyNetfilterState(), noflush)).toBe(true);
    }
  });

  it('builds a large block as statement by statement does (kube-proxy order, rules of a chain scattered)', () => {
    // 400 services: KUBE-SERVICES gets a rule between each service's own chains, as kube-proxy writes them.
    const lines = ['*nat', ':KUBE-SERVICES - [0:0]', ':KUBE-MARK-MASQ - [0:0]'];
    const rules: string[] = ['-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000'];
    for (let s = 0; s < 400; s++) {
      lines.push(`:KUBE-SVC-${s} - [0:0]`);
      rules.push(`-A KUBE-SERVICES -d 10.96.${s >> 8}.${s & 255}/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-${s}`);
      for (let e = 0; e < 3; e++) {
        lines.push(`:KUBE-SEP-${s}-${e} - [0:0]`);
        rules.push(`-A KUBE-SVC-${s} -m statistic --mode random --probability 0.5 -j KUBE-SEP-${s}-${e}`);
        rules.push(`-A KUBE-SEP-${s}-${e} -s 10.244.${s >> 8}.${e} -j KUBE-MARK-MASQ`);
        rules.push(`-A KUBE-SEP-${s}-${e} -p tcp -m tcp -j DNAT --to-destination 10.244.${s >> 8}.${e}:80`);
      }
    }
    rules.push('-A PREROUTING -j KUBE-SERVICES', '-A OUTPUT -j KUBE-SERVICES');
    const parsed = parseRestoreScript([...lines, ...rules, 'COMMIT', ''].join('\n'));
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(parsed.script.blocks[0]?.kind === 'table' && parsed.script.blocks[0].layout).toBeTruthy();
    for (const base of [emptyNetfilterState(), preludeState()])
      for (const noflush of [true, false]) expect(expectSameBothWays(parsed.script, base, noflush)).toBe(true);
  });

  it('is used for a dump, and not for a block with other commands', () => {
    const dump = parseRestoreScript(
      ['*nat', ':PREROUTING ACCEPT [0:0]', ':C0 - [0:0]', '-A PREROUTING -j C0', '-A C0 -j RETURN', 'COMMIT', ''].join(
        '\n',
      ),
    );
    const edited = parseRestoreScript(['*nat', ':C0 - [0:0]', '-I C0 -j RETURN', 'COMMIT', ''].join('\n'));
    // A chain a rule line names before a declaration (in another table) still gets its layout here.
    const later = parseRestoreScript(
      ['*filter', '-A INPUT -j ACCEPT', 'COMMIT', '*nat', ':Y - [0:0]', '-A Y -j RETURN', 'COMMIT', ''].join('\n'),
    );
    if (!dump.ok || !edited.ok || !later.ok) throw new Error('did not parse');
    const layoutOf = (s: RestoreScript, i = 0) => (s.blocks[i]?.kind === 'table' ? s.blocks[i].layout : undefined);
    expect(layoutOf(dump.script)).toBeDefined();
    expect(layoutOf(edited.script)).toBeUndefined();
    expect(layoutOf(later.script, 1)).toBeDefined();
  });
});
