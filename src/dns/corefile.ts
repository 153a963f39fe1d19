// The Corefile (Caddyfile syntax) as plain data: server blocks with their zones and
// port, each holding plugin directives with arguments and optional nested blocks.
// `import` splices in snippets and files (globs too), as Caddy's parser does.
import { posix } from 'node:path';
import { fqdn } from './domain-name';

/** Where CoreDNS reads its Corefile: imports and relative names start from its directory. */
export const COREFILE_PATH = '/etc/coredns/Corefile';

/** The files the CoreDNS container sees, by absolute path (see corefileFiles). */
export type CorefileFiles = ReadonlyMap<string, string>;

const NO_FILES: CorefileFiles = new Map();

export interface Directive {
  readonly name: string;
  readonly args: readonly string[];
  /** 1-based line in its file. */
  readonly line: number;
  /** The file an imported directive came from; absent: the Corefile itself. */
  readonly file?: string;
  readonly block: readonly Directive[];
}

/** A line of the Corefile or of a file it imports. */
export interface Place {
  readonly line: number;
  readonly file?: string;
}

/** Where a directive or token stands, for messages: "line 3", or "/etc/coredns/custom/x.override: line 3". */
export function placeOf(at: Place): string {
  return at.file === undefined ? `line ${at.line}` : `${at.file}: line ${at.line}`;
}

export interface ServerZone {
  /** Fully qualified, lower case (`.` for the root). */
  readonly zone: string;
  readonly port: number;
}

export interface ServerBlock {
  readonly keys: readonly string[];
  readonly zones: readonly ServerZone[];
  readonly line: number;
  readonly directives: readonly Directive[];
}

export interface Corefile {
  readonly blocks: readonly ServerBlock[];
}

export class CorefileError extends Error {}

interface Token {
  readonly text: string;
  readonly line: number;
  /** A quoted token is never a brace. */
  readonly quoted: boolean;
  /** Absent: the Corefile. */
  readonly file?: string;
}

function tokenize(text: string, file?: string): Token[] {
  const at = (line: number) => placeOf(file === undefined ? { line } : { line, file });
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '"') {
      const start = line;
      let value = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) i++;
        if (text[i] === '\n') line++;
        value += text[i];
        i++;
      }
      if (i >= text.length) throw new CorefileError(`${at(start)}: unterminated quoted string`);
      i++;
      tokens.push({ text: value, line: start, quoted: true, ...(file !== undefined ? { file } : {}) });
    } else {
      let value = '';
      while (i < text.length && !/[\s#"]/.test(text[i]!)) value += text[i++];
      tokens.push({ text: value, line, quoted: false, ...(file !== undefined ? { file } : {}) });
    }
  }
  return tokens;
}

const isOpen = (t: Token | undefined) => t !== undefined && !t.quoted && t.text === '{';
const isClose = (t: Token | undefined) => t !== undefined && !t.quoted && t.text === '}';
/** Two tokens on one line of one file (Caddy's isNewLine compares both). */
const sameLine = (a: Token | undefined, b: Token | undefined) =>
  a !== undefined && b !== undefined && a.line === b.line && a.file === b.file;

/**
 * The caps on snippet and file imports in one parse (guards against cycles) of the Caddy
 * CoreDNS pins (coredns/caddy 15135a99); its file message prints the snippet cap.
 */
const MAX_SNIPPET_IMPORTS = 10_000;
const MAX_FILE_IMPORTS = 100_000;

/**
 * The tokens with every `import` (the first word of a line) replaced by what it names: a
 * snippet defined earlier (`(name) { ... }` at the top level, which is not a server block),
 * or the files a path or glob matches (relative to the importing file's directory; at most
 * one wildcard, as Caddy allows; lexical order). A glob matching nothing imports nothing
 * (Caddy only warns); a plain path that is missing is an error.
 */
