// Label selectors as the kubernetes plugin's `labels` and `namespace_labels` options take
// them: Kubernetes' selector syntax (`a=b`, `a==b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`,
// comma-joined), read as a LabelSelector (metav1.ParseToLabelSelector), which has no
// `!=`, `<` or `>`.

import type { LabelSelectorRequirement } from '../model';

/** One requirement; `a=b` is `In` with the single value b. Matched as the model matches a LabelSelector's expressions. */
export type LabelRequirement = LabelSelectorRequirement;

export class LabelSelectorError extends Error {}

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function checkKey(key: string): void {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)))
    throw new LabelSelectorError(`invalid label key "${key}": prefix part must be a DNS subdomain`);
  if (name.length > 63 || !NAME.test(name))
    throw new LabelSelectorError(
      `invalid label key "${key}": name part must be 63 characters or less, alphanumeric at both ends, '-', '_' or '.' between`,
    );
}

function checkValue(value: string): void {
  if (value !== '' && (value.length > 63 || !NAME.test(value)))
    throw new LabelSelectorError(
      `invalid label value: "${value}": must be 63 characters or less, empty or alphanumeric at both ends`,
    );
}

type Token = { kind: 'id' | 'op'; text: string };

const SPECIAL = ['!=', '==', '!', '=', '(', ')', ',', '<', '>'];

function tokens(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i]!)) {
      i++;
      continue;
    }
    const special = SPECIAL.find((s) => text.startsWith(s, i));
    if (special) {
      out.push({ kind: 'op', text: special });
      i += special.length;
      continue;
    }
    let j = i;
    while (j < text.length && !/\s/.test(text[j]!) && !SPECIAL.some((s) => text.startsWith(s, j))) j++;
    out.push({ kind: 'id', text: text.slice(i, j) });
    i = j;
  }
  return out;
}

/** Parses a selector; a LabelSelectorError says what is wrong. */
export function parseLabelSelector(text: string): LabelRequirement[] {
  const t = tokens(text);
  let p = 0;
  const peek = () => t[p];
  const atEnd = () => p >= t.length || peek()!.text === ',';
  const expectId = (what: string): string => {
    const tok = t[p];
    if (tok?.kind !== 'id') throw new LabelSelectorError(`found '${tok?.text ?? 'end of string'}', expected: ${what}`);
    p++;
    return tok.text;
  };
  const out: LabelRequirement[] = [];
  while (p < t.length) {
    if (peek()!.text === '!') {
      p++;
      const key = expectId('identifier after !');
      checkKey(key);
      if (!atEnd()) throw new LabelSelectorError(`found '${peek()!.text}', expected: ',' or end of string`);
      out.push({ key, operator: 'DoesNotExist', values: [] });
    } else {
      const key = expectId('identifier');
      checkKey(key);
      if (atEnd()) out.push({ key, operator: 'Exists', values: [] });
      else {
        const op = t[p++]!;
        if (op.text === 'in' || op.text === 'notin') {
          if (t[p]?.text !== '(')
            throw new LabelSelectorError(`found '${t[p]?.text ?? 'end of string'}', expected: '('`);
          p++;
          const values: string[] = [];
          for (;;) {
            const tok = t[p];
            if (!tok) throw new LabelSelectorError("found 'end of string', expected: ')'");
            if (tok.text === ')') {
              p++;
              break;
            }
            if (tok.text === ',') {
              p++;
              continue;
            }
            values.push(expectId('value'));
          }
          if (values.length === 0)
            throw new LabelSelectorError("for 'in', 'notin' operators, values set can't be empty");
          values.forEach(checkValue);
          out.push({ key, operator: op.text === 'in' ? 'In' : 'NotIn', values: [...new Set(values)].sort() });
        } else if (op.text === '=' || op.text === '==') {
          const value = t[p]?.kind === 'id' ? t[p++]!.text : '';
          checkValue(value);
          out.push({ key, operator: 'In', values: [value] });
        } else if (op.text === '!=') {
          throw new LabelSelectorError('"!=" is not a valid label selector operator');
        } else if (op.text === '<' || op.text === '>') {
          throw new LabelSelectorError(`"${op.text === '<' ? 'lt' : 'gt'}" isn't supported in label selectors`);
        } else throw new LabelSelectorError(`found '${op.text}', expected: in, notin, =, ==, !=, gt, lt`);
      }
    }
    if (p < t.length) {
      if (t[p]!.text !== ',') throw new LabelSelectorError(`found '${t[p]!.text}', expected: ',' or end of string`);
      p++;
      if (p >= t.length) throw new LabelSelectorError("found 'end of string', expected: identifier");
    }
  }
  return out;
}
