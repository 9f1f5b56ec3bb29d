/**
 * A one-line progress bar on stderr, drawn only when stderr is a TTY so that
 * logs and pipes stay clean.
 */
export interface ProgressBar {
  update(fraction: number, label: string): void;
  /** Prints a line above the bar (e.g. a finished round). */
  log(line: string): void;
  done(): void;
}

export function createProgressBar(stream: NodeJS.WriteStream = process.stderr, width = 30): ProgressBar {
  const enabled = Boolean(stream.isTTY);
  let last = '';
  const draw = (fraction: number, label: string) => {
    const f = Math.max(0, Math.min(1, fraction));
    const filled = Math.round(f * width);
    last = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(f * 100).toFixed(0).padStart(3)}% ${label}`;
    stream.write(`\r\x1b[2K${last}`);
  };
  return {
    update(fraction, label) {
      if (enabled) draw(fraction, label);
    },
    log(line) {
      if (enabled) stream.write(`\r\x1b[2K${line}\n${last}`);
    },
    done() {
      if (enabled) stream.write('\r\x1b[2K');
    },
  };
}
