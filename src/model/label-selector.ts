// Label selectors: the equality maps of Services and nodeSelectors, and the
// matchLabels/matchExpressions form of workloads.
import {
  fieldPath,
  indexPath,
  readEnum,
  readList,
  readMap,
  readString,
  readStringList,
  readStringMap,
} from './field-reader';
import type { ObjectContext } from './validation-issue';

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values: readonly string[];
}

export interface LabelSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly LabelSelectorRequirement[];
}

const OPERATORS: readonly SelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

export function parseLabelSelector(ctx: ObjectContext, value: unknown, path: string): LabelSelector | undefined {
  const map = readMap(ctx, value, path);
  if (!map) return undefined;
  const matchExpressions: LabelSelectorRequirement[] = [];
  const exprPath = fieldPath(path, 'matchExpressions');
  readList(ctx, map.matchExpressions, exprPath).forEach((item, i) => {
    const itemPath = indexPath(exprPath, i);
    const expr = readMap(ctx, item, itemPath);
    if (!expr) return;
    const key = readString(ctx, expr.key, fieldPath(itemPath, 'key'));
    const operator = readEnum(ctx, expr.operator, fieldPath(itemPath, 'operator'), OPERATORS);
    const values = readStringList(ctx, expr.values, fieldPath(itemPath, 'values'));
    if (key !== undefined && operator !== undefined) matchExpressions.push({ key, operator, values });
  });
  return { matchLabels: readStringMap(ctx, map.matchLabels, fieldPath(path, 'matchLabels')), matchExpressions };
}

/** Equality-based selection: every key of `selector` present with the same value. */
export function labelsMatch(
  selector: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

export function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  if (!labelsMatch(selector.matchLabels, labels)) return false;
  return selector.matchExpressions.every((req) => {
    const has = Object.hasOwn(labels, req.key);
    switch (req.operator) {
      case 'In':
        return has && req.values.includes(labels[req.key]!);
      case 'NotIn':
        return !has || !req.values.includes(labels[req.key]!);
      case 'Exists':
        return has;
      // DoesNotExist
      default:
        return !has;
    }
  });
}

export function isEmptySelector(selector: LabelSelector): boolean {
  return Object.keys(selector.matchLabels).length === 0 && selector.matchExpressions.length === 0;
}
