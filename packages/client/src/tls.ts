/**
 * The client's side of mutual TLS: its certificate and key (issued by the
 * federation's CA with `pfedlora certs issue`) and the CA that signed the
 * coordinator's certificate. Files are read and checked at start so a wrong
 * path or a mismatched key fails with its name, not as a handshake error later.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { connectFailureOf, identityFromSubjectAltName, parsePemCertificate, readTlsFile, type ConnectFailure, type PeerIdentity } from '@pfedlora/protocol';

export interface ClientTlsConfig {
  /** PEM client certificate. */
  readonly certFile: string;
  /** Its PEM private key. */
  readonly keyFile: string;
  /** PEM CA certificate that signed the coordinator's certificate. */
  readonly caFile: string;
}

export interface ClientTlsMaterial {
  readonly credentials: grpc.ChannelCredentials;
  /** What the certificate says this client is. */
  readonly identity: PeerIdentity;
  readonly validFrom: Date;
  readonly validTo: Date;
}

const ASK = "ask the federation's operator for one ('pfedlora certs issue --client-id ID' on the coordinator host; docs/security.md)";

const read = (file: string, what: string, flag: string) => readTlsFile(file, what, flag, ASK);
const certificate = parsePemCertificate;

/** The pfedlora identity a certificate file names (for a default client id). */
export function certificateIdentity(certFile: string): PeerIdentity {
  return identityFromSubjectAltName(certificate(read(certFile, 'client certificate', '--tls-cert'), certFile, '--tls-cert').subjectAltName);
}

export function loadClientTls(tls: ClientTlsConfig): ClientTlsMaterial {
  const ca = read(tls.caFile, 'CA certificate', '--tls-ca');
  const cert = read(tls.certFile, 'client certificate', '--tls-cert');
  const key = read(tls.keyFile, 'client private key', '--tls-key');
  certificate(ca, tls.caFile, '--tls-ca');
  const own = certificate(cert, tls.certFile, '--tls-cert');
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new Error(`${tls.keyFile} (--tls-key) is not a PEM private key: ${(error as Error).message}`);
  }
  if (!own.checkPrivateKey(privateKey)) throw new Error(`${tls.keyFile} is not the private key of ${tls.certFile}; pass the key issued with that certificate`);
  return {
    credentials: grpc.credentials.createSsl(ca, key, cert),
    identity: identityFromSubjectAltName(own.subjectAltName),
    validFrom: new Date(own.validFrom),
    validTo: new Date(own.validTo),
  };
}

/** What this client can tell about its own certificate without the coordinator. */
export interface OwnCertificateFacts {
  /** The certificate is signed by --tls-ca (undefined: the files could not be read). */
  readonly signedByCa: boolean | undefined;
  readonly validFrom: Date | undefined;
  readonly validTo: Date | undefined;
}

const factsCache = new WeakMap<ClientTlsConfig, OwnCertificateFacts>();

/**
 * Whether the client certificate is signed by --tls-ca and its validity, read
 * once per config (the credentials in use are the ones read at start).
 */
export function ownCertificateFacts(tls: ClientTlsConfig): OwnCertificateFacts {
  const cached = factsCache.get(tls);
  if (cached) return cached;
  let facts: OwnCertificateFacts;
  try {
    const own = new X509Certificate(readFileSync(tls.certFile));
    const ca = new X509Certificate(readFileSync(tls.caFile));
    facts = { signedByCa: own.checkIssued(ca) && own.verify(ca.publicKey), validFrom: new Date(own.validFrom), validTo: new Date(own.validTo) };
  } catch {
    facts = { signedByCa: undefined, validFrom: undefined, validTo: undefined };
  }
  factsCache.set(tls, facts);
  return facts;
}

export interface ClientConnectFailure extends ConnectFailure {
  /** What to check, in words. */
  readonly hint: string;
}

const ISSUE = "'pfedlora certs issue --client-id ID' on the coordinator's certs directory";

/**
 * The hint for a classified connection failure of a client daemon: pure, from
 * the classification, the client's TLS files (undefined: --insecure) and what
 * is known about its own certificate.
 */
export function clientConnectHint(failure: ConnectFailure, address: string, tls: ClientTlsConfig | undefined, own: OwnCertificateFacts | undefined, now: Date): string {
  switch (failure.kind) {
    case 'tls-port':
      return `the coordinator at ${address} speaks TLS (it closed this plaintext connection without an HTTP/2 answer): give --tls-cert/--tls-key/--tls-ca (${ISSUE}), not --insecure; or check that ${address} is the coordinator's Federation port`;
    case 'plaintext-port':
      return `the coordinator at ${address} speaks plaintext (${failure.reason}: it did not answer the TLS handshake): it was started with --insecure; start it with --tls-cert/--tls-key/--tls-ca, or run this client with --insecure on a network you trust`;
    case 'untrusted-server':
      return `the coordinator's certificate is not signed by --tls-ca ${tls?.caFile ?? ''} (${failure.reason}): check that both come from the same 'pfedlora certs init' (the ca.pem the coordinator runs with)`;
    case 'server-certificate':
      return `the coordinator's certificate is not valid for ${address} (${failure.reason}): it expired, is not yet valid, or does not name this host ('pfedlora certs init --coordinator-host'); the operator issues a new one`;
    case 'certificate-required':
      return `the coordinator requires a client certificate and none was sent: give --tls-cert/--tls-key (${ISSUE})`;
    case 'certificate-refused': {
      const cert = tls?.certFile ?? 'the client certificate';
      if (own?.signedByCa === false) {
        return `the coordinator refused this client's certificate: ${cert} is not signed by --tls-ca ${tls?.caFile ?? ''}; use a certificate from the coordinator's CA (${ISSUE}; both from the same 'pfedlora certs init')`;
      }
      if (own?.validTo !== undefined && own.validTo.getTime() < now.getTime()) {
        return `the coordinator refused this client's certificate: ${cert} expired on ${own.validTo.toISOString()}; ask the operator for a new one (${ISSUE} --force)`;
      }
      if (own?.validFrom !== undefined && own.validFrom.getTime() > now.getTime()) {
        return `the coordinator refused this client's certificate: ${cert} is not valid before ${own.validFrom.toISOString()} (check this host's clock)`;
      }
      return `the coordinator closed the connection right after the TLS handshake (${failure.reason}): it did not accept ${cert}; check that it comes from the CA the coordinator runs with (--tls-ca there, ${ISSUE}) and is current`;
    }
    case 'handshake':
      return `the TLS handshake with the coordinator at ${address} failed (${failure.reason}): check that --tls-ca is the federation's ca.pem and the certificate is from that CA and current, and that the coordinator runs TLS (or both sides --insecure)`;
  }
}

/**
 * A failed connection of the client daemon that TLS explains (a transport
 * mismatch, a certificate refused either way), with what to check; undefined
 * for an ordinary network failure.
 */
export function diagnoseConnectFailure(error: unknown, address: string, tls: ClientTlsConfig | undefined, now = new Date()): ClientConnectFailure | undefined {
  const failure = connectFailureOf(error, tls ? 'tls' : 'plaintext');
  if (!failure) return undefined;
  const own = tls && failure.kind === 'certificate-refused' ? ownCertificateFacts(tls) : undefined;
  return { ...failure, hint: clientConnectHint(failure, address, tls, own, now) };
}
