// Reads a file the user named ("-" is standard input), as a UserError when it cannot.
import { readFileSync } from 'node:fs';
import { UserError } from './user-error';

export function readInput(path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
    throw new UserError(`${path}: cannot read: ${why}`);
  }
}
