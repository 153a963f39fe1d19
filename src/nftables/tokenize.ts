// nft's words: whitespace separates them; braces, commas and semicolons stand
// alone; a double-quoted string is one token (its quotes kept, so printing is exact).

export interface Token {
  readonly text: string;
  /** 1-based column in its line, for messages that point at the token. */
  readonly column: number;
}

export type TokenizeResult =
  | { ok: true; tokens: Token[]; comment?: { readonly text: string; readonly column: number } }
  | { ok: false; column: number; message: string };

const SINGLES = new Set(['{', '}', ',', ';']);

export function tokenizeNft(line: string): TokenizeResult {
  const tokens: Token[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#') return { ok: true, tokens, comment: { text: line.slice(i), column: i + 1 } };
    if (SINGLES.has(c)) {
      tokens.push({ text: c, column: i + 1 });
      i++;
      continue;
    }
    if (c === '"') {
      const end = line.indexOf('"', i + 1);
      if (end < 0) return { ok: false, column: i + 1, message: 'unterminated string' };
      tokens.push({ text: line.slice(i, end + 1), column: i + 1 });
      i = end + 1;
      continue;
    }
    let j = i;
    while (j < line.length && !' \t"'.includes(line[j]!) && !SINGLES.has(line[j]!)) j++;
    tokens.push({ text: line.slice(i, j), column: i + 1 });
    i = j;
  }
  return { ok: true, tokens };
}

export function unquote(text: string): string {
  return text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text;
}
