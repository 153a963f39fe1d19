// nftables codecs: the `nft -f` transaction and `nft list ruleset` round-trip,
// the kernel's own listing parses into the same ruleset, and bad input names its line and token.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  dumpNftTransaction,
  formatNftList,
  formatNftTransaction,
  formatPriority,
  loadNftTransaction,
  type NftRuleset,
  parseDuration,
  parseNftList,
  parseNftTransaction,
  parsePriority,
} from '../../src/nftables';

const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name), 'utf8');
const transaction = fixture('kube-proxy-overall.nft');

function loaded(text: string): NftRuleset {
  const r = loadNftTransaction(text, 'test');
  if (!r.ok) throw new Error(r.message);
  return r.value.ruleset;
}

/** The ruleset with every set's elements sorted: the kernel lists hash sets in hash order. */
function canonical(r: NftRuleset): string {
  for (const t of r.tables.values())
    for (const s of t.sets.values()) s.elements.sort((a, b) => (a.key.join() < b.key.join() ? -1 : 1));
  return formatNftList(r);
}

describe('nft -f transaction', () => {
  it('prints back exactly what it parsed', () => {
    const tx = parseNftTransaction(transaction);
    expect(tx.ok).toBe(true);
    if (tx.ok) expect(formatNftTransaction(tx.value)).toBe(transaction);
  });
  it('dumps a ruleset as a transaction that loads into the same ruleset', () => {
    const r = loaded(transaction);
    const again = loaded(dumpNftTransaction(r));
    expect(dumpNftTransaction(again)).toBe(dumpNftTransaction(r));
    expect(dumpNftTransaction(r).split('\n').filter(Boolean).length).toBe(
      transaction.split('\n').filter(Boolean).length,
    );
  });
  it('applies flush and delete as the kernel does', () => {
    const r = loaded(
      [
        'add table ip t',
        'add chain ip t c',
        'add rule ip t c drop',
        'flush chain ip t c',
        'add rule ip t c accept',
        'add set ip t s { type ipv4_addr ; }',
        'add element ip t s { 10.0.0.1 , 10.0.0.2 }',
        'delete element ip t s { 10.0.0.1 }',
        'add set ip t gone { type ipv4_addr ; }',
        'delete set ip t gone',
      ].join('\n'),
    );
    const t = r.tables.get('ip t')!;
    expect(t.chains.get('c')!.rules.map((x) => x.text)).toEqual(['accept']);
    expect(t.sets.get('s')!.elements.map((e) => e.key[0])).toEqual(['10.0.0.2']);
    expect(t.sets.has('gone')).toBe(false);
  });
  it('names the line and the token it does not know', () => {
    const r = parseNftTransaction('add table ip t\nadd chain ip t c\nadd rule ip t c ip daddr 1.2.3.4 frobnicate\n');
    expect(r).toEqual({ ok: false, message: 'line 3 at "frobnicate" (column 34): unknown word "frobnicate"' });
    // A word Object.prototype has (it made an internal error).
    const proto = parseNftTransaction('add table ip t\nadd chain ip t c\nadd rule ip t c constructor saddr 1.2.3.4\n');
    expect(proto.ok ? '' : proto.message).toBe('line 3 at "constructor" (column 17): unknown word "constructor"');
    const bad = parseNftTransaction('add chain ip t c { type filter hook sideways priority 0 ; }');
    expect(bad.ok ? '' : bad.message).toBe('line 1 at "sideways" (column 37): unknown hook "sideways"');
  });
  it('rejects, as the kernel does, a rule for a chain that does not exist and a jump to nowhere', () => {
    const a = loadNftTransaction('add table ip t\nadd rule ip t c drop\n', 'x.nft');
    expect(a.ok ? '' : a.message).toBe('x.nft: line 2: No such file or directory: chain c');
    const b = loadNftTransaction('add table ip t\nadd chain ip t c\nadd rule ip t c jump d\n', 'x.nft');
    expect(b.ok ? '' : b.message).toBe('x.nft: table ip t: chain c: jump to a chain that does not exist: d');
  });
});

