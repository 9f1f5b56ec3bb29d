/**
 * The run's temporary folder (test/tmp-run.ts): the helpers on a folder of
 * their own, and the live run, whose TMPDIR this file and what it spawns use.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describeTmpRunEnd, endTmpRun, FAILED_ENV, KEEP_ENV, listPfedloraEntries, RUN_DIR_ENV, RUN_DIR_PREFIX, startTmpRun } from './tmp-run';

let base: string;
beforeEach(() => {
  // A stand-in for /tmp, inside this run's own folder.
  base = mkdtempSync(join(tmpdir(), 'pfedlora-tmprun-'));
  mkdirSync(join(base, 'pfedlora-from-before'));
  mkdirSync(join(base, 'unrelated'));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

test('a clean run: TMPDIR points into the run folder, which the end removes; TMPDIR is restored', () => {
  const env: NodeJS.ProcessEnv = { TMPDIR: '/somewhere' };
  const run = startTmpRun(base, env);
  expect(dirname(run.dir)).toBe(base);
  expect(basename(run.dir).startsWith(RUN_DIR_PREFIX)).toBe(true);
  expect(env['TMPDIR']).toBe(run.dir);
  expect(env[RUN_DIR_ENV]).toBe(run.dir);
  expect(run.before).toEqual(['pfedlora-from-before']);
  // What the tests leave: folders made with mkdtemp(tmpdir()), never removed.
  for (const name of ['pfedlora-ckpt-a', 'pfedlora-config-b', 'pfedlora-cluster-c']) mkdirSync(join(run.dir, name, 'state'), { recursive: true });
  const end = endTmpRun(run, env);
  expect(end).toEqual({ removed: true, leftOutside: [] });
  expect(existsSync(run.dir)).toBe(false);
  expect(readdirSync(base).sort()).toEqual(['pfedlora-from-before', 'unrelated']);
  expect(env).toEqual({ TMPDIR: '/somewhere' });
  expect(describeTmpRunEnd(run, end)).toEqual([]);
});

test('TMPDIR unset before: unset after', () => {
  const env: NodeJS.ProcessEnv = {};
  endTmpRun(startTmpRun(base, env), env);
  expect(env).toEqual({});
});

test('a failed run keeps the folder and says where; so does PFEDLORA_KEEP_TEST_TMP', () => {
  const env: NodeJS.ProcessEnv = {};
  const run = startTmpRun(base, env);
  writeFileSync(join(run.dir, 'coordinator.log'), 'x');
  env[FAILED_ENV] = '1 test failed';
  const end = endTmpRun(run, env);
  expect(end.removed).toBe(false);
  expect(existsSync(join(run.dir, 'coordinator.log'))).toBe(true);
  expect(env[FAILED_ENV]).toBeUndefined();
  expect(describeTmpRunEnd(run, end)).toEqual([`kept this run's temporary folders in ${run.dir} (1 test failed; the folders its messages name are in there)`]);

  const kept = startTmpRun(base, { [KEEP_ENV]: '1' });
  expect(endTmpRun(kept, { [KEEP_ENV]: '1' }).removed).toBe(false);
  expect(existsSync(kept.dir)).toBe(true);
});

test('pfedlora-* folders made outside the run folder during the run are named (not removed: they may be another run\'s)', () => {
  const env: NodeJS.ProcessEnv = {};
  const run = startTmpRun(base, env);
  mkdirSync(join(base, 'pfedlora-hardcoded'));
  mkdirSync(join(base, 'other-tool'));
  mkdirSync(join(base, `${RUN_DIR_PREFIX}another-run`));
  const end = endTmpRun(run, env);
  expect(end.leftOutside).toEqual(['pfedlora-hardcoded']);
  expect(existsSync(join(base, 'pfedlora-hardcoded'))).toBe(true);
  expect(describeTmpRunEnd(run, end)).toEqual([
    `note: 1 pfedlora-* folder(s) appeared in ${base} during this run, outside its folder ${run.dir} (written without tmpdir(), or by another process): ${join(base, 'pfedlora-hardcoded')}`,
  ]);
  expect(listPfedloraEntries(join(base, 'no-such-folder'))).toEqual([]);
});

test('this jest run: tmpdir() here and in a spawned process is the run folder that globalTeardown removes', () => {
  const runDir = process.env[RUN_DIR_ENV];
  expect(runDir).toBeDefined();
  expect(basename(runDir!).startsWith(RUN_DIR_PREFIX)).toBe(true);
  expect(tmpdir()).toBe(runDir);
  expect(execFileSync(process.execPath, ['-p', "require('node:os').tmpdir()"], { encoding: 'utf8' }).trim()).toBe(runDir);
  expect(execFileSync('sh', ['-c', 'dirname "$(mktemp -u)"'], { encoding: 'utf8' }).trim()).toBe(runDir);
});
