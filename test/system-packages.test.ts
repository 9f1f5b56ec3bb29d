/**
 * The guard of tests that need a Debian package (test/system-packages.ts),
 * with fake jest functions and a fake PATH: a missing package is found by the
 * guard's own check, skips with a line naming it, or fails under
 * PFEDLORA_REQUIRE_SYSTEM_PACKAGES=1.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { findExecutable, isRequired, missingPackagesMessage, REQUIRE_ENV, requireSystemPackage, requireSystemPackages, type SystemPackage } from './system-packages';

let dir: string;
let bin: string;
let empty: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pfedlora-syspkg-'));
  bin = join(dir, 'bin');
  empty = join(dir, 'empty');
  mkdirSync(bin);
  mkdirSync(empty);
  writeFileSync(join(bin, 'iptables'), '#!/bin/sh\nexit 0\n');
  chmodSync(join(bin, 'iptables'), 0o755);
  writeFileSync(join(bin, 'not-executable'), 'data');
  chmodSync(join(bin, 'not-executable'), 0o644);
  mkdirSync(join(bin, 'a-folder'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Records what the guard registers instead of registering it. */
function fakeJest() {
  const calls: Array<{ kind: 'test' | 'test.skip' | 'describe' | 'describe.skip'; name: string; fn: (() => unknown) | undefined; timeout?: number }> = [];
  const test = ((name: string, fn?: () => unknown, timeout?: number) => {
    calls.push({ kind: 'test', name, fn, ...(timeout === undefined ? {} : { timeout }) });
  }) as unknown as jest.It;
  (test as { skip: unknown }).skip = (name: string, fn?: () => unknown, timeout?: number) => {
    calls.push({ kind: 'test.skip', name, fn, ...(timeout === undefined ? {} : { timeout }) });
  };
  const describe = ((name: string, fn: () => void) => {
    calls.push({ kind: 'describe', name, fn });
    fn();
  }) as unknown as jest.Describe;
  (describe as { skip: unknown }).skip = (name: string, fn: () => void) => {
    calls.push({ kind: 'describe.skip', name, fn });
  };
  return { jest: { test, describe }, calls };
}

/** iptables as test/netns.test.ts checks it, on a PATH of our choosing. */
const iptablesOn = (path: string): SystemPackage => ({ name: 'iptables', check: () => findExecutable('iptables', path) !== undefined });

describe('findExecutable (command -v)', () => {
  test('finds an executable file on PATH, in PATH order', () => {
    expect(findExecutable('iptables', [empty, bin].join(delimiter))).toBe(join(bin, 'iptables'));
    expect(findExecutable('sh', '/bin')).toBe('/bin/sh');
  });

  test('not found: absent, not executable, a folder, an empty PATH', () => {
    expect(findExecutable('iptables', empty)).toBeUndefined();
    expect(findExecutable('not-executable', bin)).toBeUndefined();
    expect(findExecutable('a-folder', bin)).toBeUndefined();
    expect(findExecutable('iptables', '')).toBeUndefined();
    expect(findExecutable('iptables', `${delimiter}${delimiter}`)).toBeUndefined();
  });
});

