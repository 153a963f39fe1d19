// nft reads a rule over several lines when a line ends in a backslash or a set, map or
// verdict map in a rule is still open at its end; knetsim's readers take a rule a line,
// so such lines are joined first (their comments left out: nft's scanner ends a comment
// at the line's end, backslash or not).

/** Where a line's comment starts (a "#" outside quotes), or its length when it has none. */
function codeEnd(line: string): number {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (c === 35 && !quoted) return i;
  }
  return line.length;
}

/** "{" less "}" outside quotes in a line's code. */
function braceBalance(code: string): number {
  let balance = 0;
  let quoted = false;
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (!quoted && c === 123) balance++;
    else if (!quoted && c === 125) balance--;
  }
  return balance;
}

/**
 * Whether a line opens a block of its own (a table, chain, set, map, object or `elements = {`) rather
 * than a set or map inside a rule.
 */
const BLOCK_OPENER =
  /^\s*(?:(?:table|chain|set|map|flowtable|counter|quota|limit|secmark|synproxy|elements)\b|ct\s+(?:helper|timeout|expectation)\s+[^\s{]+\s*\{)/;

/** The line's code without a continuing backslash at its end, and whether it had one. */
function withoutBackslash(code: string): { code: string; continues: boolean } {
  let i = code.length - 1;
  while (i >= 0 && (code.charCodeAt(i) === 32 || code.charCodeAt(i) === 9)) i--;
  return i >= 0 && code.charCodeAt(i) === 92 ? { code: code.slice(0, i), continues: true } : { code, continues: false };
}

/**
 * Joins each rule written over several lines into its first line, the others left empty so later
 * lines keep their numbers; every other line is left as it is (comments and all).
 */
export function joinContinuations(lines: string[]): string[] {
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    // Nearly every line is whole: no "{" or backslash in it at all.
    if (line.indexOf('{') < 0 && line.indexOf('\\') < 0) continue;
    const first = withoutBackslash(line.slice(0, codeEnd(line)));
    let depth = BLOCK_OPENER.test(first.code) ? 0 : Math.max(0, braceBalance(first.code));
    if (!first.continues && depth === 0) continue;
    const parts = [first.code];
    let continues = first.continues;
    let end = n;
    while ((continues || depth > 0) && end + 1 < lines.length) {
      end++;
      const next = withoutBackslash(lines[end]!.slice(0, codeEnd(lines[end]!)));
      parts.push(next.code);
      continues = next.continues;
      depth += braceBalance(next.code);
    }
    lines[n] = parts.join(' ');
    for (let k = n + 1; k <= end; k++) lines[k] = '';
    n = end;
  }
  return lines;
}
