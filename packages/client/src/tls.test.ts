import type { ConnectFailure } from '@pfedlora/protocol';
import { clientConnectHint, diagnoseConnectFailure, type OwnCertificateFacts } from './tls';

const TLS = { certFile: '/certs/clients/c0/client.pem', keyFile: '/certs/clients/c0/client-key.pem', caFile: '/certs/ca.pem' };
const NOW = new Date('2026-06-01T00:00:00Z');
const CURRENT: OwnCertificateFacts = { signedByCa: true, validFrom: new Date('2026-01-01T00:00:00Z'), validTo: new Date('2027-01-01T00:00:00Z') };
const failure = (kind: ConnectFailure['kind'], reason = 'Failed to connect'): ConnectFailure => ({ kind, reason });
const hint = (f: ConnectFailure, own: OwnCertificateFacts | undefined = CURRENT, tls: typeof TLS | undefined = TLS) => clientConnectHint(f, 'coord:7070', tls, own, NOW);

describe('what a client is told to check when TLS explains a failed connection', () => {
  test('plaintext client, TLS coordinator: give the TLS files, not --insecure', () => {
    expect(hint(failure('tls-port'), undefined, undefined)).toMatch(/^the coordinator at coord:7070 speaks TLS .*give --tls-cert\/--tls-key\/--tls-ca .*not --insecure/);
  });

  test('TLS client, plaintext coordinator: it was started with --insecure', () => {
    expect(hint(failure('plaintext-port', 'wrong version number'))).toMatch(/speaks plaintext \(wrong version number.*started with --insecure/);
  });

  test("the coordinator's certificate is not from --tls-ca: names the CA file", () => {
    expect(hint(failure('untrusted-server', 'self-signed certificate in certificate chain'))).toBe(
      "the coordinator's certificate is not signed by --tls-ca /certs/ca.pem (self-signed certificate in certificate chain): check that both come from the same 'pfedlora certs init' (the ca.pem the coordinator runs with)",
    );
  });

  test('a refused client certificate: says why when the client can tell (another CA, expired, not yet valid)', () => {
    expect(hint(failure('certificate-refused'), { ...CURRENT, signedByCa: false })).toMatch(
      /refused this client's certificate: \/certs\/clients\/c0\/client\.pem is not signed by --tls-ca \/certs\/ca\.pem; .*same 'pfedlora certs init'/,
    );
    expect(hint(failure('certificate-refused'), { ...CURRENT, validTo: new Date('2026-02-01T00:00:00Z') })).toMatch(/client\.pem expired on 2026-02-01T00:00:00.000Z; ask the operator for a new one/);
    expect(hint(failure('certificate-refused'), { ...CURRENT, validFrom: new Date('2026-07-01T00:00:00Z') })).toMatch(/not valid before 2026-07-01.*clock/);
    expect(hint(failure('certificate-refused'))).toMatch(/closed the connection right after the TLS handshake \(Failed to connect\): it did not accept \/certs\/clients\/c0\/client\.pem/);
    expect(hint(failure('certificate-required', 'tlsv13 alert certificate required'))).toMatch(/requires a client certificate and none was sent/);
  });

  test('diagnoseConnectFailure: the transport decides what "Failed to connect" means; network failures get no diagnosis', () => {
    const closed = Object.assign(new Error('14 UNAVAILABLE: No connection established. Last error: Failed to connect (2026-12-07T18:13:10.248Z). Resolution note: '), { code: 14 });
    expect(diagnoseConnectFailure(closed, 'coord:7070', undefined)?.kind).toBe('tls-port');
    // Unreadable files: no facts about the own certificate, the general hint.
    const refused = diagnoseConnectFailure(closed, 'coord:7070', { ...TLS, certFile: '/nonexistent/client.pem' }, NOW);
    expect(refused?.kind).toBe('certificate-refused');
    expect(refused?.hint).toMatch(/it did not accept \/nonexistent\/client\.pem/);
    expect(diagnoseConnectFailure(new Error('14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7070. Resolution note: '), 'coord:7070', TLS)).toBeUndefined();
    // Every kind has a hint.
    for (const kind of ['plaintext-port', 'tls-port', 'untrusted-server', 'server-certificate', 'certificate-required', 'certificate-refused', 'handshake'] as const) {
      expect(hint(failure(kind)).length).toBeGreaterThan(40);
    }
  });
});
