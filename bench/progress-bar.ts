// A one-line progress bar on standard error when it is a terminal; silent otherwise, so
// logs and CI output keep only the results.

export interface Progress {
  /** What runs now, and how far the whole run is (0..1). */
  step(what: string, fraction: number): void;
  done(): void;
}

export function progressBar(stream: NodeJS.WriteStream = process.stderr, width = 24): Progress {
  if (!stream.isTTY) return { step: () => {}, done: () => {} };
  let last = '';
  return {
    step(what, fraction) {
      const f = Math.max(0, Math.min(1, fraction));
      const filled = Math.round(f * width);
      const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(f * 100)).padStart(3)}% ${what}`;
      const cols = stream.columns ?? 100;
      const text = line.length > cols - 1 ? `${line.slice(0, cols - 2)}…` : line;
      stream.write(`\r${text.padEnd(last.length)}`);
      last = text;
    },
    done() {
      if (last) stream.write(`\r${' '.repeat(last.length)}\r`);
      last = '';
    },
  };
}