function expandImports(tokens: readonly Token[], files: CorefileFiles): Token[] {
  const snippets = new Map<string, Token[]>();
  let snippetImports = 0;
  let fileImports = 0;
  const expand = (list: readonly Token[]): Token[] => {
    const out: Token[] = [];
    let depth = 0;
    for (let i = 0; i < list.length; i++) {
      const t = list[i]!;
      // Inside a block Caddy takes `import` anywhere a directive may start, `{ import x` too.
      const atLineStart = i === 0 || !sameLine(list[i - 1], t) || isOpen(list[i - 1]);
      if (!t.quoted && t.text === 'import' && atLineStart) {
        const arg = list[i + 1];
        if (!sameLine(arg, t)) throw new CorefileError(`${placeOf(t)}: import needs a file, glob or snippet name`);
        if (sameLine(list[i + 2], t))
          throw new CorefileError(`${placeOf(t)}: Import takes only one argument (glob pattern or file)`);
        const snippet = snippets.get(arg!.text);
        if (snippet ? ++snippetImports > MAX_SNIPPET_IMPORTS : ++fileImports > MAX_FILE_IMPORTS)
          throw new CorefileError(
            `${placeOf(t)}: maximum ${snippet ? 'snippet' : 'file'} import depth (${MAX_SNIPPET_IMPORTS}) exceeded`,
          );
        out.push(...expand(snippet ?? importedFiles(arg!, files)));
        i++;
        continue;
      }
      const snippetName = /^\((.+)\)$/.exec(t.text)?.[1];
      if (depth === 0 && !t.quoted && snippetName !== undefined && atLineStart && isOpen(list[i + 1])) {
        if (snippets.has(snippetName))
          throw new CorefileError(`${placeOf(t)}: redeclaration of previously declared snippet ${snippetName}`);
        let j = i + 2;
        for (let open = 1; j < list.length; j++) {
          if (isOpen(list[j])) open++;
          if (isClose(list[j]) && --open === 0) break;
        }
        if (j >= list.length) throw new CorefileError(`${placeOf(t)}: snippet ${snippetName} has no closing "}"`);
        const body = list.slice(i + 2, j);
        // Caddy's guard against the plainest cycle: a snippet importing itself fails at once.
        if (body.some((b, k) => b.text === 'import' && body[k + 1]?.text === snippetName && sameLine(b, body[k + 1])))
          throw new CorefileError(`${placeOf(t)}: maximum snippet import depth (${MAX_SNIPPET_IMPORTS}) exceeded`);
        snippets.set(snippetName, body);
        i = j;
        continue;
      }
      if (isOpen(t)) depth++;
      else if (isClose(t)) depth--;
      out.push(t);
    }
    return out;
  };
  return expand(tokens);
}

/** The tokens of the files an import's argument names. */
function importedFiles(arg: Token, files: CorefileFiles): Token[] {
  const from = posix.dirname(arg.file ?? COREFILE_PATH);
  const pattern = posix.isAbsolute(arg.text) ? posix.normalize(arg.text) : posix.join(from, arg.text);
  const count = (c: string) => pattern.split(c).length - 1;
  if (count('*') > 1 || count('?') > 1 || (pattern.includes('[') && pattern.includes(']')))
    throw new CorefileError(
      `${placeOf(arg)}: Glob pattern may only contain one wildcard (*), but has others: ${pattern}`,
    );
  // A lone `[` opens a character class that never closes: filepath.Glob's ErrBadPattern.
  if (pattern.includes('['))
    throw new CorefileError(`${placeOf(arg)}: Failed to use import pattern ${arg.text}: syntax error in pattern`);
  // Any of *?[] makes it a glob for Caddy: matching nothing is then only a warning.
  const glob = /[*?[\]]/.test(pattern);
  const matcher = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace('*', '[^/]*')
      .replace('?', '[^/]')}$`,
  );
  const matches = [...files.keys()].filter((path) => (glob ? matcher.test(path) : path === pattern)).sort();
  if (matches.length === 0 && !glob) throw new CorefileError(`${placeOf(arg)}: File to import not found: ${arg.text}`);
  return matches.flatMap((path) => tokenize(files.get(path)!, path));
}

/** Parses a server block key (`cluster.local:53`, `.:53`, `dns://.`, `10.0.0.0/24`). */
function parseZoneKey(key: string, at: Place): ServerZone[] {
  let rest = key;
  const scheme = /^([a-z+]+):\/\//.exec(rest);
  if (scheme) {
    if (scheme[1] !== 'dns')
      throw new CorefileError(`${placeOf(at)}: server "${key}": only dns:// servers are modelled`);
    rest = rest.slice(scheme[0].length);
  }
  let port = 53;
  const portMatch = /:(\d+)$/.exec(rest);
  if (portMatch) {
    port = Number(portMatch[1]);
    rest = rest.slice(0, -portMatch[0].length);
    if (port < 1 || port > 65535) throw new CorefileError(`${placeOf(at)}: server "${key}": ${port} is not a port`);
  }
  if (rest === '') rest = '.';
  const cidr = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(rest);
  if (cidr) return reverseZonesOfCIDR(cidr[1]!, Number(cidr[2]), key, at).map((zone) => ({ zone, port }));
  return [{ zone: fqdn(rest).toLowerCase(), port }];
}

