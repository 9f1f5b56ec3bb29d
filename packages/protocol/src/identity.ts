/**
 * Who a TLS peer is, read from its X.509 certificate. The identity is a SAN
 * URI that only the federation's CA puts into certificates it issues
 * (`pfedlora certs`): `pfedlora:client:<client id>` for a client daemon,
 * `pfedlora:admin` for an operator. The CN mirrors it for people reading
 * certificates, but is never trusted on its own: a CN is what any
 * certificate has (the coordinator's own server certificate too), a
 * pfedlora URI only what this CA issued for that purpose.
 */

export const CLIENT_IDENTITY_PREFIX = 'pfedlora:client:';
export const ADMIN_IDENTITY = 'pfedlora:admin';

/** Client ids a certificate may carry: the same rule as `pfedlora client --client-id`. */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export type PeerIdentity =
  | { readonly kind: 'client'; readonly clientId: string }
  | { readonly kind: 'admin' }
  /** No usable identity; `reason` says why, for the refusal message. */
  | { readonly kind: 'none'; readonly reason: string };

/** The SAN URI of a client certificate. */
export function clientIdentityUri(clientId: string): string {
  return `${CLIENT_IDENTITY_PREFIX}${clientId}`;
}

/**
 * URIs in a subjectAltName string as Node prints it (tls PeerCertificate
 * `subjectaltname`, crypto.X509Certificate `subjectAltName`):
 * `DNS:a, URI:pfedlora:client:x`, with a value quoted as a JSON string when it
 * holds a comma or quote (so a crafted name cannot split into two entries).
 */
export function subjectAltNameUris(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  const uris: string[] = [];
  const entry = /(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (let m = entry.exec(subjectAltName); m; m = entry.exec(subjectAltName)) {
    if (m[1] !== 'URI') continue;
    const raw = m[2]!;
    try {
      uris.push(raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);
    } catch {
      // A malformed quoted value: not a name this CA issues, ignore it.
    }
  }
  return uris;
}

/** The pfedlora identity a certificate's subjectAltName names, if exactly one. */
export function identityFromSubjectAltName(subjectAltName: string | undefined): PeerIdentity {
  const ours = subjectAltNameUris(subjectAltName).filter((u) => u === ADMIN_IDENTITY || u.startsWith(CLIENT_IDENTITY_PREFIX));
  if (ours.length === 0) return { kind: 'none', reason: `the certificate names no pfedlora identity (a SAN URI ${CLIENT_IDENTITY_PREFIX}<id> or ${ADMIN_IDENTITY}); issue it with 'pfedlora certs issue'` };
  // Two identities in one certificate would let one key act as both: never issued, never accepted.
  if (ours.length > 1) return { kind: 'none', reason: `the certificate names ${ours.length} pfedlora identities (${ours.join(', ')}); it must name one` };
  const uri = ours[0]!;
  if (uri === ADMIN_IDENTITY) return { kind: 'admin' };
  const clientId = uri.slice(CLIENT_IDENTITY_PREFIX.length);
  if (!CLIENT_ID_PATTERN.test(clientId)) return { kind: 'none', reason: `the certificate's client id "${clientId}" is not a valid client id` };
  return { kind: 'client', clientId };
}

export function describeIdentity(identity: PeerIdentity): string {
  switch (identity.kind) {
    case 'client':
      return `client ${identity.clientId}`;
    case 'admin':
      return 'the operator (admin) certificate';
    case 'none':
      return 'no pfedlora identity';
  }
}
