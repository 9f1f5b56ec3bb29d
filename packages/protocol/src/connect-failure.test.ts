import { classifyConnectFailure, connectFailureOf } from './connect-failure';

/** grpc-js 1.14 / Node 20 details, verbatim from real connections on 127.0.0.1 (see connect-failure.ts). */
const OBSERVED = {
  wrongVersion:
    'No connection established. Last error: Error: 803C02EB537F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n. Resolution note: ',
  selfSigned: 'No connection established. Last error: Error: self-signed certificate in certificate chain. Resolution note: ',
  certificateRequired:
    'No connection established. Last error: 803C02EB537F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n (2026-12-07T18:13:10.238Z). Resolution note: ',
  failedToConnect: 'No connection established. Last error: Failed to connect (2026-12-07T18:13:10.248Z). Resolution note: ',
  reset: 'No connection established. Last error: read ECONNRESET (2026-12-07T18:13:10.245Z). Resolution note: ',
  refused: 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:17099. Resolution note: ',
};

describe('classifyConnectFailure', () => {
  test('TLS here, plaintext there: OpenSSL reads the HTTP/2 answer as a bad record', () => {
    expect(classifyConnectFailure(OBSERVED.wrongVersion, 'tls')).toEqual({ kind: 'plaintext-port', reason: 'wrong version number' });
    expect(classifyConnectFailure('Error: ...:SSL routines:ssl3_get_record:packet length too long:...', 'tls')?.kind).toBe('plaintext-port');
  });

  test("plaintext here, TLS there: accepted, then closed before HTTP/2 began", () => {
    expect(classifyConnectFailure(OBSERVED.failedToConnect, 'plaintext')).toEqual({ kind: 'tls-port', reason: 'Failed to connect' });
    expect(classifyConnectFailure(OBSERVED.reset, 'plaintext')?.kind).toBe('tls-port');
  });

  test("the coordinator's certificate is not from --tls-ca, expired, or for another name", () => {
    expect(classifyConnectFailure(OBSERVED.selfSigned, 'tls')).toEqual({ kind: 'untrusted-server', reason: 'self-signed certificate in certificate chain' });
    expect(classifyConnectFailure('No connection established. Last error: Error: unable to verify the first certificate. Resolution note: ', 'tls')?.kind).toBe('untrusted-server');
    expect(classifyConnectFailure('No connection established. Last error: Error: certificate has expired. Resolution note: ', 'tls')).toEqual({ kind: 'server-certificate', reason: 'certificate has expired' });
    expect(classifyConnectFailure("Last error: Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: IP: 10.0.0.9 is not in the cert's list", 'tls')?.kind).toBe(
      'server-certificate',
    );
  });

  test('the coordinator wants a client certificate, or refuses the one sent (an alert, or a close right after the handshake)', () => {
    expect(classifyConnectFailure(OBSERVED.certificateRequired, 'tls')).toEqual({ kind: 'certificate-required', reason: 'tlsv13 alert certificate required' });
    expect(classifyConnectFailure('...:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:...SSL alert number 48', 'tls')).toEqual({ kind: 'certificate-refused', reason: 'tlsv1 alert unknown ca' });
    expect(classifyConnectFailure('...:SSL routines:ssl3_read_bytes:sslv3 alert certificate expired:...', 'tls')?.kind).toBe('certificate-refused');
    expect(classifyConnectFailure(OBSERVED.failedToConnect, 'tls')).toEqual({ kind: 'certificate-refused', reason: 'Failed to connect' });
    expect(classifyConnectFailure(OBSERVED.reset, 'tls')).toEqual({ kind: 'certificate-refused', reason: 'read ECONNRESET' });
    expect(classifyConnectFailure('...:SSL routines:tls_early_post_process_client_hello:unsupported protocol:...', 'tls')?.kind).toBe('handshake');
  });

  test('network failures and dropped connections are not TLS', () => {
    for (const transport of ['tls', 'plaintext'] as const) {
      expect(classifyConnectFailure(OBSERVED.refused, transport)).toBeUndefined();
      expect(classifyConnectFailure('No connection established. Last error: Error: connect ETIMEDOUT 10.0.0.9:7070. Resolution note: ', transport)).toBeUndefined();
      expect(classifyConnectFailure('Name resolution failed for target dns:nowhere.invalid:7070', transport)).toBeUndefined();
      expect(classifyConnectFailure('Deadline exceeded after 15.001s,LB pick: 0.001s', transport)).toBeUndefined();
      // An established connection that dropped (a coordinator killed mid-call) is an outage, not a refusal.
      expect(classifyConnectFailure('read ECONNRESET', transport)).toBeUndefined();
      expect(classifyConnectFailure('Connection dropped', transport)).toBeUndefined();
    }
    // Only a TLS client can get OpenSSL errors; a plaintext one reading them is not misled.
    expect(classifyConnectFailure(OBSERVED.wrongVersion, 'plaintext')).toBeUndefined();
  });

  test('connectFailureOf reads a grpc ServiceError (details, message) or anything thrown', () => {
    const error = Object.assign(new Error(`14 UNAVAILABLE: ${OBSERVED.failedToConnect}`), { code: 14, details: OBSERVED.failedToConnect });
    expect(connectFailureOf(error, 'plaintext')?.kind).toBe('tls-port');
    expect(connectFailureOf(undefined, 'tls')).toBeUndefined();
    expect(connectFailureOf('wrong version number', 'tls')?.kind).toBe('plaintext-port');
  });
});
