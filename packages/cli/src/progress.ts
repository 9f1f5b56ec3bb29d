/**
 * Progress of a long command on stderr. createProgressBar: a one-line bar,
 * drawn only when stderr is a TTY so that logs and pipes stay clean.
 * createProgressLines: the same bar on a TTY, and plain time-stamped lines
 * otherwise (CI logs, `| tee`), so that a pipe is not silent either.
 */
export interface ProgressBar {
  update(fraction: number, label: string): void;
  /** Prints a line above the bar (e.g. a finished round). */
  log(line: string): void;
  /** Clears the bar, runs write (output on another stream, e.g. a table row on stdout), draws the bar again. */
  around(write: () => void): void;
  done(): void;
}

/** What the bar writes to: a stream, a TTY or not. */
export type ProgressStream = Pick<NodeJS.WriteStream, 'write'> & { readonly isTTY?: boolean };

const CLEAR_LINE = '\r\x1b[2K';

export function createProgressBar(stream: ProgressStream = process.stderr, width = 30): ProgressBar {
  const enabled = Boolean(stream.isTTY);
  let last = '';
  const draw = (fraction: number, label: string) => {
    const f = Math.max(0, Math.min(1, fraction));
    const filled = Math.round(f * width);
    last = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(f * 100).toFixed(0).padStart(3)}% ${label}`;
    stream.write(`${CLEAR_LINE}${last}`);
  };
  return {
    update(fraction, label) {
      if (enabled) draw(fraction, label);
    },
    log(line) {
      if (enabled) stream.write(`${CLEAR_LINE}${line}\n${last}`);
    },
    around(write) {
      if (enabled && last) stream.write(CLEAR_LINE);
      write();
      if (enabled && last) stream.write(last);
    },
    done() {
      if (enabled) stream.write(CLEAR_LINE);
      last = '';
    },
  };
}

/** Progress that is seen on a TTY and in a pipe alike. */
export interface ProgressLines {
  /**
   * What is going on now: the bar's label on a TTY; otherwise `line` (default:
   * the label) as one time-stamped line.
   */
  status(fraction: number, label: string, line?: string): void;
  /** Text that stays, in both modes (a warning, a client that died): above the bar on a TTY. */
  note(text: string): void;
  /** Writes to another stream (the results on stdout) without tearing the bar. */
  print(out: Pick<NodeJS.WritableStream, 'write'>, text: string): void;
  done(): void;
}

export function createProgressLines(stream: ProgressStream = process.stderr, clock: () => number = Date.now): ProgressLines {
  if (stream.isTTY) {
    const bar = createProgressBar(stream);
    return {
      status: (fraction, label) => bar.update(fraction, label),
      note: (text) => bar.log(text),
      print: (out, text) => bar.around(() => out.write(text)),
      done: () => bar.done(),
    };
  }
  const started = clock();
  const line = (text: string) => stream.write(`[${((clock() - started) / 1000).toFixed(1)}s] ${text}\n`);
  return {
    status: (_fraction, label, text = label) => line(text),
    note: line,
    print: (out, text) => out.write(text),
    done: () => {},
  };
}