describe('requireSystemPackages', () => {
  test('present: the tests register as they are, nothing is printed', () => {
    const fake = fakeJest();
    const log: string[] = [];
    const guard = requireSystemPackages([iptablesOn(bin)], { jest: fake.jest, env: {}, log: (l) => log.push(l) });
    expect(guard.reason).toBeUndefined();
    expect(guard.test).toBe(fake.jest.test);
    expect(guard.describe).toBe(fake.jest.describe);
    expect(log).toEqual([]);
  });

  test('missing: skipped by the guard (the body never runs), with a line naming the package and how to install it', () => {
    const fake = fakeJest();
    const log: string[] = [];
    let ran = false;
    const guard = requireSystemPackages([iptablesOn(empty)], { jest: fake.jest, env: {}, log: (l) => log.push(l) });
    guard.test('cuts a link', () => {
      ran = true;
    }, 5000);
    guard.describe('network namespaces', () => {
      ran = true;
    });
    expect(fake.calls.map((c) => `${c.kind}: ${c.name}`)).toEqual(['test.skip: cuts a link', 'describe.skip: network namespaces']);
    expect(fake.calls[0]!.timeout).toBe(5000);
    expect(ran).toBe(false);
    expect(log).toEqual([
      'skipped: "cuts a link" needs Debian package iptables (apt-get install -y iptables)',
      'skipped: "network namespaces" needs Debian package iptables (apt-get install -y iptables)',
    ]);
  });

  test('several missing are named together; a check that throws counts as missing', () => {
    const fake = fakeJest();
    const log: string[] = [];
    const broken: SystemPackage = {
      name: 'chromium',
      check: () => {
        throw new Error('EACCES');
      },
    };
    requireSystemPackage(broken, { jest: fake.jest, env: {}, log: (l) => log.push(l) })('x', () => undefined);
    expect(log).toEqual(['skipped: "x" needs Debian package chromium (apt-get install -y chromium)']);
    expect(requireSystemPackages([broken, iptablesOn(bin), iptablesOn(empty)], { jest: fake.jest, env: {} }).reason).toBe(
      'needs Debian packages chromium, iptables (apt-get install -y chromium iptables)',
    );
    expect(missingPackagesMessage(['dataset-fashion-mnist'])).toBe('needs Debian package dataset-fashion-mnist (apt-get install -y dataset-fashion-mnist)');
  });

  test(`${REQUIRE_ENV}=1 (.ci/run): a missing package is a failing test that names it, not a skip`, () => {
    const fake = fakeJest();
    const log: string[] = [];
    let ran = false;
    const guard = requireSystemPackages([iptablesOn(empty)], { jest: fake.jest, env: { [REQUIRE_ENV]: '1' }, log: (l) => log.push(l) });
    expect(guard.required).toBe(true);
    guard.test('cuts a link', () => {
      ran = true;
    });
    guard.describe('network namespaces', () => {
      ran = true;
    });
    expect(fake.calls.map((c) => `${c.kind}: ${c.name}`)).toEqual(['test: cuts a link', 'describe: network namespaces', 'test: has its system packages']);
    for (const c of fake.calls.filter((c) => c.kind === 'test')) {
      expect(() => c.fn!()).toThrow(`needs Debian package iptables (apt-get install -y iptables); ${REQUIRE_ENV}=1 (set by .ci/run) makes a missing package a failure, not a skip`);
    }
    expect(ran).toBe(false);
    expect(log).toEqual([]);
  });

  test('an unmet condition (not root) skips under any setting, before the packages are checked', () => {
    const fake = fakeJest();
    const log: string[] = [];
    let checked = false;
    const pkg: SystemPackage = {
      name: 'iptables',
      check: () => {
        checked = true;
        return false;
      },
    };
    const guard = requireSystemPackages([pkg], {
      jest: fake.jest,
      env: { [REQUIRE_ENV]: '1' },
      log: (l) => log.push(l),
      conditions: [{ needs: 'root (it creates network namespaces)', check: () => false }],
    });
    guard.describe('network namespaces', () => undefined);
    expect(fake.calls.map((c) => c.kind)).toEqual(['describe.skip']);
    expect(log).toEqual(['skipped: "network namespaces" needs root (it creates network namespaces)']);
    expect(checked).toBe(false);
  });

  test('what counts as set', () => {
    expect(isRequired({})).toBe(false);
    for (const off of ['', '0', 'false', 'FALSE']) expect(isRequired({ [REQUIRE_ENV]: off })).toBe(false);
    for (const on of ['1', 'true', 'yes']) expect(isRequired({ [REQUIRE_ENV]: on })).toBe(true);
  });
});
