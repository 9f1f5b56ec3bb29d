/**
 * YAML configuration files for the long-running commands. A file holds the
 * same options as the command's flags (same names, e.g. `min-clients: 3`);
 * flags given on the command line override it. The file's shape is checked
 * with a zod schema derived from the flag table (unknown keys and wrong types
 * are named), and every value then goes through the same validation as its
 * flag, so an error names the file, the key and what it expects.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { parseFlags, type FlagSpecs, type ParsedFlags } from './args';
import { UsageError } from './errors';

export const CONFIG_FLAG: FlagSpecs = {
  config: { type: 'string', value: 'FILE', help: 'YAML file with any of these options (flags given here override it)' },
};

/** Keys a file may not set: where the file itself is, and help. */
const NOT_IN_FILE = new Set(['config', 'help']);

export function configSchema(specs: FlagSpecs): z.ZodType<Record<string, string | number | boolean>> {
  const shape: Record<string, z.ZodTypeAny> = {};
  for (const [name, spec] of Object.entries(specs)) {
    if (NOT_IN_FILE.has(name)) continue;
    shape[name] =
      spec.type === 'boolean'
        ? z.boolean({ invalid_type_error: 'expected true or false' })
        : z.union([z.string(), z.number()], { errorMap: () => ({ message: `expected ${spec.value ?? 'a value'} (a string or number)` }) });
  }
  return z.object(shape).partial().strict() as unknown as z.ZodType<Record<string, string | number | boolean>>;
}

export function readConfigFile(path: string, specs: FlagSpecs, command: string): Record<string, string | number | boolean> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text) ?? {};
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
}

/** Command-line flags over the file named by --config. */
export function parseWithConfig(argv: readonly string[], specs: FlagSpecs, command: string): MergedOptions {
  const { flags, positionals } = parseFlags(argv, specs, command);
  const file = typeof flags['config'] === 'string' ? flags['config'] : undefined;
  if (!file) return { flags, positionals, fromFile: new Set() };
  const values = readConfigFile(file, specs, command);
  const merged: ParsedFlags = { ...flags };
  const fromFile = new Set<string>();
  for (const [key, value] of Object.entries(values)) {
    if (merged[key] !== undefined) continue;
    merged[key] = typeof value === 'boolean' ? value : String(value);
    fromFile.add(key);
  }
  return { flags: merged, positionals, fromFile, file };
}

/** Runs a builder over merged options; a flag error about a value from the file names the file and key instead. */
export function withFileErrors<T>(options: MergedOptions, build: (flags: ParsedFlags) => T): T {
  try {
    return build(options.flags);
  } catch (error) {
    if (error instanceof UsageError && options.file) {
      const m = /^--([a-z-]+) (.*)$/s.exec(error.message);
      if (m && options.fromFile.has(m[1]!)) throw new UsageError(`${options.file}: ${m[1]}: ${m[2]}`);
    }
    throw error;
  }
}
