/** Errors a command raises on purpose; main maps each to an exit code in one place. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Names a flag (and its value) the way the user gave it: `--rounds 3` on the command line, `rounds 3` in a config file. */
export type FlagRef = (flag: string, value?: string | number) => string;

export const commandLineRef: FlagRef = (flag, value) => (value === undefined ? `--${flag}` : `--${flag} ${value}`);

/**
 * A bad value of one flag (`--rounds expects an integer ..., got "ten"`), or
 * of one flag against others it names in `related` (`--wait-clients 2 is below
 * --min-clients 5`). The message names flags as on the command line; a config
 * file's reader renders it again naming the file and key (config-file.ts).
 */
export class FlagError extends UsageError {
  readonly related: readonly string[];
  private readonly describe: (ref: FlagRef) => string;
  private readonly colon: boolean;

  /** `problem` follows the flag's name: `--rounds <problem>`, or `--model: <problem>` with `colon`. */
  constructor(
    readonly flag: string,
    problem: string | ((ref: FlagRef) => string),
    options: { readonly related?: readonly string[]; readonly colon?: boolean } = {},
  ) {
    const describe = typeof problem === 'string' ? () => problem : problem;
    super(`--${flag}${options.colon ? ':' : ''} ${describe(commandLineRef)}`);
    this.describe = describe;
    this.related = options.related ?? [];
    this.colon = options.colon ?? false;
  }

  /** What is wrong, without the flag's own name, naming the related flags with `ref`. */
  problem(ref: FlagRef = commandLineRef): string {
    return this.describe(ref);
  }

  /** The message with the flag and the related ones named by `ref`, e.g. `config.yaml: rounds: ...` style refs. */
  render(ref: FlagRef): string {
    return `${ref(this.flag)}${this.colon ? ':' : ''} ${this.describe(ref)}`;
  }
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
