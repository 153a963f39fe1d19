// One call from iptables-save/iptables-restore text to a loaded state, with
// errors rendered as "FILE: line N: message" for users.
import { type ApplyOptions, applyRestoreScript, emptyNetfilterState, type NetfilterState } from './netfilter-state';
import { parseRestoreScript, type RestoreScript } from './restore-script';

export type LoadResult =
  | { readonly ok: true; readonly state: NetfilterState; readonly script: RestoreScript }
  | { readonly ok: false; readonly message: string; readonly line: number };

export function loadIptables(
  text: string,
  fileName: string,
  base: NetfilterState = emptyNetfilterState(),
  options: ApplyOptions = { noflush: true },
): LoadResult {
  const parsed = parseRestoreScript(text);
  if (!parsed.ok)
    return {
      ok: false,
      line: parsed.error.line,
      message: `${fileName}: line ${parsed.error.line}: ${parsed.error.message}`,
    };
  const applied = applyRestoreScript(base, parsed.script, options);
  if (!applied.ok)
    return {
      ok: false,
      line: applied.error.line,
      message: `${fileName}: line ${applied.error.line}: ${applied.error.message}`,
    };
  return { ok: true, state: applied.state, script: parsed.script };
}
