/**
 * scripts/prune-stale-dist.js, run before `tsc -b` by `npm run build`: compiled
 * files whose source is gone are deleted, so a moved module (algorithms/fedproto.ts
 * -> algorithms/fedproto/index.ts) cannot be shadowed by its stale dist/fedproto.js.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const SCRIPT = join(__dirname, '..', 'scripts', 'prune-stale-dist.js');

function write(root: string, path: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), '// x\n');
}

test('deletes dist outputs with no source (and folders left empty), keeps the rest and other files', () => {
  const root = mkdtempSync(join(tmpdir(), 'pfedlora-prune-'));
  const kept = ['ml/src/algorithms/fedproto/index.ts', 'ml/dist/algorithms/fedproto/index.js', 'ml/dist/algorithms/fedproto/index.d.ts', 'ml/dist/algorithms/fedproto/index.js.map', 'ml/dist/algorithms/fedproto/index.d.ts.map', 'ml/src/index.ts', 'ml/dist/index.js', 'ml/dist/README.txt', 'core/dist/only-dist.js'];
  const stale = ['ml/dist/algorithms/fedproto.js', 'ml/dist/algorithms/fedproto.d.ts', 'ml/dist/algorithms/fedproto.js.map', 'ml/dist/algorithms/fedproto.d.ts.map', 'ml/dist/old/gone.js'];
  for (const path of [...kept, ...stale]) write(root, path);
  const said = execFileSync(process.execPath, [SCRIPT, root], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  expect(said).toBe('');
  for (const path of kept) expect([path, existsSync(join(root, path))]).toEqual([path, true]);
  for (const path of stale) expect([path, existsSync(join(root, path))]).toEqual([path, false]);
  expect(existsSync(join(root, 'ml/dist/old'))).toBe(false);
  // A package without src/ (core here) is left alone; a second run finds nothing to do.
  execFileSync(process.execPath, [SCRIPT, root]);
  for (const path of kept) expect(existsSync(join(root, path))).toBe(true);
});
