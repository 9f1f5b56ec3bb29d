/**
 * Checking a configuration: one zod schema per config (the run's settings
 * here, the coordinator's, the client's, the simulation's beside their
 * types), built from these field schemas so every message reads the same,
 * `<key> must be <what>, got <value>`, and a check fails with the first
 * problem as one sentence naming the key.
 */
import { z } from 'zod';

const got = (issue: { readonly input?: unknown }) => String(issue.input);

/** A finite number that passes `ok`; `expected` completes "must be ...". */
export function numberWhere(ok: (n: number) => boolean, expected: string): z.ZodType<number> {
  return z.number({ error: (issue) => `must be a number, got ${got(issue)}` }).refine(ok, { error: (issue) => `must be ${expected}, got ${got(issue)}` });
}

/** An integer in [min, max] (no max: at least min). */
export function integerIn(min: number, max = Number.MAX_SAFE_INTEGER): z.ZodType<number> {
  return numberWhere((n) => Number.isInteger(n) && n >= min && n <= max, max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`);
}

/** Any string (a path, a host, a token). */
export function text(): z.ZodType<string> {
  return z.string({ error: (issue) => `must be a string, got ${got(issue)}` });
}

/** A list of `item`s; `what` names them in the message ("must be a list of <what>"). */
export function listOf<T>(item: z.ZodType<T>, what: string): z.ZodType<T[]> {
  return z.array(item, { error: (issue) => `must be a list of ${what}, got ${got(issue)}` });
}

/** An object with these keys checked, others let through (a value a loader checks in full later). */
export function objectWith<T extends z.ZodRawShape>(shape: T): z.ZodObject<T, z.core.$loose> {
  return z.looseObject(shape, { error: (issue) => `must be an object, got ${got(issue)}` });
}

/** A non-empty string, one of `choices` when any are given. */
export function oneOf<T extends string>(choices: readonly T[]): z.ZodType<T> {
  return z
    .string({ error: (issue) => `must be a non-empty string, got ${got(issue)}` })
    .refine((s) => s !== '', { error: (issue) => `must be a non-empty string, got ${got(issue)}` })
    .refine((s) => choices.length === 0 || (choices as readonly string[]).includes(s), { error: (issue) => `must be one of ${choices.join(', ')}, got "${got(issue)}"` }) as unknown as z.ZodType<T>; // the refine admits only T
}

/** A zod issue as a sentence: `<key> <message>`, the key a dotted path (none for checks across keys). */
export function describeIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.map(String).join('.');
  return key === '' ? issue.message : `${key} ${issue.message}`;
}

/** Throws an Error naming the first problem unless `value` satisfies `schema`; `value` itself is left as it is. */
export function assertValid(schema: z.ZodType, value: unknown): void {
  const result = schema.safeParse(value);
  if (!result.success) throw new Error(describeIssue(result.error.issues[0]!));
}
