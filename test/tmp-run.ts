/**
 * One temporary folder per jest run. globalSetup (test/global-setup.ts) makes
 * `<tmp>/pfedlora-test-XXXXXX` and points TMPDIR at it, so every
 * `mkdtemp(join(tmpdir(), 'pfedlora-...'))` in a test, and every process a test
 * spawns (they inherit TMPDIR), lands inside it; globalTeardown
 * (test/global-teardown.ts) removes it. Tests need no cleanup code of their
 * own for this, and a run leaves nothing in /tmp.
 *
 * Kept instead of removed: when a test failed (the folders a failure message
 * names stay readable; the teardown prints where), or always with
 * PFEDLORA_KEEP_TEST_TMP=1.
 *
 * The teardown also compares `<tmp>/pfedlora-*` before and after the run and
 * names what appeared outside the run's folder (a path written without
 * tmpdir()); it only warns, as another run on the same machine can create
 * such folders too. `.ci/run`, alone on its machine, fails on them.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** Set by globalSetup for the run (and its spawned processes): the run's folder, and the tmpdir it replaced. */
export const RUN_DIR_ENV = 'PFEDLORA_TEST_TMP';
export const KEEP_ENV = 'PFEDLORA_KEEP_TEST_TMP';
/** Set by test/tmp-reporter.js when a test failed (the reporter runs before globalTeardown, in the same process). */
export const FAILED_ENV = 'PFEDLORA_TEST_RUN_FAILED';
export const RUN_DIR_PREFIX = 'pfedlora-test-';

export interface TmpRun {
  /** The tmpdir the run started with (TMPDIR, else /tmp). */
  readonly base: string;
  /** `<base>/pfedlora-test-XXXXXX`: TMPDIR during the run. */
  readonly dir: string;
  /** TMPDIR as it was (undefined: unset), restored by the teardown. */
  readonly previousTmpdir: string | undefined;
  /** `pfedlora-*` entries in base before the run. */
  readonly before: readonly string[];
}

/** Names in `base` starting with `pfedlora-` (sorted; [] when base cannot be read). */
export function listPfedloraEntries(base: string): string[] {
  try {
    return readdirSync(base)
      .filter((n) => n.startsWith('pfedlora-'))
      .sort();
  } catch {
    return [];
  }
}

export function startTmpRun(base: string, env: NodeJS.ProcessEnv = process.env): TmpRun {
  const before = listPfedloraEntries(base);
  const dir = mkdtempSync(join(base, RUN_DIR_PREFIX));
  const run: TmpRun = { base, dir, previousTmpdir: env['TMPDIR'], before };
  env['TMPDIR'] = dir;
  env[RUN_DIR_ENV] = dir;
  return run;
}

export interface TmpRunEnd {
  /** The run's folder was removed (false: kept, see `kept`). */
  readonly removed: boolean;
  /** Why it was kept. */
  readonly kept?: string;
  /** `pfedlora-*` entries that appeared in base during the run, outside the run's folder. */
  readonly leftOutside: readonly string[];
}

export function endTmpRun(run: TmpRun, env: NodeJS.ProcessEnv = process.env): TmpRunEnd {
  if (run.previousTmpdir === undefined) delete env['TMPDIR'];
  else env['TMPDIR'] = run.previousTmpdir;
  delete env[RUN_DIR_ENV];
  const failed = env[FAILED_ENV];
  delete env[FAILED_ENV];

  let kept: string | undefined;
  if (env[KEEP_ENV] && env[KEEP_ENV] !== '0') kept = `${KEEP_ENV} is set`;
  else if (failed) kept = `${failed}; the folders its messages name are in there`;
  if (kept === undefined) {
    try {
      // Retries: a process a test left running may still be writing there.
      rmSync(run.dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 200 });
    } catch (error) {
      kept = `removing it failed: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  const before = new Set(run.before);
  const runName = run.dir.slice(run.base.length).replace(/^[/\\]+/, '');
  // Another jest run's folder is that run's to remove.
  const leftOutside = listPfedloraEntries(run.base).filter((n) => !before.has(n) && n !== runName && !n.startsWith(RUN_DIR_PREFIX));
  return { removed: kept === undefined, ...(kept === undefined ? {} : { kept }), leftOutside };
}

/** What the teardown prints: nothing for a clean run. */
export function describeTmpRunEnd(run: TmpRun, end: TmpRunEnd): string[] {
  const lines: string[] = [];
  if (!end.removed) lines.push(`kept this run's temporary folders in ${run.dir} (${end.kept})`);
  if (end.leftOutside.length > 0) {
    lines.push(
      `note: ${end.leftOutside.length} pfedlora-* folder(s) appeared in ${run.base} during this run, outside its folder ${run.dir} ` +
        `(written without tmpdir(), or by another process): ${end.leftOutside.map((n) => join(run.base, n)).join(', ')}`,
    );
  }
  return lines;
}