describe('nft list ruleset', () => {
  it('round-trips its own listing', () => {
    const list = formatNftList(loaded(transaction));
    const back = parseNftList(list);
    expect(back.ok).toBe(true);
    if (back.ok) expect(formatNftList(back.value)).toBe(list);
  });
  it('reads the kernel listing of the same transaction into the same ruleset', () => {
    const kernel = parseNftList(fixture('kube-proxy-overall.nft-list.txt'));
    expect(kernel.ok).toBe(true);
    if (kernel.ok) expect(canonical(kernel.value)).toBe(canonical(loaded(transaction)));
  });
  it('prints rules in the kernel canonical form', () => {
    const list = formatNftList(loaded(transaction));
    expect(list).toContain('\t\tmeta mark set meta mark | 0x00004000\n');
    expect(list).toContain('\t\tmeta mark & 0x00004000 == 0x00000000 return\n');
    expect(list).toContain('\t\tip daddr 172.30.0.0/16 drop comment "Drop traffic to unallocated ClusterIPs"\n');
    expect(list).toContain('\t\ttype filter hook prerouting priority dstnat - 10; policy accept;\n');
    expect(list).toContain('\t\ttimeout 3h\n');
  });
});

describe('priorities and durations', () => {
  it('print priority names only where nft 1.0 does, and read the names nft 1.1 prints at any hook', () => {
    expect(formatPriority(-110, 'prerouting')).toBe('dstnat - 10');
    expect(formatPriority(-110, 'output')).toBe('-110');
    expect(formatPriority(100, 'postrouting')).toBe('srcnat');
    expect(formatPriority(0, 'input')).toBe('filter');
    expect(parsePriority('dstnat - 10', 'prerouting')).toBe(-110);
    // nft 1.1 lists `type nat hook output priority dstnat` (Debian 13's netavark, Docker 29).
    expect(parsePriority('dstnat', 'output')).toBe(-100);
    expect(parsePriority('srcnat', 'input')).toBe(100);
    expect(parsePriority('nosuch', 'input')).toBeNull();
  });
  it('read durations in any unit', () => {
    expect(['10800s', '3h', '1h30m', '45', 'x'].map(parseDuration)).toEqual([10800, 10800, 5400, 45, null]);
  });
});

describe('deleting a chain', () => {
  it('takes its rules with it, but not while a jump or a map element points at it (as the kernel)', () => {
    const base = [
      'add table ip t',
      'add chain ip t a',
      'add chain ip t b',
      'add rule ip t a drop',
      'add rule ip t b jump a',
    ];
    const busy = loadNftTransaction([...base, 'delete chain ip t a'].join('\n'), 'x');
    expect(busy.ok ? '' : busy.message).toBe(
      'x: line 6: Device or resource busy: chain a is still used by a rule in chain b',
    );
    expect(loadNftTransaction([...base, 'delete chain ip t b'].join('\n'), 'x').ok).toBe(true);
    const mapped = loadNftTransaction(
      [
        ...base,
        'flush chain ip t b',
        'add map ip t m { type ipv4_addr : verdict ; }',
        'add element ip t m { 1.2.3.4 : goto a }',
        'delete chain ip t a',
      ].join('\n'),
      'x',
    );
    expect(mapped.ok ? '' : mapped.message).toBe(
      'x: line 9: Device or resource busy: chain a is still used by an element of map m',
    );
  });
});

describe('adding an element that exists', () => {
  it('is a no-op with the same data, and an error with other data or with create (as the kernel)', () => {
    const base = [
      'add table ip t',
      'add chain ip t a',
      'add chain ip t b',
      'add map ip t m { type ipv4_addr : verdict ; }',
    ];
    const same = loadNftTransaction(
      [...base, 'add element ip t m { 1.2.3.4 : goto a }', 'add element ip t m { 1.2.3.4 : goto a }'].join('\n'),
      'x',
    );
    expect(same.ok).toBe(true);
    const other = loadNftTransaction(
      [...base, 'add element ip t m { 1.2.3.4 : goto a }', 'add element ip t m { 1.2.3.4 : goto b }'].join('\n'),
      'x',
    );
    expect(other.ok ? '' : other.message).toBe('x: line 6: File exists: element 1.2.3.4 in map m');
    const create = loadNftTransaction(
      [...base, 'add element ip t m { 1.2.3.4 : goto a }', 'create element ip t m { 1.2.3.4 : goto a }'].join('\n'),
      'x',
    );
    expect(create.ok).toBe(false);
  });
});
