/**
 * Tests that need a Debian package (chromium, iptables, dataset-fashion-mnist)
 * register through a guard: where the package is missing, the test is skipped
 * with a line naming the package and how to install it, so `npm test` passes
 * on a fresh machine. `.ci/run` installs every such package and sets
 * PFEDLORA_REQUIRE_SYSTEM_PACKAGES=1, under which a missing package makes the
 * test fail instead: CI runs them all, and a lost package cannot hide as a skip.
 *
 * The guard checks the package by its own `check` (a file or an executable on
 * PATH), never by letting the test crash on it.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The variable `.ci/run` sets: a missing package fails its tests instead of skipping them. */
export const REQUIRE_ENV = 'PFEDLORA_REQUIRE_SYSTEM_PACKAGES';

export interface SystemPackage {
  /** The Debian package (`apt-get install -y <name>`). */
  readonly name: string;
  /** True when what the test uses from the package is there. */
  readonly check: () => boolean;
}

/** A requirement that no package can meet (e.g. root); its tests skip under any setting. */
export interface SystemCondition {
  /** Said after "needs": e.g. "root (network namespaces)". */
  readonly needs: string;
  readonly check: () => boolean;
}

/** What registers a test: `test`, `test.skip`, or a test that fails naming the missing package. */
export type TestRegistrar = (name: string, fn: jest.ProvidesCallback, timeout?: number) => void;
/** The same for a describe block (its hooks do not run when skipped). */
export type DescribeRegistrar = (name: string, fn: () => void) => void;

export interface Guard {
  readonly test: TestRegistrar;
  readonly describe: DescribeRegistrar;
  /** Why the tests do not run here; undefined when everything is present. */
  readonly reason: string | undefined;
  /** Whether a missing package makes them fail (PFEDLORA_REQUIRE_SYSTEM_PACKAGES=1). */
  readonly required: boolean;
}

export interface GuardOptions {
  /** Default process.env; tests of the guard pass their own. */
  readonly env?: NodeJS.ProcessEnv;
  /** Where the skip line goes; default stderr (one plain line, no stack). */
  readonly log?: (line: string) => void;
  /** Jest's functions; tests of the guard pass fakes. */
  readonly jest?: { test: jest.It; describe: jest.Describe };
  /** Conditions checked before the packages (e.g. root). */
  readonly conditions?: readonly SystemCondition[];
}

/** Full path of an executable named `name` on `path` (PATH's syntax), like `command -v`; undefined when none. */
export function findExecutable(name: string, path: string | undefined = process.env['PATH']): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function isRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env[REQUIRE_ENV];
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

export function installHint(names: readonly string[]): string {
  return `apt-get install -y ${names.join(' ')}`;
}

/** "needs Debian package chromium (apt-get install -y chromium)", or the plural for several. */
export function missingPackagesMessage(names: readonly string[]): string {
  return `needs Debian package${names.length === 1 ? '' : 's'} ${names.join(', ')} (${installHint(names)})`;
}

/**
 * Checks the packages (and conditions) once, when the test file loads, and
 * returns how to register the tests that need them.
 */
export function requireSystemPackages(packages: readonly SystemPackage[], options: GuardOptions = {}): Guard {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const { test: jestTest, describe: jestDescribe } = options.jest ?? { test, describe };
  const required = isRequired(env);

  const unmet = (options.conditions ?? []).find((c) => !safeCheck(c.check));
  if (unmet !== undefined) {
    const reason = `needs ${unmet.needs}`;
    return skipping(reason, required, log, jestTest, jestDescribe);
  }
  const missing = packages.filter((p) => !safeCheck(p.check)).map((p) => p.name);
  if (missing.length === 0) return { test: jestTest, describe: jestDescribe, reason: undefined, required };
  const reason = missingPackagesMessage(missing);
  if (!required) return skipping(reason, required, log, jestTest, jestDescribe);

  const error = () => new Error(`${reason}; ${REQUIRE_ENV}=1 (set by .ci/run) makes a missing package a failure, not a skip`);
  return {
    test: (name, _fn, timeout) =>
      jestTest(
        name,
        () => {
          throw error();
        },
        timeout,
      ),
    describe: (name, _fn) =>
      jestDescribe(name, () => {
        jestTest('has its system packages', () => {
          throw error();
        });
      }),
    reason,
    required,
  };
}

/** One package: `test` where it is present, else `test.skip` (and a line naming it), or a failing test under PFEDLORA_REQUIRE_SYSTEM_PACKAGES=1. */
export function requireSystemPackage(pkg: SystemPackage, options: GuardOptions = {}): TestRegistrar {
  return requireSystemPackages([pkg], options).test;
}

function safeCheck(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

function skipping(reason: string, required: boolean, log: (line: string) => void, jestTest: jest.It, jestDescribe: jest.Describe): Guard {
  return {
    test: (name, fn, timeout) => {
      log(`skipped: "${name}" ${reason}`);
      jestTest.skip(name, fn, timeout);
    },
    describe: (name, fn) => {
      log(`skipped: "${name}" ${reason}`);
      jestDescribe.skip(name, fn);
    },
    reason,
    required,
  };
}

/** The packages this project's tests use, each checked the way its test uses it. */
export const CHROMIUM: SystemPackage = { name: 'chromium', check: () => findExecutable('chromium', '/usr/bin') !== undefined };
export const IPROUTE2: SystemPackage = { name: 'iproute2', check: () => findExecutable('ip') !== undefined };
export const IPTABLES: SystemPackage = { name: 'iptables', check: () => findExecutable('iptables') !== undefined };
