import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

  it('throws when the directory is missing, leaving nothing behind', () => {
    expect(() => writeFileAtomic(join(dir, 'missing', 'f'), 'x')).toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
