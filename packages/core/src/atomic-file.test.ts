import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pfedlora-atomic-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes bytes and text, replacing what was there, and leaves no temp file', () => {
    const path = join(dir, 'state.bin');
    writeFileSync(path, 'old contents');
    const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => i % 251);
    writeFileAtomic(path, bytes);
    expect(Buffer.from(readFileSync(path)).equals(Buffer.from(bytes))).toBe(true);
    writeFileAtomic(path, '{"round":3}');
    expect(readFileSync(path, 'utf8')).toBe('{"round":3}');
    expect(readdirSync(dir)).toEqual(['state.bin']);
  });

  it('writes an empty file', () => {
    const path = join(dir, 'empty');
    writeFileAtomic(path, new Uint8Array(0));
    expect(readFileSync(path).length).toBe(0);
  });

  it('gives the file exactly the mode asked for, whatever the umask or a stale temp file', () => {
    const path = join(dir, 'key.pem');
    writeFileSync(`${path}.tmp-${process.pid}`, 'stale', { mode: 0o644 });
    const umask = process.umask(0o000);
    try {
      writeFileAtomic(path, 'secret', { mode: 0o600 });
    } finally {
      process.umask(umask);
    }
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toBe('secret');
    writeFileAtomic(join(dir, 'plain'), 'x', { mode: 0o644 });
    expect(statSync(join(dir, 'plain')).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir).sort()).toEqual(['key.pem', 'plain']);
  });

  it('throws when the directory is missing, leaving nothing behind', () => {
    expect(() => writeFileAtomic(join(dir, 'missing', 'f'), 'x')).toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
