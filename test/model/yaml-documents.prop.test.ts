// Scenario files are read by js-yaml when it takes them, by the yaml library otherwise (the one
// that words syntax errors). Whichever reads a file, its objects must be what the yaml library
// makes of it: the property writes documents full of scalars whose type depends on the schema
// (0x1F, 0o17, 017, 0b101, 1e3, .inf, yes, ~, 2001-12-14 ...), plain and quoted, in block and
// flow collections, with comments and empty documents, and compares with parseAllDocuments.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { newIssueLog } from '../../src/model/validation-issue';
import { readYamlObjects } from '../../src/model/yaml-documents';

const SCALARS = [
  '0x1F',
  '0X1F',
  '0o17',
  '017',
  '0b101',
  '1_000',
  '1e3',
  '1E-2',
  '1.5',
  '.5',
  '0.',
  '1.e3',
  '+3',
  '-0',
  '00',
  '.inf',
  '-.Inf',
  '+.INF',
  '.NaN',
  '.nan',
  'true',
  'True',
  'TRUE',
  'tRue',
  'yes',
  'no',
  'on',
  'off',
  'y',
  '~',
  'null',
  'Null',
  'NULL',
  'nULL',
  '2001-12-14',
  '2001-12-14t21:59:43.10-05:00',
  '12:30',
  '1:20:30',
  '9007199254740993',
  '-12',
  '0x',
  '0o',
  '1e',
  'e3',
  'abc',
  'a b',
  '10.96.0.10',
  '10.244.0.0/16',
  '80',
  '"80"',
  "'true'",
  '"0x1F"',
  '""',
  "''",
  '"a\\tb"',
  "'it''s'",
  '!!str 12',
  '!!int "7"',
  '!!float 1',
  '!!bool true',
];

const scalar = fc.constantFrom(...SCALARS);
const key = fc.constantFrom('a', 'b', 'port', 'name', 'on', 'yes', '1', '"k"', "'x y'", 'null', '~', '', '0x1F');

/** A value written by hand: plain scalars left to the schema, in block or flow collections. */
const handWritten: fc.Arbitrary<(indent: string) => string> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar.map((s) => () => ` ${s}`),
    fc.array(scalar, { maxLength: 4 }).map((items) => () => ` [${items.join(', ')}]`),
    fc
      .array(fc.tuple(key, scalar), { maxLength: 3 })
      .map((pairs) => () => ` {${pairs.map(([k, v]) => `${k}: ${v}`).join(', ')}}`),
    fc
      .array(tie('value') as fc.Arbitrary<(indent: string) => string>, { minLength: 1, maxLength: 3 })
      .map((items) => (indent: string) => items.map((item) => `\n${indent}-${item(`${indent}  `)}`).join('')),
    fc
      .uniqueArray(fc.tuple(fc.constantFrom('a', 'b', 'c', 'data', 'spec'), tie('value')), {
        minLength: 1,
        maxLength: 3,
        selector: ([k]) => k,
      })
      .map(
        (pairs) => (indent: string) =>
          pairs.map(([k, v]) => `\n${indent}${k}:${(v as (indent: string) => string)(`${indent}  `)}`).join(''),
      ),
  ),
})).value;

/** A Kubernetes-looking object around the value, written by hand or by the yaml library. */
const document = fc.oneof(
  handWritten.map(
    (data) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: default}  # a comment\ndata:${data('  ')}\n`,
  ),
  fc.jsonValue({ maxDepth: 3 }).map((data) => stringify({ apiVersion: v1(), kind: 'ConfigMap', data })),
  fc.constantFrom('', '# only a comment\n', '~\n'),
);

/** Documents, some after a %YAML 1.1 directive (octal 010, "on" as true: the library honours it). */
const directive = fc.constantFrom('', '%YAML 1.1\n---\n', '%YAML 1.2\n---\n');

function v1(): string {
  return 'v1';
}

/** A document the yaml library parses but will not turn into a value (YAML 1.1's `<<: 0`: a merge of a scalar). */
const REFUSED = Symbol('refused');

/** What the yaml library makes of the text: each document's value (or REFUSED), or null for a text it refuses. */
function yamlLibrary(text: string): unknown[] | null {
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  if (list.some((d) => d.errors.length > 0)) return null;
  return list.map((d) => {
    try {
      return d.toJS({ maxAliasCount: 10_000 });
    } catch {
      return REFUSED;
    }
  });
}

describe('scenario YAML', () => {
  it('gives the objects the yaml library gives, whichever parser reads it', () => {
    fc.assert(
      fc.property(directive, fc.array(document, { minLength: 1, maxLength: 4 }), (head, docs) => {
        const text = head + docs.map((d, i) => (i === 0 ? d : `---\n${d}`)).join('');
        const expected = yamlLibrary(text);
        const log = newIssueLog();
        const read = readYamlObjects(text, 'test.yaml', log);
        if (expected === null) {
          expect(log.errors.map((e) => e.code)).toEqual(['yaml-syntax']);
          return;
        }
        expect(read.documents).toBe(expected.length);
        // A document refused as a value is one syntax issue; the others are read.
        expect(log.errors.map((e) => e.code)).toEqual(expected.filter((v) => v === REFUSED).map(() => 'yaml-syntax'));
        const objects = expected
          .map((value, i) => ({ value, document: i + 1 }))
          .filter((d) => d.value !== null && d.value !== undefined);
        // Non-objects (a bare "~" document is null and skipped; a scalar would be an issue) aside.
        expect(read.objects.map((o) => ({ value: o.body, document: o.document }))).toEqual(
          objects.filter((d) => typeof d.value === 'object' && !Array.isArray(d.value)),
        );
      }),
      { numRuns: 400 },
    );
  });
  it('still words syntax errors and refuses alias bombs as before', () => {
    const log = newIssueLog();
    readYamlObjects('kind: Service\nmetadata: {name: x\n', 'bad.yaml', log);
    expect(log.errors[0]!.message).toMatch(/^malformed YAML at line \d+, column \d+: /);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const next = String.fromCharCode(97 + i);
      bomb.push(`${next}: &${next} [${Array(10).fill(`*${prev}`).join(', ')}]`);
    }
    const bombLog = newIssueLog();
    readYamlObjects(`apiVersion: v1\nkind: ConfigMap\ndata:\n  ${bomb.join('\n  ')}\n`, 'bomb.yaml', bombLog);
    expect(bombLog.errors.map((e) => e.code)).toEqual(['yaml-syntax']);
  });
});
