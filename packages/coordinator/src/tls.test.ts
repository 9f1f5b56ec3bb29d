import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@pfedlora/telemetry';
import * as grpc from '@grpc/grpc-js';
import { tokenState } from './admin-service';
import type { CoordinatorError } from './errors';
import { adminTlsCaller, parseRevocationList, RevocationList, type AdminTokenState } from './tls';

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

describe('Admin credentials over TLS: a missing token and a wrong one are told apart', () => {
  const noCertificate = { getAuthContext: () => null };
  const refusal = (token: AdminTokenState, configured: boolean) => {
    try {
      adminTlsCaller(noCertificate, token, configured);
    } catch (error) {
      return `${(error as CoordinatorError).code}: ${(error as Error).message}`;
    }
    return 'accepted';
  };

  test('token configured: ok is accepted, missing and wrong get their own words', () => {
    expect(adminTlsCaller(noCertificate, 'ok', true)).toBe('token');
    expect(refusal('missing', true)).toMatch(/^unauthenticated: the Admin service needs the operator certificate .* or the operator token, and neither was given/);
    expect(refusal('wrong', true)).toMatch(/^unauthenticated: the operator token given does not match the coordinator's/);
  });

  test('no token configured: a token sent is said to be useless, none sent asks for the certificate', () => {
    expect(refusal('wrong', false)).toMatch(/^unauthenticated: the coordinator was started without an admin token/);
    expect(refusal('missing', false)).toMatch(/^unauthenticated: the Admin service needs the operator certificate: --tls-cert/);
  });

  test('tokenState reads authorization: Bearer <token>', () => {
    const md = (value?: string) => {
      const m = new grpc.Metadata();
      if (value !== undefined) m.set('authorization', value);
      return m;
    };
    expect(tokenState(md(), 'secret')).toBe('missing');
    expect(tokenState(md('Bearer secret'), 'secret')).toBe('ok');
    expect(tokenState(md('Bearer secreT'), 'secret')).toBe('wrong');
    expect(tokenState(md('Bearer longer-secret'), 'secret')).toBe('wrong');
    expect(tokenState(md('secret'), 'secret')).toBe('wrong');
  });
});
