// Multi-document YAML to Kubernetes objects: empty documents skipped, `kind: List`
// (and typed lists such as ServiceList, as the API returns them) flattened into items.
import { loadAll } from 'js-yaml';
import type * as Yaml from 'yaml';
import { describeValue, indexPath, isMap, type YamlMap } from './field-reader';
import { requiredWhenNeeded } from './required-when-needed';
import type { IssueLog, ValidationIssue } from './validation-issue';

export interface RawObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly body: YamlMap;
  /** 1-based document number in the file. */
  readonly document: number;
  /** `items[3].` for an item of a list, else empty. */
  readonly prefix: string;
}

export interface YamlObjects {
  readonly objects: RawObject[];
  readonly documents: number;
}

/** Aliases may expand this many times per document (guards against "billion laughs"). */
const MAX_ALIAS_COUNT = 10_000;

function syntaxIssue(file: string, document: number, message: string): ValidationIssue {
  return { code: 'yaml-syntax', file, document, object: '', path: '', message };
}

/** The yaml library's message without its own " at line L, column C:" and code excerpt. */
function yamlErrorMessage(error: { message: string; linePos?: [{ line: number; col: number }, ...unknown[]] }): string {
  const text = error.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '').trim();
  const pos = error.linePos?.[0];
  return pos ? `malformed YAML at line ${pos.line}, column ${pos.col}: ${text}` : `malformed YAML: ${text}`;
}

function objectIssue(file: string, document: number, path: string, code: string, message: string): ValidationIssue {
  return { code, file, document, object: '', path, message };
}

/**
 * What js-yaml reads differently from the yaml library: a "!" where a node's tag may begin (at
 * the start of a line, or after a space, "[", "{", ",", ":" or "-"); a directive line ("%YAML
 * 1.1" changes how scalars resolve); a key that may be null ("null:", "~:", ": x"), which the
 * library makes "" and js-yaml "null". Texts with any of them, or what merely looks like one,
 * go the library's way.
 */
const READ_DIFFERENTLY = /(?:^|[\s[{,:-])!|^%|(?:^|[\s{,?])(?:~|null|Null|NULL)?[ \t]*:(?:[ \t]|$)/m;

/**
 * The documents' values read by js-yaml (its core schema resolves scalars as the yaml library's
 * YAML 1.2 core schema does), or null when it refuses the text: a syntax error, a duplicate key,
 * an alias (refused here: the yaml library's path limits how far aliases expand), or what it reads
 * differently (READ_DIFFERENTLY). The yaml library builds a whole document tree first and took
 * four seconds for a 10,000-Service dump that js-yaml reads in 0.6; whatever js-yaml is not
 * given or refuses goes the library's way, which words the errors.
 */
function quickDocuments(text: string): unknown[] | null {
  if (READ_DIFFERENTLY.test(text)) return null;
  try {
    return loadAll(text, { maxAliases: 0 });
  } catch {
    return null;
  }
}

/**
 * The yaml library, loaded when first needed: most files go js-yaml's way, and loading it at start
 * cost every knetsim command about 40 ms (the dump commands never read YAML at all).
 */
const yamlLib = requiredWhenNeeded<typeof Yaml>('yaml');

/**
 * Reads every object of the file. A syntax error yields a single issue (nothing after
 * it can be trusted) and no objects; object-shape problems are collected per object.
 */
export function readYamlObjects(text: string, file: string, log: IssueLog): YamlObjects {
  const values = quickDocuments(text);
  if (values !== null) {
    const objects: RawObject[] = [];
    values.forEach((value, i) => {
      if (value !== null && value !== undefined) collect(value, i + 1, '', undefined, file, log, objects);
    });
    return { objects, documents: values.length };
  }
  const docs = yamlLib().parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  for (const [i, doc] of list.entries()) {
    const error = doc.errors[0];
    if (error) {
      log.errors.push(syntaxIssue(file, i + 1, yamlErrorMessage(error)));
      return { objects: [], documents: list.length };
    }
  }
  const objects: RawObject[] = [];
  for (const [i, doc] of list.entries()) {
    const document = i + 1;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      log.errors.push(syntaxIssue(file, document, `malformed YAML: ${(e as Error).message}`));
      continue;
    }
    if (value === null || value === undefined) continue;
    collect(value, document, '', undefined, file, log, objects);
  }
  return { objects, documents: list.length };
}

interface ListDefaults {
  readonly apiVersion: string;
  readonly kind: string;
}

function collect(
  value: unknown,
  document: number,
  prefix: string,
  defaults: ListDefaults | undefined,
  file: string,
  log: IssueLog,
  out: RawObject[],
): void {
  const where = prefix.replace(/\.$/, '');
  if (!isMap(value)) {
    log.errors.push(
      objectIssue(
        file,
        document,
        where,
        'not-an-object',
        `expected a Kubernetes object (a map with apiVersion and kind), got ${describeValue(value)}`,
      ),
    );
    return;
  }
  const apiVersion = typeof value.apiVersion === 'string' ? value.apiVersion : defaults?.apiVersion;
  const kind = typeof value.kind === 'string' ? value.kind : defaults?.kind;
  const missing = [
    apiVersion === undefined || apiVersion === '' ? 'apiVersion' : '',
    kind === undefined || kind === '' ? 'kind' : '',
  ].filter((f) => f !== '');
  if (missing.length > 0) {
    for (const field of missing) {
      log.errors.push(objectIssue(file, document, `${prefix}${field}`, 'missing-field', 'missing required field'));
    }
    return;
  }
  if (kind!.endsWith('List') && value.items !== undefined && value.items !== null && !Array.isArray(value.items)) {
    log.errors.push(
      objectIssue(file, document, `${prefix}items`, 'not-a-list', `expected a list, got ${describeValue(value.items)}`),
    );
    return;
  }
  if (kind!.endsWith('List') && Array.isArray(value.items)) {
    // Items of a typed list (ServiceList) carry no kind of their own; those of `List` do.
    const itemDefaults =
      kind === 'List' ? undefined : { apiVersion: apiVersion!, kind: kind!.slice(0, -'List'.length) };
    value.items.forEach((item, i) => {
      collect(item, document, `${indexPath(`${prefix}items`, i)}.`, itemDefaults, file, log, out);
    });
    return;
  }
  out.push({ apiVersion: apiVersion!, kind: kind!, body: value, document, prefix });
}
