// The result values the IPVS parsers return: bad input is a value naming the line and the token,
// never an exception, so the CLI can print one message and exit 2.

export type Result<T, E> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

export function err<E>(error: E): { readonly ok: false; readonly error: E } {
  return { ok: false, error };
}

/** One refused line: where it is, the token as written, why, and all of that as one sentence. */
export interface IpvsParseError {
  readonly source: string;
  readonly line: number;
  readonly token: string;
  readonly reason: string;
  /** `node.ipvs: line 3: unknown scheduler "xyz"`. */
  readonly message: string;
}

export function parseError(
  source: string,
  line: number,
  token: string,
  reason: string,
): { readonly ok: false; readonly error: IpvsParseError } {
  return err({ source, line, token, reason, message: `${source}: line ${line}: ${reason}` });
}
