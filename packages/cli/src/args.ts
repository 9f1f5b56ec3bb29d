/**
 * Flag parsing on node's util.parseArgs, with typed readers that turn a bad
 * value into a UsageError naming the flag and what it expects.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { FlagError, UsageError } from './errors';

export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** Shown in --help; omit for internal flags. */
  readonly help?: string;
  /** Placeholder in --help, e.g. N, DIR. */
  readonly value?: string;
  readonly default?: string;
  /** Flags this one is an alternative to (--model-file to --model): given on the command line, it overrides them in a config file too. */
  readonly excludes?: readonly string[];
}

export type FlagSpecs = Record<string, FlagSpec>;
export type ParsedFlags = Record<string, string | boolean | undefined>;

export function parseFlags(argv: readonly string[], specs: FlagSpecs, command: string): { flags: ParsedFlags; positionals: string[] } {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = spec.short ? { type: spec.type, short: spec.short } : { type: spec.type };
  }
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    return { flags: values as ParsedFlags, positionals };
  } catch (error) {
    // main prefixes `pfedlora <command>: `; the message is one sentence and where to look.
    throw new UsageError(`${optionProblem(error, argv, specs)}. See 'pfedlora ${command} --help'.`);
  }
}

/** `--out` for `-o` or `-o, --out <value>` (node's way of naming an option in its errors). */
function longName(named: string, specs: FlagSpecs): string {
  const long = /--[^\s,<']+/.exec(named)?.[0];
  if (long) return long;
  const short = named.replace(/^-/, '');
  const found = Object.entries(specs).find(([, s]) => s.short === short);
  return found ? `--${found[0]}` : named;
}

/** A known flag one or two edits away from `name` (a typo), if any. */
function closestFlag(name: string, specs: FlagSpecs): string | undefined {
  const distance = (a: string, b: string): number => {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++) next.push(Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
      row = next;
    }
    return row[b.length]!;
  };
  const typed = name.replace(/^-+/, '');
  let best: { flag: string; d: number } | undefined;
  for (const flag of Object.keys(specs)) {
    const d = distance(typed, flag);
    if (d <= 2 && d < typed.length && (!best || d < best.d)) best = { flag, d };
  }
  return best && `--${best.flag}`;
}

/** node's parseArgs error as one clause: what is wrong with which option, and how to write it instead. */
function optionProblem(error: unknown, argv: readonly string[], specs: FlagSpecs): string {
  const message = error instanceof Error ? error.message : String(error);
  const option = /^Option '([^']+)'/.exec(message)?.[1];
  if (option !== undefined && /argument is ambiguous/.test(message)) {
    // The value node saw is the next word, which starts with '-'; node's own hint shows a placeholder (-XYZ), not it.
    const long = longName(option, specs);
    const at = argv.findIndex((a, i) => (a === option || a === long) && argv[i + 1]?.startsWith('-'));
    const next = at >= 0 ? argv[at + 1]! : undefined;
    if (next === undefined) return `option ${long} needs a value`;
    const nextName = next.replace(/=.*$/s, '');
    if (nextName.startsWith('--') && nextName.slice(2) in specs) return `option ${long} needs a value, got the option ${nextName}`;
    return `option ${long} needs a value (got "${next}"? write ${long}=${next})`;
  }
  if (option !== undefined && /argument missing/.test(message)) return `option ${longName(option, specs)} needs a value`;
  if (option !== undefined && /does not take an argument/.test(message)) {
    const long = longName(option, specs);
    const given = argv.find((a) => a.startsWith(`${long}=`));
    return `option ${long} takes no value${given ? ` (got "${given}")` : ''}`;
  }
  const unknown = /^Unknown option '([^']+)'/.exec(message)?.[1];
  if (unknown !== undefined) {
    const near = unknown.startsWith('--') ? closestFlag(unknown, specs) : undefined;
    // node names one letter of a group of short options (-hx: '-x'); show the word it came from.
    const word = argv.includes(unknown) || unknown.startsWith('--') ? undefined : argv.find((a) => /^-[^-]/.test(a) && a.includes(unknown.slice(1)));
    return `unknown option ${unknown}${word ? ` in "${word}"` : ''}${near ? ` (did you mean ${near}?)` : ''}`;
  }
  return (message.split('\n')[0] ?? message).replace(/\.+$/, '');
}

/**
 * Parses `pfedlora <command> <action> [flags]`: one positional, one of
 * `actions`. On --help or a missing action it prints `help` and hands back the
 * exit code to return instead: 0 when help was asked for, 2 (usage) otherwise.
 */
export function parseActionCommand<A extends string>(
  argv: readonly string[],
  specs: FlagSpecs,
  command: string,
  actions: readonly A[],
  help: string,
): { flags: ParsedFlags; action: A } | { exitCode: number } {
  const { flags, positionals } = parseFlags(argv, specs, command);
  const action = positionals[0];
  if (boolFlag(flags, 'help') || action === undefined) {
    process.stdout.write(help);
    return { exitCode: boolFlag(flags, 'help') ? 0 : 2 };
  }
  if (!(actions as readonly string[]).includes(action)) throw new UsageError(`unknown action "${action}": expected one of ${actions.join(', ')}`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  return { flags, action: action as A };
}

export function helpText(usage: string, description: string, specs: FlagSpecs): string {
  const rows = Object.entries(specs)
    .filter(([, s]) => s.help)
    .map(([name, s]) => {
      const left = `  ${s.short ? `-${s.short}, ` : ''}--${name}${s.type === 'string' ? ` ${s.value ?? 'VALUE'}` : ''}`;
      const def = s.default !== undefined ? ` (default: ${s.default})` : '';
      return { left, right: `${s.help}${def}` };
    });
  const width = Math.max(0, ...rows.map((r) => r.left.length)) + 2;
  return [`Usage: ${usage}`, '', description, '', 'Options:', ...rows.map((r) => r.left.padEnd(width) + r.right), ''].join('\n');
}

function raw(flags: ParsedFlags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function stringFlag(flags: ParsedFlags, name: string, fallback: string): string;
export function stringFlag(flags: ParsedFlags, name: string): string | undefined;
export function stringFlag(flags: ParsedFlags, name: string, fallback?: string): string | undefined {
  return raw(flags, name) ?? fallback;
}

/**
 * A safe integer in [min, max] (a value past 2^53 cannot be held exactly, so
 * `99999999999999999999` is an error, not 1e20).
 */
export function intFlag(flags: ParsedFlags, name: string, fallback: number, min = -Infinity, max = Infinity): number {
  const text = raw(flags, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`;
    const tooLarge = Number.isFinite(n) && Math.abs(n) > Number.MAX_SAFE_INTEGER && max === Infinity ? ` (larger than ${Number.MAX_SAFE_INTEGER})` : '';
    throw new FlagError(name, `expects an integer ${range}, got "${text}"${tooLarge}`);
  }
  return n;
}

export function floatFlag(flags: ParsedFlags, name: string, fallback: number, check: (n: number) => boolean, expected: string): number {
  const text = raw(flags, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || !check(n)) throw new FlagError(name, `expects ${expected}, got "${text}"`);
  return n;
}

export function choiceFlag<T extends string>(flags: ParsedFlags, name: string, choices: readonly T[], fallback: T): T {
  const text = raw(flags, name);
  if (text === undefined) return fallback;
  if (!(choices as readonly string[]).includes(text)) throw new FlagError(name, `expects one of ${choices.join(', ')}, got "${text}"`);
  return text as T;
}

export function boolFlag(flags: ParsedFlags, name: string): boolean {
  return flags[name] === true;
}
