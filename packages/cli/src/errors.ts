/** Errors a command raises on purpose; main maps each to an exit code in one place. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Exit codes scripts can rely on (docs/operations.md). */
export const EXIT = {
  ok: 0,
  /** Anything else that failed; the message says what. */
  failure: 1,
  /** Bad flags or arguments. */
  usage: 2,
  /** The coordinator could not be reached. */
  unreachable: 3,
  /** The coordinator refused: wrong state (no run, already paused...) or unknown client. */
  refused: 4,
  /** The operator credential was missing, wrong, or not an operator's (token or operator certificate). */
  unauthenticated: 5,
} as const;

/** A failure with its own exit code (from EXIT). */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}