/** An IPv4 CIDR as the in-addr.arpa zones covering it, octet-aligned as CoreDNS splits it. */
function reverseZonesOfCIDR(address: string, bits: number, key: string, at: Place): string[] {
  const octets = address.split('.').map(Number);
  if (bits > 32 || octets.some((o) => o > 255)) throw new CorefileError(`${placeOf(at)}: "${key}" is not a CIDR`);
  const whole = Math.floor(bits / 8);
  const spare = bits % 8;
  const fixed = octets.slice(0, whole);
  if (spare === 0) return [`${[...fixed].reverse().join('.')}${fixed.length ? '.' : ''}in-addr.arpa.`];
  const base = octets[whole]! & (0xff << (8 - spare));
  const zones: string[] = [];
  for (let v = base; v < base + (1 << (8 - spare)); v++)
    zones.push(`${[v, ...[...fixed].reverse()].join('.')}.in-addr.arpa.`);
  return zones;
}

/** Parses a Corefile; a syntax problem is a CorefileError naming the line. */
export function parseCorefile(text: string, files: CorefileFiles = NO_FILES): Corefile {
  const tokens = expandImports(tokenize(text), files);
  let pos = 0;

  function directives(closing: boolean): Directive[] {
    const out: Directive[] = [];
    for (;;) {
      const t = tokens[pos];
      if (t === undefined) {
        if (closing) throw new CorefileError(`${placeOf(tokens[pos - 1] ?? { line: 1 })}: missing "}"`);
        return out;
      }
      if (isClose(t)) {
        if (!closing) throw new CorefileError(`${placeOf(t)}: unexpected "}"`);
        pos++;
        return out;
      }
      if (isOpen(t)) throw new CorefileError(`${placeOf(t)}: unexpected "{"`);
      pos++;
      const args: string[] = [];
      while (sameLine(tokens[pos], t) && !isOpen(tokens[pos]) && !isClose(tokens[pos])) args.push(tokens[pos++]!.text);
      let block: Directive[] = [];
      if (isOpen(tokens[pos]) && sameLine(tokens[pos], t)) {
        pos++;
        block = directives(true);
      }
      out.push({ name: t.text, args, line: t.line, ...(t.file !== undefined ? { file: t.file } : {}), block });
    }
  }

  const blocks: ServerBlock[] = [];
  while (pos < tokens.length) {
    const first = tokens[pos]!;
    const keys: string[] = [];
    while (pos < tokens.length && !isOpen(tokens[pos])) {
      if (isClose(tokens[pos])) throw new CorefileError(`${placeOf(tokens[pos]!)}: unexpected "}"`);
      for (const k of tokens[pos++]!.text.split(',')) if (k !== '') keys.push(k);
    }
    if (pos >= tokens.length) throw new CorefileError(`${placeOf(first)}: server block "${keys.join(' ')}" has no "{"`);
    pos++;
    const zones = keys.flatMap((k) => parseZoneKey(k, first));
    blocks.push({ keys, zones, line: first.line, directives: directives(true) });
  }
  if (blocks.length === 0) throw new CorefileError('line 1: no server block');
  return { blocks };
}

/** Normalises zone arguments of a plugin the way CoreDNS does (fully qualified, lower case). */
export function normalizeZoneArgs(args: readonly string[], at: Place): string[] {
  return args.flatMap((a) => parseZoneKey(a, at).map((z) => z.zone));
}
