// metadata: the part every Kubernetes object shares (name, namespace, labels, owners).
import {
  fieldPath,
  indexPath,
  isMap,
  readBool,
  readList,
  readMap,
  readString,
  readStringMap,
  requireField,
} from './field-reader';
import { type ObjectContext, reportError } from './validation-issue';

export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid?: string;
  readonly controller: boolean;
}

export interface ObjectMeta {
  readonly name: string;
  /** `default` when not given for a namespaced kind; empty for cluster-scoped kinds. */
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly ownerReferences: readonly OwnerReference[];
  readonly uid?: string;
  /** Set on objects being deleted (terminating pods). */
  readonly deletionTimestamp?: string;
}

/** Name and namespace read without reporting, to name the object in its own issues. */
export function peekIdentity(body: unknown, namespaced: boolean): { name: string; namespace: string } {
  const meta = isMap(body) && isMap(body.metadata) ? body.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '';
  const namespace = namespaced
    ? typeof meta.namespace === 'string' && meta.namespace !== ''
      ? meta.namespace
      : 'default'
    : '';
  return { name, namespace };
}

/** `Service default/myapp`, `Node worker-1`, `Service <unnamed>`. */
export function objectLabel(kind: string, namespace: string, name: string): string {
  const shown = name === '' ? '<unnamed>' : name;
  return namespace === '' ? `${kind} ${shown}` : `${kind} ${namespace}/${shown}`;
}

function readOwnerReference(ctx: ObjectContext, value: unknown, path: string): OwnerReference | undefined {
  const map = readMap(ctx, value, path);
  if (!map) return undefined;
  const kind = readString(ctx, map.kind, fieldPath(path, 'kind'));
  const name = readString(ctx, map.name, fieldPath(path, 'name'));
  if (kind === undefined || name === undefined) return undefined;
  const uid = readString(ctx, map.uid, fieldPath(path, 'uid'));
  return {
    apiVersion: readString(ctx, map.apiVersion, fieldPath(path, 'apiVersion')) ?? '',
    kind,
    name,
    ...(uid === undefined ? {} : { uid }),
    controller: readBool(ctx, map.controller, fieldPath(path, 'controller')) ?? false,
  };
}

/**
 * The names the API server takes (apimachinery's validation): most objects' a DNS-1123 subdomain,
 * a Namespace's (and every metadata.namespace) a DNS-1123 label, a Service's a DNS-1035 label.
 */
export type NameRule = 'subdomain' | 'label' | 'dns1035';

const NAME_RULES: Readonly<
  Record<NameRule, { readonly pattern: RegExp; readonly max: number; readonly words: string }>
> = {
  subdomain: {
    pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    max: 253,
    words:
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
  },
  label: {
    pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    max: 63,
    words:
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
  },
  dns1035: {
    pattern: /^[a-z]([-a-z0-9]*[a-z0-9])?$/,
    max: 63,
    words:
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
  },
};

/** Reports a name the API server refuses under `rule` (its length or its form) at `path`. */
export function checkName(
  ctx: ObjectContext,
  name: string | undefined,
  path: string,
  rule: NameRule,
  code = 'invalid-name',
): void {
  if (name === undefined || name === '') return;
  const r = NAME_RULES[rule];
  if (name.length > r.max)
    reportError(ctx, path, code, `${JSON.stringify(name.slice(0, 40))}...: must be no more than ${r.max} characters`);
  else if (!r.pattern.test(name)) reportError(ctx, path, code, `${JSON.stringify(name)}: ${r.words}`);
}

export function parseObjectMeta(
  ctx: ObjectContext,
  value: unknown,
  namespaced: boolean,
  nameRule: NameRule = 'subdomain',
): ObjectMeta {
  const map = readMap(ctx, value, 'metadata') ?? {};
  const name = readString(ctx, map.name, 'metadata.name');
  requireField(ctx, map.name, 'metadata.name');
  checkName(ctx, name, 'metadata.name', nameRule);
  const namespace = namespaced ? (readString(ctx, map.namespace, 'metadata.namespace') ?? '') : '';
  checkName(ctx, namespace, 'metadata.namespace', 'label');
  const ownerReferences: OwnerReference[] = [];
  readList(ctx, map.ownerReferences, 'metadata.ownerReferences').forEach((item, i) => {
    const ref = readOwnerReference(ctx, item, indexPath('metadata.ownerReferences', i));
    if (ref) ownerReferences.push(ref);
  });
  const uid = readString(ctx, map.uid, 'metadata.uid');
  const deletionTimestamp = readTimestamp(ctx, map.deletionTimestamp, 'metadata.deletionTimestamp');
  return {
    name: name ?? '',
    namespace: namespaced && namespace === '' ? 'default' : namespace,
    labels: readStringMap(ctx, map.labels, 'metadata.labels'),
    annotations: readStringMap(ctx, map.annotations, 'metadata.annotations'),
    ownerReferences,
    ...(uid === undefined ? {} : { uid }),
    ...(deletionTimestamp === undefined ? {} : { deletionTimestamp }),
  };
}

/** YAML may turn an unquoted timestamp into a Date; either way it is kept as text. */
function readTimestamp(ctx: ObjectContext, value: unknown, path: string): string | undefined {
  if (value instanceof Date) return value.toISOString();
  return readString(ctx, value, path);
}

/** The managing owner: the `controller: true` reference, else (hand-written objects) the first one. */
export function controllerOf(meta: {
  readonly ownerReferences: readonly OwnerReference[];
}): OwnerReference | undefined {
  return meta.ownerReferences.find((ref) => ref.controller) ?? meta.ownerReferences[0];
}
