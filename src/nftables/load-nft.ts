// One call from `nft -f` text to a ruleset, errors as "SOURCE: line N ...".
import { joinContinuations } from './continued-lines';
import { parseNftList } from './list-ruleset';
import { emptyRuleset, type NftRuleset } from './ruleset';
import { tokenizeNft } from './tokenize';
import { applyNftTransaction, type NftResult, type NftTransaction, parseNftTransaction } from './transaction';

export function loadNftTransaction(
  text: string,
  source: string,
  base: NftRuleset = emptyRuleset(),
): NftResult<{ ruleset: NftRuleset; transaction: NftTransaction }> {
  const parsed = parseNftTransaction(text);
  if (!parsed.ok) return { ok: false, message: `${source}: ${parsed.message}` };
  const applied = applyNftTransaction(base, parsed.value);
  if (!applied.ok) return { ok: false, message: `${source}: ${applied.message}` };
  return { ok: true, value: { ruleset: applied.value, transaction: parsed.value } };
}

/**
 * An `nft -f` file as people write them (/etc/nftables.conf): commands (`flush ruleset`, `add rule
 * ...`) and `table NAME { ... }` blocks in any order, `define NAME = VALUE` with `$NAME` after it,
 * each applied in turn as nft does. `include` is refused (the included file is not at hand).
 */
const MAX_EXPANDED_LINE = 1 << 20;

export function loadNftFile(text: string, source: string): NftResult<NftRuleset> {
  const lines = joinContinuations(text.split('\n'));
  const defines = new Map<string, string>();
  /** Each line's part: a command, a line of a block, or nothing (blank, comment, define). */
  const parts: ('command' | 'block' | null)[] = [];
  let depth = 0;
  for (let n = 0; n < lines.length; n++) {
    let line = lines[n]!;
    if (defines.size > 0) {
      line = line.replace(/\$([A-Za-z_][\w-]*)/g, (whole, name: string) => defines.get(name) ?? whole);
      // Defines built from defines can double at each step: refuse a line grown past any real ruleset's.
      if (line.length > MAX_EXPANDED_LINE)
        return {
          ok: false,
          message: `${source}: line ${n + 1}: defines expand to more than ${MAX_EXPANDED_LINE} characters`,
        };
    }
    lines[n] = line;
    const t = tokenizeNft(line);
    if (!t.ok) return { ok: false, message: `${source}: line ${n + 1} (column ${t.column}): ${t.message}` };
    const words = t.tokens.map((x) => x.text);
    if (words.length === 0) {
      parts.push(null);
      continue;
    }
    if (depth === 0 && words[0] === 'include')
      return {
        ok: false,
        message: `${source}: line ${n + 1}: include ${words[1] ?? ''}: the included file is not at hand; put its rules into this one`,
      };
    if (depth === 0 && words[0] === 'define') {
      const m = /^\s*define\s+([A-Za-z_][\w-]*)\s*=\s*(.+?)\s*$/.exec(line);
      if (!m) return { ok: false, message: `${source}: line ${n + 1}: expected "define NAME = VALUE"` };
      defines.set(m[1]!, m[2]!);
      parts.push(null);
      continue;
    }
    parts.push(depth > 0 || words[0] === 'table' ? 'block' : 'command');
    for (const w of words) depth += w === '{' ? 1 : w === '}' ? -1 : 0;
    if (depth < 0) return { ok: false, message: `${source}: line ${n + 1}: unbalanced "}"` };
  }
  if (depth > 0) return { ok: false, message: `${source}: unterminated block (missing "}")` };
  // Runs of one kind, applied in order; the other lines blanked so messages keep their line numbers.
  let ruleset = emptyRuleset();
  for (let n = 0; n < lines.length; ) {
    const kind = parts[n];
    if (kind === null) {
      n++;
      continue;
    }
    let end = n;
    while (end < lines.length && (parts[end] === kind || parts[end] === null)) end++;
    const text = lines.map((l, i) => (i >= n && i < end && parts[i] === kind ? l : '')).join('\n');
    if (kind === 'command') {
      const loaded = loadNftTransaction(text, source, ruleset);
      if (!loaded.ok) return loaded;
      ruleset = loaded.value.ruleset;
    } else {
      const listed = parseNftList(text);
      if (!listed.ok) return { ok: false, message: `${source}: ${listed.message}` };
      ruleset = mergeRulesets(ruleset, listed.value);
    }
    n = end;
  }
  return { ok: true, value: ruleset };
}

/** `table x { ... }` on a ruleset that has table x: its chains, rules, sets and elements added to it. */
function mergeRulesets(base: NftRuleset, add: NftRuleset): NftRuleset {
  const tables = new Map(base.tables);
  for (const [key, table] of add.tables) {
    const known = tables.get(key);
    if (!known) {
      tables.set(key, table);
      continue;
    }
    const chains = new Map(known.chains);
    for (const [name, chain] of table.chains) {
      const was = chains.get(name);
      chains.set(
        name,
        was ? { ...was, ...(chain.base ? { base: chain.base } : {}), rules: [...was.rules, ...chain.rules] } : chain,
      );
    }
    const sets = new Map(known.sets);
    for (const [name, set] of table.sets) {
      const was = sets.get(name);
      sets.set(name, was ? { ...was, elements: [...was.elements, ...set.elements] } : set);
    }
    const helpers =
      known.helpers || table.helpers ? new Map([...(known.helpers ?? []), ...(table.helpers ?? [])]) : undefined;
    tables.set(key, { ...known, chains, sets, ...(helpers ? { helpers } : {}) });
  }
  return { tables };
}
