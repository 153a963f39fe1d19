// `trace --expect OUTCOME`: the command fails (exit status 1) unless every way the packet
// may go ends in that outcome: every branch of a trace (whatever its probability), every
// path of a walk across nodes, every connection of --sample. For checks in CI ("this must
// be dropped", "this must get through") that a 1-in-3 drop must not pass.
import type { Outcome } from '../engine';
import { UserError } from './user-error';

const OUTCOMES: readonly Outcome[] = ['ACCEPT', 'DROP', 'REJECT', 'NO_ROUTE', 'NO_ENDPOINTS'];

/** The outcome `--expect` (or a batch line's "expect") names; bad input otherwise. */
export function parseExpectedOutcome(text: unknown, where: string): Outcome {
  const upper = typeof text === 'string' ? text.toUpperCase() : '';
  const found = OUTCOMES.find((o) => o === upper);
  if (found === undefined)
    throw new UserError(`${where}: "${String(text)}" is not an outcome (${OUTCOMES.join(', ')})`);
  return found;
}

/** Percent with at most two decimals ("33.33%"). */
function percent(share: number): string {
  return `${Number((100 * share).toFixed(2))}%`;
}

/**
 * Why the ways a packet went do not all end in `expected`, or null when they do. `ways`: each
 * branch or path with its probability (they sum to 1).
 */
export function unmetOutcome(
  expected: Outcome,
  ways: readonly { readonly outcome: Outcome; readonly probability: number }[],
): string | null {
  const others = new Map<Outcome, number>();
  for (const w of ways) if (w.outcome !== expected) others.set(w.outcome, (others.get(w.outcome) ?? 0) + w.probability);
  if (others.size === 0) return null;
  const found = [...others].map(([outcome, share]) => `${outcome} with probability ${percent(share)}`);
  return `expected ${expected}, but the packet may end ${found.join(', ')}`;
}

/** As unmetOutcome, for counted connections (--sample). */
export function unmetOutcomeCounts(expected: Outcome, counts: Readonly<Record<string, number>>): string | null {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const others = Object.entries(counts).filter(([outcome, n]) => outcome !== expected && n > 0);
  if (others.length === 0) return null;
  return `expected ${expected}, but ${others.map(([outcome, n]) => `${n} of ${total} connections ended ${outcome}`).join(', ')}`;
}

/** The failure the command ends with: status 1, each unmet expectation on a line of its own. */
export function expectationFailure(unmet: readonly string[]): UserError {
  return new UserError(unmet.join('\nknetsim: '), 1);
}
