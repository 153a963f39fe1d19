// Splits one iptables-restore line into arguments the way iptables-restore does:
// whitespace separates, double quotes group (a backslash escapes inside them).
// Each token remembers whether it was quoted, so printing can give the line back.

export interface Token {
  readonly text: string;
  readonly quoted: boolean;
  /** The whitespace before the token, so a line prints back with its own spacing. */
  readonly gap: string;
}

export function tokenizeLine(line: string): Token[] | { error: string } {
  const tokens: Token[] = [];
  let current = '';
  let inToken = false;
  let quoted = false;
  let quoteOpen = false;
  let escaped = false;
  let gap = '';
  let pendingGap = '';
  for (const ch of line) {
    if (quoteOpen) {
      if (escaped) {
        current += ch;
        escaped = false;
      } else if (ch === '\\') escaped = true;
      else if (ch === '"') quoteOpen = false;
      else current += ch;
      continue;
    }
    if (ch === ' ' || ch === '\t') {
      if (inToken) tokens.push({ text: current, quoted, gap });
      if (inToken) pendingGap = '';
      pendingGap += ch;
      current = '';
      inToken = false;
      quoted = false;
      continue;
    }
    if (!inToken) {
      gap = pendingGap;
      pendingGap = '';
      inToken = true;
    }
    if (ch === '"') {
      quoteOpen = true;
      quoted = true;
      continue;
    }
    current += ch;
  }
  if (quoteOpen) return { error: 'unterminated quoted string' };
  if (inToken) tokens.push({ text: current, quoted, gap });
  return tokens;
}

const NO_QUOTE = /^[A-Za-z0-9_-]+$/;

/** How iptables-save prints a string argument (xtables_save_string): bare when safe, else quoted. */
export function saveString(value: string): string {
  if (NO_QUOTE.test(value)) return value;
  return `"${value.replace(/(["\\'])/g, '\\$1')}"`;
}

/** A token made by knetsim rather than read: one space before it. */
export function token(text: string): Token {
  return { text, quoted: false, gap: ' ' };
}

/** Prints tokens as they were read: their spacing, and quoted tokens keep their quotes. */
export function printTokens(tokens: readonly Token[]): string {
  return tokens.map((t) => t.gap + printToken(t)).join('');
}

/** Prints a token as it was read: quoted tokens keep their quotes. */
export function printToken(token: Token): string {
  if (!token.quoted) return token.text;
  return `"${token.text.replace(/(["\\])/g, '\\$1')}"`;
}
