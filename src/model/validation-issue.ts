// Problems found in a scenario, as values: the loader collects every one of them so a
// user fixes a file in one pass, and the CLI renders them with `formatIssue`.

export interface ValidationIssue {
  /** Stable machine-readable kind of problem, e.g. `invalid-cidr`, `leading-zeros`. */
  readonly code: string;
  readonly file: string;
  /** 1-based YAML document number; 0 when the issue is about the whole file. */
  readonly document: number;
  /** The object, e.g. `Service default/myapp`; empty when none could be named. */
  readonly object: string;
  /** Field path inside the object, e.g. `spec.ports[0].port`; empty for the whole object. */
  readonly path: string;
  readonly message: string;
}

/** Renders `FILE: document 3 (Service default/myapp): spec.ports[0].port: MESSAGE`. */
export function formatIssue(issue: ValidationIssue): string {
  let where = issue.file;
  if (issue.document > 0) where += `: document ${issue.document}`;
  if (issue.object !== '') where += ` (${issue.object})`;
  const path = issue.path === '' ? '' : `${issue.path}: `;
  return `${where}: ${path}${issue.message}`;
}

/** Where the issues of a load go; errors make the load fail, warnings do not. */
export interface IssueLog {
  readonly errors: ValidationIssue[];
  readonly warnings: ValidationIssue[];
}

export function newIssueLog(): IssueLog {
  return { errors: [], warnings: [] };
}

/** What an issue found while reading one object is attributed to. */
export interface ObjectContext {
  readonly file: string;
  readonly document: number;
  readonly object: string;
  /** Prepended to every path: `items[3].` for an item of a `kind: List`. */
  readonly prefix: string;
  readonly log: IssueLog;
}

function issueAt(ctx: ObjectContext, path: string, code: string, message: string): ValidationIssue {
  const full = ctx.prefix === '' ? path : path === '' ? ctx.prefix.replace(/\.$/, '') : ctx.prefix + path;
  return { code, file: ctx.file, document: ctx.document, object: ctx.object, path: full, message };
}

export function reportError(ctx: ObjectContext, path: string, code: string, message: string): void {
  ctx.log.errors.push(issueAt(ctx, path, code, message));
}

export function reportWarning(ctx: ObjectContext, path: string, code: string, message: string): void {
  ctx.log.warnings.push(issueAt(ctx, path, code, message));
}
