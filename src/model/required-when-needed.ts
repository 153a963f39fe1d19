// A library required the first time it is used rather than when knetsim starts: some work
// out tables as they load, and most commands never call them (every command paid for them).
import { createRequire } from 'node:module';

/** A function giving the library `name`, required on its first call. */
export function requiredWhenNeeded<T>(name: string): () => T {
  let library: T | undefined;
  return () => {
    library ??= createRequire(import.meta.url)(name) as T;
    return library;
  };
}
