// Splits one iptables-restore line into arguments the way iptables-restore does:
// whitespace separates, double quotes group (a backslash escapes inside them).
// Each token remembers whether it was quoted, so printing can give the line back.

export interface Token {
  readonly text: string;
  readonly quoted: boolean;
  /** The whitespace before the token, so a line prints back with its own spacing. */
  readonly gap: string;
  /** Offset just past the token in its line. */
  readonly end: number;
}

const SPACE = 32;
const TAB = 9;
const QUOTE = 34;
const BACKSLASH = 92;

/**
 * One line's tokens as parallel arrays, refilled line after line: a dump of a
 * hundred thousand rules would otherwise make a million token objects only to
 * drop them. Scans by character code and slices; quoted tokens are unquoted by slices too.
 */
const RECENT_SLOTS = 1024;
/** Longer words are names and addresses that seldom repeat within a few lines. */
const MAX_RECENT_LENGTH = 16;

/** Whether `line` holds `word` at `start` (a loop: startsWith is a call into the runtime, and words are short). */
function sameCharacters(word: string, line: string, start: number): boolean {
  for (let j = 0; j < word.length; j++) if (word.charCodeAt(j) !== line.charCodeAt(start + j)) return false;
  return true;
}

export class TokenBuffer {
  readonly texts: string[] = [];
  readonly quoted: boolean[] = [];
  /** Where each word starts (its gap, the blanks before it, is made only when tokens() is asked). */
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  length = 0;
  /**
   * Short words seen lately, by a hash of their characters: a dump repeats a
   * few dozen ("-A", "-m", "tcp", "--dport", "KUBE-MARK-MASQ") on every line,
   * and handing back the same string spares a copy each time and lets the maps
   * that look these words up reuse the hash the string keeps.
   */
  private readonly recent: (string | undefined)[] | null;
  /** The second word of the last line read (remembering buffers only). */
  private lastSecond = '';
  /** The text of the line read last, and where the line starts in it (`ends` are offsets in the text). */
  private source = '';
  private lineStart = 0;

  /** `remember`: reuse the strings of repeated short words (for a whole script; not worth it for one line). */
  constructor(remember = false) {
    this.recent = remember ? new Array(RECENT_SLOTS) : null;
  }

  /**
   * The text of a short word line[start, end) of a remembering buffer: a string seen lately with
   * the same characters, or a new slice. A few characters pick the slot (the comparison there
   * reads them all): the length, the first two, the middle and the last two tell the words a dump
   * repeats apart.
   */
  private recentWord(line: string, start: number, end: number): string {
    const length = end - start;
    const recent = this.recent!;
    const h = Math.imul(
      length ^
        (line.charCodeAt(start) << 4) ^
        (line.charCodeAt(start + 1) << 11) ^
        (line.charCodeAt(start + (length >> 1)) << 18) ^
        (line.charCodeAt(end - 2) << 25) ^
        line.charCodeAt(end - 1),
      0x9e3779b1,
    );
    const slot = (h ^ (h >>> 15)) & (RECENT_SLOTS - 1);
    const seen = recent[slot];
    if (seen !== undefined && seen.length === length && sameCharacters(seen, line, start)) return seen;
    const text = line.slice(start, end);
    recent[slot] = text;
    return text;
  }

  /**
   * The second word of a remembering buffer's line (the chain of -A CHAIN): the previous line's
   * string when the characters are the same (a chain's rules come one after another), else a slice.
   */
  private secondWord(line: string, start: number, end: number): string {
    const last = this.lastSecond;
    if (last.length === end - start && sameCharacters(last, line, start)) return last;
    const text = this.plainWord(line, start, end);
    this.lastSecond = text;
    return text;
  }

  /** The text of the unquoted word line[start, end): a recent string for a short word of a remembering buffer. */
  private plainWord(line: string, start: number, end: number): string {
    return this.recent !== null && end - start <= MAX_RECENT_LENGTH
      ? this.recentWord(line, start, end)
      : line.slice(start, end);
  }

  /**
   * Reads a line into the buffer; returns an error message, or null. Blanks are spaces and tabs,
   * and double quotes group (a backslash escapes inside them). A word before the line's next quote
   * and tab ends at its next blank, found by indexOf (the runtime's search, several times faster
   * than a loop over the characters here); only a word with a quote in it is read character by
   * character. (A script's reader, which finds quotes and tabs once in its whole text, uses fillRange.)
   */
  fill(line: string): string | null {
    return this.fillRange(line, 0, line.length, line.indexOf('"'), line.indexOf('\t'));
  }

