// The rewrite plugin's name rules: the question's name rewritten before the plugins
// after it run, and the response made to match the question again (the question
// restored; owner names mapped back for exact rules, `answer auto`, or `answer name`).
import type { Directive } from './corefile';
import { CorefileError, placeOf } from './corefile';
import { fqdn } from './domain-name';
import type { DnsResponse } from './response';

export type NameMatch = 'exact' | 'prefix' | 'suffix' | 'substring' | 'regex';

export interface NameRewrite {
  readonly match: NameMatch;
  readonly from: string;
  readonly to: string;
  /** `continue`: later rules apply too; `stop` (default): this is the last. */
  readonly continue: boolean;
  readonly answerAuto: boolean;
  /** `answer name FROM TO`: a regex rewrite of owner names in the response. */
  readonly answerName?: { readonly from: RegExp; readonly to: string };
}

const MATCHES: readonly NameMatch[] = ['exact', 'prefix', 'suffix', 'substring', 'regex'];

/** `{1}` groups in a TO template, as JavaScript's `$1`. */
const template = (to: string) => to.replace(/\{(\d+)\}/g, '$$$1');

function regex(text: string, d: Directive): RegExp {
  try {
    return new RegExp(text, 'i');
  } catch {
    throw new CorefileError(`${placeOf(d)}: rewrite: "${text}" is not a regular expression`);
  }
}

/** One rule from `rewrite [continue|stop] name [TYPE] FROM TO [answer ...]` (or a block of them). */
export function parseRewrite(d: Directive): NameRewrite[] {
  const lines = d.block.length > 0 ? d.block.map((b) => ({ words: [b.name, ...b.args], line: b })) : [];
  const head = [...d.args];
  let cont = false;
  if (head[0] === 'continue' || head[0] === 'stop') cont = head.shift() === 'continue';
  if (lines.length === 0) lines.push({ words: head, line: d });
  else if (head.length > 0) throw new CorefileError(`${placeOf(d)}: rewrite: arguments and a block together`);
  const rules: NameRewrite[] = [];
  for (let i = 0; i < lines.length; i++) {
    const { words, line } = lines[i]!;
    if (words[0] === 'answer') {
      const prev = rules[rules.length - 1];
      if (!prev || words[1] !== 'name' || words.length !== 4)
        throw new CorefileError(`${placeOf(line)}: rewrite: only "answer name FROM TO" after a name rule is modelled`);
      rules[rules.length - 1] = { ...prev, answerName: { from: regex(words[2]!, line), to: template(words[3]!) } };
      continue;
    }
    if (words[0] !== 'name')
      throw new CorefileError(
        `${placeOf(line)}: rewrite: the "${words[0] ?? ''}" field is not modelled (only name rewrites are)`,
      );
    const rest = words.slice(1);
    let match: NameMatch = 'exact';
    if ((MATCHES as readonly string[]).includes(rest[0]!)) match = rest.shift() as NameMatch;
    const [from, to, ...options] = rest;
    if (from === undefined || to === undefined)
      throw new CorefileError(`${placeOf(line)}: rewrite: name needs FROM and TO`);
    let answerAuto = false;
    let answerName: NameRewrite['answerName'];
    if (options[0] === 'answer' && options[1] === 'auto' && options.length === 2) answerAuto = true;
    else if (options[0] === 'answer' && options[1] === 'name' && options.length === 4)
      answerName = { from: regex(options[2]!, line), to: template(options[3]!) };
    else if (options.length > 0)
      throw new CorefileError(`${placeOf(line)}: rewrite: options "${options.join(' ')}" are not modelled`);
    if (match === 'regex') regex(from, line);
    rules.push({
      match,
      from: match === 'regex' ? from : fqdnIf(match, from),
      to: match === 'regex' ? template(to) : fqdnIf(match, to),
      continue: cont,
      answerAuto,
      ...(answerName ? { answerName } : {}),
    });
  }
  return rules;
}

/** Exact and suffix names are compared fully qualified; prefixes and substrings as written. */
function fqdnIf(match: NameMatch, name: string): string {
  return match === 'exact' || match === 'suffix' ? fqdn(name).toLowerCase() : name.toLowerCase();
}

function applyRule(rule: NameRewrite, name: string): string | undefined {
  const n = name.toLowerCase();
  switch (rule.match) {
    case 'exact':
      return n === rule.from ? rule.to : undefined;
    case 'prefix':
      return n.startsWith(rule.from) ? rule.to + n.slice(rule.from.length) : undefined;
    case 'suffix':
      return n.endsWith(rule.from) ? n.slice(0, n.length - rule.from.length) + rule.to : undefined;
    case 'substring':
      return n.includes(rule.from) ? n.replace(rule.from, rule.to) : undefined;
    case 'regex': {
      const re = new RegExp(rule.from, 'i');
      return re.test(n) ? fqdn(n.replace(re, rule.to)) : undefined;
    }
  }
}

export interface RewriteResult {
  readonly name: string;
  readonly applied: readonly NameRewrite[];
}

/** The question name after the rules, and the rules that fired (in order). */
export function rewriteQuestion(rules: readonly NameRewrite[], name: string): RewriteResult {
  let current = name;
  const applied: NameRewrite[] = [];
  for (const rule of rules) {
    const next = applyRule(rule, current);
    if (next === undefined) continue;
    current = fqdn(next);
    applied.push(rule);
    if (!rule.continue) break;
  }
  return { name: current, applied };
}

/** The response as the client sees it: its own question back, owner names mapped back where the rules say. */
export function restoreResponse(r: DnsResponse, original: string, rewritten: RewriteResult): DnsResponse {
  if (rewritten.applied.length === 0) return r;
  const mapName = (owner: string): string => {
    let out = owner;
    for (const rule of [...rewritten.applied].reverse()) {
      const byName = rule.answerName;
      if (byName?.from.test(out)) out = fqdn(out.replace(byName.from, byName.to));
      else if (rule.match === 'exact' && out.toLowerCase() === rule.to) out = rule.from;
      else if (rule.answerAuto && rule.match === 'suffix' && out.toLowerCase().endsWith(rule.to))
        out = out.slice(0, out.length - rule.to.length) + rule.from;
      else if (rule.answerAuto && out.toLowerCase() === rewritten.name.toLowerCase()) out = original;
    }
    return out;
  };
  return {
    ...r,
    question: { ...r.question, name: original },
    answer: r.answer.map((rr) => ({ ...rr, name: mapName(rr.name) })),
  };
}
