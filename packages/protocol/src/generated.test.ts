/**
 * The committed generated types must be what the proto files generate today
 * (Flower's check-protos idea): regenerate into a temp dir and compare.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

test('src/generated matches the proto files (run `npm run generate -w @pfedlora/protocol` after editing proto/)', () => {
  const pkg = join(__dirname, '..');
  const out = mkdtempSync(join(tmpdir(), 'pfedlora-gen-'));
  const script = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).scripts.generate as string;
  const args = script.split(' ').slice(1).map((a) => (a === 'src/generated' ? out : a));
  execFileSync(process.execPath, [require.resolve('@grpc/proto-loader/build/bin/proto-loader-gen-types.js'), ...args], { cwd: pkg, stdio: 'pipe' });
  const committed = join(pkg, 'src', 'generated');
  const want = files(out).map((f) => relative(out, f)).sort();
  expect(files(committed).map((f) => relative(committed, f)).sort()).toEqual(want);
  for (const f of want) expect(readFileSync(join(committed, f), 'utf8')).toBe(readFileSync(join(out, f), 'utf8'));
});
