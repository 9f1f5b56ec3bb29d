import { ADMIN_IDENTITY, clientIdentityUri, identityFromSubjectAltName, subjectAltNameUris } from './identity';

describe('certificate identities', () => {
  test('a client URI names the client, the admin URI the operator', () => {
    expect(identityFromSubjectAltName(`URI:${clientIdentityUri('hospital-3')}`)).toEqual({ kind: 'client', clientId: 'hospital-3' });
    expect(identityFromSubjectAltName(`DNS:localhost, URI:${ADMIN_IDENTITY}`)).toEqual({ kind: 'admin' });
  });

  test('no pfedlora URI, two of them, or a bad client id: no identity (a CN alone never counts)', () => {
    expect(identityFromSubjectAltName(undefined).kind).toBe('none');
    expect(identityFromSubjectAltName('DNS:client-0, IP Address:127.0.0.1').kind).toBe('none');
    expect(identityFromSubjectAltName('URI:pfedlora:client:a, URI:pfedlora:admin').kind).toBe('none');
    expect(identityFromSubjectAltName('URI:pfedlora:client:../etc').kind).toBe('none');
    expect(identityFromSubjectAltName('URI:pfedlora:client:').kind).toBe('none');
    expect(identityFromSubjectAltName('URI:https://example.org/pfedlora:admin').kind).toBe('none');
  });

  test('a quoted value (how Node prints a name holding a comma) stays one entry', () => {
    expect(subjectAltNameUris('URI:"pfedlora:client:a, URI:pfedlora:admin"')).toEqual(['pfedlora:client:a, URI:pfedlora:admin']);
    expect(identityFromSubjectAltName('URI:"pfedlora:client:a, URI:pfedlora:admin"').kind).toBe('none');
  });
});
