/**
 * The client's side of mutual TLS: its certificate and key (issued by the
 * federation's CA with `pfedlora certs issue`) and the CA that signed the
 * coordinator's certificate. Files are read and checked at start so a wrong
 * path or a mismatched key fails with its name, not as a handshake error later.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { identityFromSubjectAltName, type PeerIdentity } from '@pfedlora/protocol';

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

function read(file: string, what: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new Error(`cannot read the ${what} ${file} (${flag}): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; ${ASK}`);
  }
}

function certificate(pem: Buffer, file: string, flag: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new Error(`${file} (${flag}) is not a PEM certificate: ${(error as Error).message}`);
  }
}

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

/**
 * A hint for a failed connection that looks like a TLS problem (grpc-js
 * reports handshake failures as UNAVAILABLE with the TLS error in the details),
 * so the log says what to check instead of only "unreachable".
 */
export function tlsFailureHint(error: unknown): string | undefined {
  const details = `${(error as Partial<grpc.ServiceError>).details ?? ''} ${(error as Error).message ?? ''}`;
  if (!/certificate|handshake|SSL|TLS|alert|self[- ]signed|altnames|unable to verify|wrong version number|ECONNRESET|Connection dropped/i.test(details)) return undefined;
  return 'the TLS handshake with the coordinator failed: check that --tls-ca is the federation CA, that the certificate is from that CA, current and not revoked, and that the coordinator runs TLS (or both sides --insecure)';
}