  /**
   * Reads the line source[from, to) as fill reads a line, without cutting it out of the text (a
   * script's lines would each be a string made only to be dropped): the words are slices of the
   * text, and `ends` are offsets in it. `quoteAt` and `tabAt`: the first quote and tab in the text
   * from `from` on (-1: none), which the caller knows (a script finds them once in its whole text;
   * looking for them from each line would read to the end of a text without any).
   */
  fillRange(source: string, from: number, to: number, quoteAt: number, tabAt: number): string | null {
    this.source = source;
    this.lineStart = from;
    const n = to;
    let k = 0;
    let i = from;
    // The next quote and tab, looked for again once passed (one past the line's end is no matter:
    // no word of the line reaches it).
    let nextQuote = quoteAt;
    let nextTab = tabAt;
    while (i < n) {
      while (i < n && (source.charCodeAt(i) === SPACE || source.charCodeAt(i) === TAB)) i++;
      if (i >= n) break;
      const start = i;
      if (nextQuote >= 0 && nextQuote < i) nextQuote = source.indexOf('"', i);
      if (nextTab >= 0 && nextTab < i) nextTab = source.indexOf('\t', i);
      let end = source.indexOf(' ', i);
      if (end < 0 || end > n) end = n;
      if (nextTab >= 0 && nextTab < end) end = nextTab;
      const quoted = nextQuote >= 0 && nextQuote < end;
      let text: string;
      if (!quoted) {
        i = end;
        text =
          k === 1 && this.recent !== null ? this.secondWord(source, start, end) : this.plainWord(source, start, end);
      } else {
        i = nextQuote;
        // A token with quotes: a backslash escapes inside quotes, as iptables-restore reads it.
        text = source.slice(start, i);
        let open = false;
        let run = i;
        while (i < n) {
          const c = source.charCodeAt(i);
          if (open) {
            if (c === BACKSLASH && i + 1 < n) {
              text += source.slice(run, i) + source[i + 1];
              i += 2;
              run = i;
              continue;
            }
            if (c === QUOTE) {
              text += source.slice(run, i);
              open = false;
              run = ++i;
              continue;
            }
            i++;
            continue;
          }
          if (c === SPACE || c === TAB) break;
          if (c === QUOTE) {
            text += source.slice(run, i);
            open = true;
            run = ++i;
            continue;
          }
          i++;
        }
        if (open) {
          this.length = 0;
          return 'unterminated quoted string';
        }
        text += source.slice(run, i);
      }
      this.texts[k] = text;
      this.quoted[k] = quoted;
      this.starts[k] = start;
      this.ends[k] = i;
      k++;
    }
    this.length = k;
    return null;
  }

  /**
   * Cuts word k in two before its character `at`, dropping that character: getopt_long's
   * "--option=value" becomes "--option" and "value" (a quoted word's value stays quoted).
   */
  splitWord(k: number, at: number): void {
    for (let j = this.length; j > k + 1; j--) {
      this.texts[j] = this.texts[j - 1]!;
      this.quoted[j] = this.quoted[j - 1]!;
      this.starts[j] = this.starts[j - 1]!;
      this.ends[j] = this.ends[j - 1]!;
    }
    const word = this.texts[k]!;
    this.texts[k + 1] = word.slice(at + 1);
    this.quoted[k + 1] = this.quoted[k]!;
    this.starts[k + 1] = this.starts[k]! + at + 1;
    this.ends[k + 1] = this.ends[k]!;
    this.texts[k] = word.slice(0, at);
    this.ends[k] = this.starts[k]! + at;
    this.length++;
  }

  /** The blanks before word k: one space, as nearly always, or what the line has there. */
  private gapBefore(k: number): string {
    const from = k === 0 ? this.lineStart : this.ends[k - 1]!;
    const to = this.starts[k]!;
    if (to === from) return '';
    return to - from === 1 && this.source.charCodeAt(from) === SPACE ? ' ' : this.source.slice(from, to);
  }

  /** The tokens from `from` on, as objects (for commands that keep their arguments). */
  tokens(from = 0): Token[] {
    const out: Token[] = [];
    for (let k = from; k < this.length; k++)
      out.push({
        text: this.texts[k]!,
        quoted: this.quoted[k]!,
        gap: this.gapBefore(k),
        end: this.ends[k]! - this.lineStart,
      });
    return out;
  }
}

export function tokenizeLine(line: string): Token[] | { error: string } {
  const buffer = new TokenBuffer();
  const error = buffer.fill(line);
  return error === null ? buffer.tokens() : { error };
}

const NO_QUOTE = /^[A-Za-z0-9_-]+$/;

/** How iptables-save prints a string argument (xtables_save_string): bare when safe, else quoted. */
export function saveString(value: string): string {
  if (NO_QUOTE.test(value)) return value;
  return `"${value.replace(/(["\\'])/g, '\\$1')}"`;
}

/** A token made by knetsim rather than read: one space before it. */
export function token(text: string): Token {
  return { text, quoted: false, gap: ' ', end: -1 };
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
