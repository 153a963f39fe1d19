// Splits one iptables-restore line into arguments the way iptables-restore does:
// whitespace separates, double quotes group (a backslash escapes inside them).
// Each token remembers whether it was quoted, so printing can give the line back.

export interface Token {
  readonly text: string;
  readonly quoted: boolean;
}

export function tokenizeLine(line: string): Token[] | { error: string } {
  const tokens: Token[] = [];
  let current = '';
  let inToken = false;
  let quoted = false;
  let quoteOpen = false;
  let escaped = false;
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
    if (ch === '"') {
      quoteOpen = true;
      quoted = true;
      inToken = true;
      continue;
    }
    if (ch === ' ' || ch === '\t') {
      if (inToken) tokens.push({ text: current, quoted });
      current = '';
      inToken = false;
      quoted = false;
      continue;
    }
    current += ch;
    inToken = true;
  }
  if (quoteOpen) return { error: 'unterminated quoted string' };
  if (inToken) tokens.push({ text: current, quoted });
  return tokens;
}

const NO_QUOTE = /^[A-Za-z0-9_-]+$/;

/** How iptables-save prints a string argument (xtables_save_string): bare when safe, else quoted. */
export function saveString(value: string): string {
  if (NO_QUOTE.test(value)) return value;
  return `"${value.replace(/(["\\'])/g, '\\$1')}"`;
}

/** Prints a token as it was read: quoted tokens keep their quotes. */
export function printToken(token: Token): string {
  if (!token.quoted) return token.text;
  return `"${token.text.replace(/(["\\])/g, '\\$1')}"`;
}
