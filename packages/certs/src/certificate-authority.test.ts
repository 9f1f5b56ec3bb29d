/**
 * The certificate authority as a library, without the CLI: a CA and its
 * certificates on disk (keys 0600), a client certificate that verifies
 * against the CA and carries the client's identity, revocation, and the
 * refusals a caller must see.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identityFromSubjectAltName } from '@pfedlora/protocol';
import { parseRevocationList } from '@pfedlora/coordinator';
import { CERT_FILES, CertificateError, initCertificates, issueClientCertificate, revokeClient, splitHosts, validityForDays } from './certificate-authority';

describe('the certificate authority as a library', () => {
  let dir: string;
  beforeAll(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'pfedlora-ca-')), 'certs');
  });
  afterAll(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  test('init, issue, revoke: files, modes, chain and identity', async () => {
    const init = await initCertificates({ dir, hosts: splitHosts(['localhost', '127.0.0.1']), days: 30, force: false });
    expect(init.coordinator.hosts).toEqual(['localhost', '127.0.0.1']);
    expect(readdirSync(dir).sort()).toEqual([CERT_FILES.admin, CERT_FILES.adminKey, CERT_FILES.ca, CERT_FILES.caKey, CERT_FILES.server, CERT_FILES.serverKey].sort());
    for (const f of init.files) expect({ file: f.path, mode: statSync(f.path).mode & 0o777 }).toEqual({ file: f.path, mode: f.secret ? 0o600 : 0o644 });

    const ca = new X509Certificate(readFileSync(join(dir, CERT_FILES.ca)));
    const issued = await issueClientCertificate({ dir, clientId: 'site-7', validity: validityForDays(10), force: false });
    const cert = new X509Certificate(readFileSync(join(issued.clientDir, CERT_FILES.clientCert)));
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(identityFromSubjectAltName(cert.subjectAltName)).toEqual({ kind: 'client', clientId: 'site-7' });
    expect(statSync(join(issued.clientDir, CERT_FILES.clientKey)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(issued.clientDir, CERT_FILES.ca), 'utf8')).toBe(readFileSync(join(dir, CERT_FILES.ca), 'utf8'));

    const revoked = revokeClient(dir, 'site-7', 'test', new Date('2026-01-01T00:00:00Z'));
    expect(revoked).toEqual({ clientId: 'site-7', file: join(dir, CERT_FILES.revoked), added: true, issuedHere: true });
    expect(parseRevocationList(readFileSync(revoked.file, 'utf8'))).toEqual(new Set(['site-7']));
    expect(revokeClient(dir, 'site-7', undefined).added).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  test('refusals are CertificateErrors saying what to do', async () => {
    await expect(initCertificates({ dir, hosts: { dns: ['localhost'], ips: [] }, days: 30, force: false })).rejects.toThrow(CertificateError);
    await expect(issueClientCertificate({ dir, clientId: 'site-7', validity: validityForDays(10), force: true })).rejects.toThrow(/client site-7 is revoked/);
    await expect(issueClientCertificate({ dir: join(dir, 'nowhere'), clientId: 'a', validity: validityForDays(1), force: false })).rejects.toThrow(/holds no CA/);
    expect(() => splitHosts(['not a host'])).toThrow(new CertificateError('"not a host" is neither a DNS name nor an IP address'));
    expect(() => revokeClient(dir, 'bad id', undefined)).toThrow(CertificateError);
  });
});
