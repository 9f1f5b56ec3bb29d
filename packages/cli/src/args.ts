/**
 * Flag parsing on node's util.parseArgs, with typed readers that turn a bad
 * value into a UsageError naming the flag and what it expects.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors';

export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** Shown in --help; omit for internal flags. */
  readonly help?: string;
  /** Placeholder in --help, e.g. N, DIR. */
  readonly value?: string;
  readonly default?: string;
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
    const message = error instanceof Error ? error.message.replace(/\. To specify.*$/s, '') : String(error);
    throw new UsageError(`${command}: ${message}. See 'pfedlora ${command} --help'.`);
  }
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

export function intFlag(flags: ParsedFlags, name: string, fallback: number, min = -Infinity, max = Infinity): number {
  const text = raw(flags, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new UsageError(`--${name} expects an integer ${range}, got "${text}"`);
  }
  return n;
}

export function floatFlag(flags: ParsedFlags, name: string, fallback: number, check: (n: number) => boolean, expected: string): number {
  const text = raw(flags, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || !check(n)) throw new UsageError(`--${name} expects ${expected}, got "${text}"`);
  return n;
}

export function choiceFlag<T extends string>(flags: ParsedFlags, name: string, choices: readonly T[], fallback: T): T {
  const text = raw(flags, name);
  if (text === undefined) return fallback;
  if (!(choices as readonly string[]).includes(text)) throw new UsageError(`--${name} expects one of ${choices.join(', ')}, got "${text}"`);
  return text as T;
}

export function boolFlag(flags: ParsedFlags, name: string): boolean {
  return flags[name] === true;
}
