/**
 * YAML configuration files for the long-running commands. A file holds the
 * same options as the command's flags (same names, e.g. `min-clients: 3`);
 * flags given on the command line override it. The file's shape is checked
 * with a zod schema derived from the flag table (unknown keys and wrong types
 * are named), and every value then goes through the same validation as its
 * flag, so an error names the file, the key and what it expects
 * (`config.yaml: rounds: expects an integer ...`). A file is a file: a value
 * the command line overrides is still checked, and a bad one is still an error.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { parseFlags, type FlagSpecs, type ParsedFlags } from './args';
import { commandLineRef, FlagError, UsageError, type FlagRef } from './errors';

export const CONFIG_FLAG: FlagSpecs = {
  config: { type: 'string', value: 'FILE', help: 'YAML file with any of these options (flags given here override it)' },
};

/** Keys a file may not set: where the file itself is, and help. */
const NOT_IN_FILE = new Set(['config', 'help']);

/** A file's value: YAML integers are read as bigint so `99999999999999999999` reaches the flag's check as written, not as 1e20. */
export type ConfigValue = string | number | bigint | boolean;

export function configSchema(specs: FlagSpecs): z.ZodType<Partial<Record<string, ConfigValue>>> {
  const shape: Record<string, z.ZodType<ConfigValue>> = {};
  for (const [name, spec] of Object.entries(specs)) {
    if (NOT_IN_FILE.has(name)) continue;
    shape[name] =
      spec.type === 'boolean'
        ? z.boolean({ error: 'expected true or false' })
        : z.union([z.string(), z.number(), z.bigint()], { error: `expected ${spec.value ?? 'a value'} (a string or number)` });
  }
  return z.strictObject(shape).partial();
}

export function readConfigFile(path: string, specs: FlagSpecs, command: string): Partial<Record<string, ConfigValue>> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text, { intAsBigInt: true }) ?? {};
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` (line ${error.linePos[0].line})` : '';
    throw new UsageError(`${path}: not valid YAML${where}: ${(error as Error).message.split('\n')[0]}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new UsageError(`${path}: expected a mapping of ${command} options (key: value), got ${Array.isArray(data) ? 'a list' : typeof data}`);
  const parsed = configSchema(specs).safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      throw new UsageError(`${path}: unknown key "${issue.keys[0]}" for ${command}; known keys: ${Object.keys(specs).filter((k) => !NOT_IN_FILE.has(k)).join(', ')}`);
    }
    throw new UsageError(`${path}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

export interface MergedOptions {
  readonly flags: ParsedFlags;
  readonly positionals: string[];
  /** Keys whose value came from the file. */
  readonly fromFile: ReadonlySet<string>;
  readonly file?: string;
  /** Every value the file holds, as flag text, including those the command line overrides. */
  readonly fileValues?: ParsedFlags;
  readonly specs?: FlagSpecs;
}

/** The flags `name` stands in for (its `excludes`, and the flags that exclude it): alternatives to it. */
function alternatives(specs: FlagSpecs, name: string): string[] {
  const own = specs[name]?.excludes ?? [];
  const theirs = Object.entries(specs)
    .filter(([, s]) => s.excludes?.includes(name))
    .map(([n]) => n);
  return [...new Set([...own, ...theirs])];
}

/** Command-line flags over the file named by --config (a flag also overrides the file's alternatives to it: --model-file over `model`). */
export function parseWithConfig(argv: readonly string[], specs: FlagSpecs, command: string): MergedOptions {
  const { flags, positionals } = parseFlags(argv, specs, command);
  const file = typeof flags['config'] === 'string' ? flags['config'] : undefined;
  if (!file) return { flags, positionals, fromFile: new Set() };
  const values = readConfigFile(file, specs, command);
  const fileValues: ParsedFlags = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) fileValues[key] = typeof value === 'boolean' ? value : String(value);
  const merged: ParsedFlags = { ...flags };
  const fromFile = new Set<string>();
  for (const [key, value] of Object.entries(fileValues)) {
    if (merged[key] !== undefined) continue;
    if (alternatives(specs, key).some((other) => flags[other] !== undefined)) continue;
    merged[key] = value;
    fromFile.add(key);
  }
  return { flags: merged, positionals, fromFile, file, fileValues, specs };
}

/** A flag error about a value from the file, naming the file and key (`config.yaml: rounds: ...`); others as they are. */
function inFileTerms(error: unknown, file: string, fromFile: ReadonlySet<string>): unknown {
  if (!(error instanceof UsageError)) return error;
  if (error instanceof FlagError) {
    const fileRef: FlagRef = (flag, value) => (fromFile.has(flag) ? (value === undefined ? flag : `${flag} ${value}`) : commandLineRef(flag, value));
    if (fromFile.has(error.flag)) return new UsageError(`${file}: ${error.flag}: ${error.problem(fileRef)}`);
    if (!error.related.some((r) => fromFile.has(r))) return error;
    // The flag is the command line's, another one the file's: say which file.
    return new UsageError(error.render((flag, value) => (fromFile.has(flag) ? `${fileRef(flag, value)} (${file})` : commandLineRef(flag, value))));
  }
  const m = /^--([a-z-]+):? (.*)$/s.exec(error.message);
  if (m && fromFile.has(m[1]!)) return new UsageError(`${file}: ${m[1]}: ${m[2]}`);
  return error;
}

/**
 * Runs a builder over merged options; a flag error about a value from the
 * file names the file and key instead. Then each value of the file that the
 * command line overrode goes through the same builder in place of the flag's
 * (its alternatives set aside), so a bad value in the file is an error even
 * when it is not used; only the value's own check counts there, not how it
 * would combine with the other flags.
 */
export function withFileErrors<T>(options: MergedOptions, build: (flags: ParsedFlags) => T): T {
  let result: T;
  try {
    result = build(options.flags);
  } catch (error) {
    throw options.file ? inFileTerms(error, options.file, options.fromFile) : error;
  }
  const { file, fileValues, specs } = options;
  if (file === undefined || fileValues === undefined || specs === undefined) return result;
  for (const [key, value] of Object.entries(fileValues)) {
    if (options.fromFile.has(key)) continue;
    const flags: ParsedFlags = { ...options.flags, [key]: value };
    for (const other of alternatives(specs, key)) delete flags[other];
    try {
      build(flags);
    } catch (error) {
      if (error instanceof FlagError && error.flag === key && error.related.length === 0) throw new UsageError(`${file}: ${key}: ${error.problem()}`);
    }
  }
  return result;
}
