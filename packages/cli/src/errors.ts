/** Errors a command raises on purpose; main maps each to an exit code in one place. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Exit codes scripts can rely on (docs/cli.md). */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
} as const;
