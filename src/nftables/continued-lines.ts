// nft reads a rule over several lines when a line ends in a backslash or an inline set or map
// is still open at its end; knetsim's readers take a rule a line, so such lines are joined first.
import { tokenizeNft } from './tokenize';

/** Words that open a block of their own ("chain x {"); any other line's "{" opens a set or map in a rule. */
const BLOCK_WORDS: ReadonlySet<string> = new Set([
  'table',
  'chain',
  'set',
  'map',
  'flowtable',
  'ct',
  'counter',
  'quota',
  'limit',
  'secmark',
  'synproxy',
  'elements',
]);

/** "{" less "}" on a line (0 when it does not tokenize: the caller reports that line). */
function openBraces(line: string): number {
  // Most lines have none (found by the runtime's search), or as many of each as an inline set has.
  if (line.indexOf('{') < 0) return 0;
  let balance = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 123) balance++;
    else if (c === 125) balance--;
  }
  if (balance <= 0) return 0;
  // A block's own line ("chain x {") is the common one: told by its first word without reading the rest.
  let from = 0;
  while (from < line.length && (line.charCodeAt(from) === 32 || line.charCodeAt(from) === 9)) from++;
  let to = from;
  while (to < line.length && line.charCodeAt(to) > 32 && line.charCodeAt(to) !== 123) to++;
  const first = line.slice(from, to);
  // `ct helper NAME {` opens an object, `ct helper set ... map {` a map in a rule.
  if (to === from || (BLOCK_WORDS.has(first) && first !== 'ct')) return 0;
  const t = tokenizeNft(line);
  if (!t.ok || t.tokens.length === 0) return 0;
  if (first === 'ct' && t.tokens[2]?.text !== 'set') return 0;
  let depth = 0;
  for (const token of t.tokens) depth += token.text === '{' ? 1 : token.text === '}' ? -1 : 0;
  return depth;
}

/**
 * A rule goes on in the next line when it ends in a backslash (nft's scanner reads backslash-newline as
 * a blank) or leaves a set or map open ("dnat to numgen inc mod 2 map {" then its elements): each run is
 * joined into its first line, the others left empty so later lines keep their numbers.
 */
export function joinContinuations(lines: string[]): string[] {
  for (let n = 0; n < lines.length; n++) {
    // Nearly every line is whole: no backslash at its end, no set left open.
    if (!endsInBackslash(lines[n]!) && openBraces(lines[n]!) <= 0) continue;
    let end = n;
    let joined = lines[n]!;
    while (end + 1 < lines.length && (endsInBackslash(lines[end]!) || openBraces(joined) > 0)) {
      end++;
      joined = `${withoutBackslash(joined)} ${lines[end]!}`;
    }
    lines[n] = withoutBackslash(joined);
    for (let k = n + 1; k <= end; k++) lines[k] = '';
    n = end;
  }
  return lines;
}

function endsInBackslash(line: string): boolean {
  let i = line.length - 1;
  while (i >= 0 && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9)) i--;
  return i >= 0 && line.charCodeAt(i) === 92;
}

/** The line without the backslash (and blanks) it ends in, if it does. */
function withoutBackslash(line: string): string {
  return endsInBackslash(line) ? line.replace(/\\\s*$/, '') : line;
}
