// One call from `nft -f` text to a ruleset, errors as "SOURCE: line N ...".
import { emptyRuleset, type NftRuleset } from './ruleset';
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
