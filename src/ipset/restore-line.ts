// Splits one line of `ipset restore` input into words as the tool does: blanks separate words,
// double quotes group blanks into a word and are dropped, backslashes are plain characters, and
// an empty word ("") vanishes, so `comment ""` lacks its argument there too.

import { err, ok, type Result } from './result';

export function tokenizeRestoreLine(line: string): Result<string[], string> {
  const words: string[] = [];
  let word = '';
  let quoted = false;
  for (const c of line) {
    if (c === '"') quoted = !quoted;
    else if ((c === ' ' || c === '\t') && !quoted) {
      if (word !== '') words.push(word);
      word = '';
    } else word += c;
  }
  if (quoted) return err('a double quote is not closed');
  if (word !== '') words.push(word);
  return ok(words);
}
