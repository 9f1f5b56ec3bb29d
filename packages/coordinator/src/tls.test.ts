import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@pfedlora/telemetry';
import { parseRevocationList, RevocationList } from './tls';

describe('revocation list', () => {
  test('one id a line, first word, # comments and blank lines ignored', () => {
    expect([...parseRevocationList('# header\nclient-1 # revoked 2026-01-01: lost\n\n  client-2\textra words\n#client-3\n')]).toEqual(['client-1', 'client-2']);
  });

  test('is re-read when the file changes and reports what was added; a missing file is an empty list', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pfedlora-revoked-'));
    const file = join(dir, 'revoked.txt');
    const list = new RevocationList(file, silentLogger(), 20);
    try {
      expect(list.size).toBe(0);
      const added = new Promise<string[]>((resolve) => list.onRevoked(resolve));
      // Written like `pfedlora certs revoke` does: a new file renamed over the old one.
      writeFileSync(join(dir, 'tmp'), 'client-7 # revoked\n');
      renameSync(join(dir, 'tmp'), file);
      expect(await added).toEqual(['client-7']);
      expect(list.has('client-7')).toBe(true);
      expect(list.has('client-8')).toBe(false);
    } finally {
      list.close();
    }
  });
});
