// The result values ipset's parsers and set operations return: bad input is a value the
// caller renders, never an exception.

export type Result<T, E> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

export function err<E>(error: E): { readonly ok: false; readonly error: E } {
  return { ok: false, error };
}

/** One refused piece of input: the token as written, and why, in words for a user. */
export interface Problem {
  readonly token: string;
  readonly reason: string;
}

export function problem(token: string, reason: string): { readonly ok: false; readonly error: Problem } {
  return err({ token, reason });
}
