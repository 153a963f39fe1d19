// The tokenizer reads what iptables-restore reads, and printing gives it back.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { printTokens, tokenizeLine } from '../../src/netfilter';
import { TokenBuffer } from '../../src/netfilter/tokenize';

const word = fc.stringMatching(/^[A-Za-z0-9_./:,!-]{1,12}$/);
const phrase = fc.stringMatching(/^[A-Za-z0-9 _./:,-]{0,20}$/);
const gap = fc.constantFrom(' ', '  ', '\t', ' \t ');

describe('tokenizeLine', () => {
  it('splits on runs of blanks and keeps each token with the spacing before it', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            gap,
            fc.oneof(
              word,
              phrase.map((p) => `"${p}"`),
            ),
          ),
          { minLength: 1, maxLength: 12 },
        ),
        (parts) => {
          const line = parts.map(([g, t], i) => (i === 0 ? t : g + t)).join('');
          const tokens = tokenizeLine(line);
          if (!Array.isArray(tokens)) throw new Error(tokens.error);
          expect(tokens.map((t) => t.text)).toEqual(parts.map(([, t]) => (t.startsWith('"') ? t.slice(1, -1) : t)));
          expect(printTokens(tokens)).toBe(line);
        },
      ),
      { numRuns: 300, seed: 1122 },
    );
  });
  it('reads backslash escapes inside quotes and reports an unterminated quote', () => {
    const t = tokenizeLine('--comment "a \\"b\\" c" -j X');
    expect(Array.isArray(t) && t.map((x) => x.text)).toEqual(['--comment', 'a "b" c', '-j', 'X']);
    expect(tokenizeLine('--comment "open')).toEqual({ error: 'unterminated quoted string' });
    // Quotes may open and close inside a token; an empty pair is an empty argument.
    expect((tokenizeLine('x"a b"y "" z') as { text: string }[]).map((x) => x.text)).toEqual(['xa by', '', 'z']);
    expect(tokenizeLine('"a\\')).toEqual({ error: 'unterminated quoted string' });
  });
  it('a buffer remembering recent words reads every line of a script as a fresh tokenizer does', () => {
    // Words a dump repeats (and near misses of them), so the recent-word slots are hit, missed and shared.
    const repeated = fc.constantFrom(
      '-A',
      '-m',
      'tcp',
      '-p',
      '--dport',
      '-j',
      'KUBE-MARK-MASQ',
      '10.244.1.5',
      '10.244.1.6',
      '10.244.5.1',
      'x',
      '',
    );
    const token = fc.oneof(
      repeated,
      word,
      phrase.map((p) => `"${p}"`),
    );
    const line = fc
      .array(fc.tuple(gap, token), { minLength: 1, maxLength: 10 })
      .map((parts) => parts.map(([g, t], i) => (i === 0 ? t : g + t)).join(''));
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 20 }), (lines) => {
        const remembering = new TokenBuffer(true);
        for (const l of lines) {
          const fresh = tokenizeLine(l);
          const error = remembering.fill(l);
          if (!Array.isArray(fresh)) expect(error).toBe(fresh.error);
          else {
            expect(error).toBeNull();
            expect(remembering.tokens()).toEqual(fresh);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
  it('reads a line in place inside a longer text (fillRange) as it reads the line alone', () => {
    // Lines side by side in one text, as a script is read: quotes, tabs and blanks of one line
    // must not be taken from its neighbours, and `ends` are offsets in the text.
    const token = fc.oneof(
      word,
      phrase.map((p) => `"${p}"`),
      fc.constantFrom('"', 'a"b', '\t', '-A', 'x'),
    );
    const line = fc
      .array(fc.tuple(gap, token), { minLength: 0, maxLength: 8 })
      .map((parts) => parts.map(([g, t], i) => (i === 0 ? t : g + t)).join(''));
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 8 }), fc.boolean(), (lines, remember) => {
        const text = lines.join('\n');
        const inPlace = new TokenBuffer(remember);
        let at = 0;
        for (const l of lines) {
          const fresh = tokenizeLine(l);
          const error = inPlace.fillRange(text, at, at + l.length, text.indexOf('"', at), text.indexOf('\t', at));
          if (!Array.isArray(fresh)) expect(error).toBe(fresh.error);
          else {
            expect(error).toBeNull();
            expect(inPlace.tokens()).toEqual(fresh);
            for (let k = 0; k < fresh.length; k++) expect(inPlace.ends[k]).toBe(at + fresh[k]!.end);
          }
          at += l.length + 1;
        }
      }),
      { numRuns: 500 },
    );
  });
});
