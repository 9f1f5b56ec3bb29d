import * as grpc from '@grpc/grpc-js';
import { adminError } from './admin-client';
import { EXIT } from './errors';

const ADDRESS = '127.0.0.1:7071';
const TLS = { caFile: '/certs/ca.pem', certFile: '/certs/admin.pem', keyFile: '/certs/admin-key.pem' };

function serviceError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), { code, details, metadata: new grpc.Metadata() });
}
const unavailable = (lastError: string) => serviceError(grpc.status.UNAVAILABLE, `No connection established. Last error: ${lastError}. Resolution note: `);

describe('adminError: a TLS refusal is not "is it running?"', () => {
  test('plaintext operator, TLS Admin port: exit 5, give the TLS files instead of --insecure', () => {
    const e = adminError(ADDRESS, unavailable('Failed to connect (2026-12-07T18:13:10.266Z)'), undefined);
    expect(e.exitCode).toBe(EXIT.unauthenticated);
    expect(e.message).toMatch(/^the Admin service at 127\.0\.0\.1:7071 speaks TLS and this command spoke plaintext .*--tls-ca ca\.pem .*PFEDLORA_ADMIN_TLS_DIR.*not --insecure$/);
  });

  test('TLS operator, plaintext Admin port: exit 5, pass --insecure', () => {
    const e = adminError(ADDRESS, unavailable('Error: 80:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../ssl3_record.c:350:\n'), TLS);
    expect(e.exitCode).toBe(EXIT.unauthenticated);
    expect(e.message).toMatch(/speaks plaintext \(the coordinator was started with --insecure\) and this command spoke TLS \(wrong version number\): pass --insecure/);
  });

  test("the coordinator's certificate is not from --tls-ca; the Federation port instead of the Admin port", () => {
    const e = adminError(ADDRESS, unavailable('Error: self-signed certificate in certificate chain'), TLS);
    expect(e.exitCode).toBe(EXIT.unauthenticated);
    expect(e.message).toMatch(/not signed by --tls-ca \/certs\/ca\.pem .*same 'pfedlora certs init'/);
    const federation = adminError(ADDRESS, unavailable('80:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:x.c:1601:SSL alert number 116\n (2026-12-07T18:13:10.238Z)'), { caFile: '/certs/ca.pem' });
    expect(federation.exitCode).toBe(EXIT.unauthenticated);
    expect(federation.message).toMatch(/requires a client certificate .*Federation port, not its Admin port/);
  });

  test('nothing listening is still exit 3; credentials exit 5; refusals 4', () => {
    for (const tls of [undefined, TLS]) {
      const e = adminError(ADDRESS, unavailable('Error: connect ECONNREFUSED 127.0.0.1:7071'), tls);
      expect(e.exitCode).toBe(EXIT.unreachable);
      expect(e.message).toMatch(/cannot reach the coordinator's Admin service .*is it running\?/);
    }
    expect(adminError(ADDRESS, serviceError(grpc.status.UNAUTHENTICATED, 'the operator token given does not match'), undefined).exitCode).toBe(EXIT.unauthenticated);
    expect(adminError(ADDRESS, serviceError(grpc.status.FAILED_PRECONDITION, 'not paused'), undefined).exitCode).toBe(EXIT.refused);
  });
});
