/**
 * Transport security of the coordinator (docs/security.md).
 *
 * With TLS files the Federation port requires mutual TLS: the TLS handshake
 * itself refuses a client without a certificate of the federation's CA (or
 * with an expired one), and every call is then tied to the client id its
 * certificate names (FederationAuth): a Join under another id, a revoked id,
 * or a call on a session another identity opened is refused. The Admin port
 * presents the same server certificate and asks for, but does not require, a
 * client certificate: an operator proves itself with the operator
 * certificate or the admin token, and a client certificate is refused there.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { describeIdentity, identityFromSubjectAltName, parsePemCertificate, readTlsFile, type PeerIdentity } from '@pfedlora/protocol';
import type { Logger } from '@pfedlora/telemetry';
import { CoordinatorError } from './errors';

export interface CoordinatorTlsConfig {
  /** PEM certificate (chain) the coordinator presents on both ports. */
  readonly certFile: string;
  /** Its PEM private key. */
  readonly keyFile: string;
  /** PEM CA certificate that signs client and operator certificates. */
  readonly caFile: string;
  /** Revoked client ids, one a line; default: revoked.txt beside caFile (where `pfedlora certs revoke` writes). */
  readonly revokedFile?: string;
}

/** The revocation list's name in a certs directory. */
export const REVOCATION_FILE = 'revoked.txt';

/** How often the revocation list is checked for changes. */
export const REVOCATION_POLL_MS = 2_000;

export function revocationFileOf(tls: CoordinatorTlsConfig): string {
  return tls.revokedFile ?? join(dirname(tls.caFile), REVOCATION_FILE);
}

const HOW_TO_CREATE = "create them with 'pfedlora certs init --dir DIR' (see docs/security.md)";

const readFile = (file: string, what: string, flag: string) => readTlsFile(file, what, flag, HOW_TO_CREATE);

export interface ServerTlsMaterial {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The server certificate, for its validity window and names in logs. */
  readonly certificate: X509Certificate;
}

/** Reads and checks the TLS files, so a wrong path or a key of another certificate fails at start with its name. */
export function loadServerTls(tls: CoordinatorTlsConfig): ServerTlsMaterial {
  const ca = readFile(tls.caFile, 'CA certificate', '--tls-ca');
  const cert = readFile(tls.certFile, 'server certificate', '--tls-cert');
  const key = readFile(tls.keyFile, 'server private key', '--tls-key');
  const caCert = parsePemCertificate(ca, tls.caFile, '--tls-ca');
  if (!caCert.ca) throw new Error(`${tls.caFile} is not a CA certificate (basicConstraints CA:TRUE); --tls-ca takes ca.pem from 'pfedlora certs init'`);
  const certificate = parsePemCertificate(cert, tls.certFile, '--tls-cert');
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new Error(`${tls.keyFile} is not a PEM private key (--tls-key): ${(error as Error).message}`);
  }
  if (!certificate.checkPrivateKey(privateKey)) throw new Error(`${tls.keyFile} is not the private key of ${tls.certFile}; pass the key written beside that certificate`);
  return { ca, cert, key, certificate };
}

/**
 * A CertificateProvider with fixed contents. It hands them over on the next
 * tick: grpc-js registers its watcher only after adding the listener, so a
 * synchronous update would be lost and the port would drop every connection.
 */
class StaticCertificateProvider implements grpc.experimental.CertificateProvider {
  constructor(private readonly material: ServerTlsMaterial) {}
  addCaCertificateListener(listener: grpc.experimental.CaCertificateUpdateListener): void {
    setImmediate(() => listener({ caCertificate: this.material.ca }));
  }
  removeCaCertificateListener(): void {}
  addIdentityCertificateListener(listener: grpc.experimental.IdentityCertificateUpdateListener): void {
    setImmediate(() => listener({ certificate: this.material.cert, privateKey: this.material.key }));
  }
  removeIdentityCertificateListener(): void {}
}

export interface ServerCredentialsPair {
  /** Mutual TLS, client certificate required (the handshake refuses anything else). */
  readonly federation: grpc.ServerCredentials;
  /** TLS; a client certificate is requested and checked if sent, not required (the admin token is the alternative). */
  readonly admin: grpc.ServerCredentials;
}

export function serverCredentials(material: ServerTlsMaterial): ServerCredentialsPair {
  const federation = grpc.ServerCredentials.createSsl(material.ca, [{ cert_chain: material.cert, private_key: material.key }], true);
  // createSsl either requires a client certificate or never asks for one; the provider
  // credentials ask for one without requiring it (requestCert without rejectUnauthorized),
  // and grpc-js then reports a peer certificate only when it verified against the CA.
  // One provider serves as both CA and identity provider, so the argument order does not matter.
  const provider = new StaticCertificateProvider(material);
  const admin = grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
  return { federation, admin };
}

/** What grpc-js server calls offer: the verified peer certificate of a TLS connection. */
export interface CallWithAuthContext {
  getAuthContext(): { readonly sslPeerCertificate?: PeerCertificate | undefined } | null;
}

/** The pfedlora identity of a call's verified client certificate. */
export function callIdentity(call: CallWithAuthContext): PeerIdentity {
  const peer = call.getAuthContext()?.sslPeerCertificate;
  if (!peer) return { kind: 'none', reason: 'no verified client certificate' };
  return identityFromSubjectAltName(peer.subjectaltname);
}

/** Revoked client ids from a text file: one id a line (first word), `#` starts a comment. */
export function parseRevocationList(text: string): Set<string> {
  const ids = new Set<string>();
  for (const line of text.split('\n')) {
    const id = line.replace(/#.*$/, '').trim().split(/\s+/)[0];
    if (id) ids.add(id);
  }
  return ids;
}

/**
 * The revocation list, re-read when the file changes (checked every
 * REVOCATION_POLL_MS). A missing file is an empty list; a file that cannot be
 * read later keeps the last list (an unreadable file must not un-revoke anyone).
 */
export class RevocationList {
  private ids = new Set<string>();
  private signature = '';
  private readonly timer: NodeJS.Timeout;
  private readonly listeners: Array<(added: string[]) => void> = [];

  constructor(
    readonly file: string,
    private readonly log: Logger,
    pollMs = REVOCATION_POLL_MS,
  ) {
    this.reload(true);
    this.timer = setInterval(() => this.reload(false), pollMs);
    this.timer.unref();
  }

  has(clientId: string): boolean {
    return this.ids.has(clientId);
  }

  get size(): number {
    return this.ids.size;
  }

  /** Calls listener with the ids each reload newly revokes. */
  onRevoked(listener: (added: string[]) => void): void {
    this.listeners.push(listener);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private reload(first: boolean): void {
    let signature: string;
    try {
      const s = statSync(this.file);
      signature = `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        if (first) throw new Error(`cannot read the revocation list ${this.file} (--revoked): ${(error as Error).message}`);
        return;
      }
      signature = 'missing';
    }
    if (signature === this.signature) return;
    let next: Set<string>;
    if (signature === 'missing') next = new Set();
    else {
      try {
        next = parseRevocationList(readFileSync(this.file, 'utf8'));
      } catch (error) {
        if (first) throw new Error(`cannot read the revocation list ${this.file} (--revoked): ${(error as Error).message}`);
        this.log.error('revocation list unreadable; keeping the previous one', { file: this.file, error: (error as Error).message });
        return;
      }
    }
    this.signature = signature;
    const added = [...next].filter((id) => !this.ids.has(id));
    const removed = [...this.ids].filter((id) => !next.has(id));
    this.ids = next;
    if (first) this.log.info('revocation list loaded', { file: this.file, revoked: next.size, present: signature !== 'missing' });
    else if (added.length > 0 || removed.length > 0) this.log.warn('revocation list changed', { file: this.file, revoked: added, unrevoked: removed });
    if (!first && added.length > 0) for (const listener of this.listeners) listener(added);
  }
}

/**
 * Ties Federation calls to the client id of the certificate that makes them.
 * A session is bound to the identity that joined; later calls on it from any
 * other identity are refused, so a stolen session id is useless without the key.
 */
export class FederationAuth {
  private readonly owners = new Map<string, string>();
  private readonly sessionOf = new Map<string, string>();

  constructor(private readonly revoked: RevocationList) {}

  /** The certified, unrevoked client id of a call, or a refusal. */
  clientOf(call: CallWithAuthContext): string {
    const identity = callIdentity(call);
    if (identity.kind === 'admin') {
      throw new CoordinatorError('permission-denied', "the operator (admin) certificate cannot act as a client; give each client its own certificate: 'pfedlora certs issue --client-id ID'");
    }
    if (identity.kind === 'none') throw new CoordinatorError('unauthenticated', `no client identity: ${identity.reason}`);
    if (this.revoked.has(identity.clientId)) {
      throw new CoordinatorError('permission-denied', `the certificate of client ${identity.clientId} has been revoked (${this.revoked.file})`);
    }
    return identity.clientId;
  }

  /** A client joins only under the id its certificate names. */
  checkJoin(call: CallWithAuthContext, requestedId: string): void {
    const certified = this.clientOf(call);
    if (requestedId !== certified) {
      throw new CoordinatorError('permission-denied', `join as client ${requestedId} refused: the TLS certificate is for client ${certified}; a client joins only under its certificate's id`);
    }
  }

  /** Records which identity a new session belongs to (and forgets that client's previous session). */
  bind(sessionId: string, clientId: string): void {
    const previous = this.sessionOf.get(clientId);
    if (previous !== undefined) this.owners.delete(previous);
    this.owners.set(sessionId, clientId);
    this.sessionOf.set(clientId, sessionId);
  }

  /** A call on a session must come from the identity that opened it. Unknown sessions are left to the coordinator (NOT_FOUND). */
  checkSession(call: CallWithAuthContext, sessionId: string): void {
    const certified = this.clientOf(call);
    const owner = this.owners.get(sessionId);
    if (owner !== undefined && owner !== certified) {
      throw new CoordinatorError('permission-denied', `session ${sessionId} belongs to client ${owner}; this TLS certificate is for client ${certified}`);
    }
  }
}

/** The admin token a call carried: the configured one, another (or one the coordinator has none to match), or none. */
export type AdminTokenState = 'ok' | 'wrong' | 'missing';

/**
 * Who may call the Admin service over TLS: the operator certificate, or
 * (with no certificate) the admin token; never a client certificate, even
 * together with the token, so a client's credentials are never an operator's.
 * A missing token and a wrong one are refused with different words.
 * Returns how the caller proved itself, or throws.
 */
export function adminTlsCaller(call: CallWithAuthContext, token: AdminTokenState, tokenConfigured: boolean): 'certificate' | 'token' {
  const identity = callIdentity(call);
  if (identity.kind === 'admin') return 'certificate';
  if (identity.kind === 'client') {
    throw new CoordinatorError('permission-denied', `${describeIdentity(identity)}'s certificate cannot call the Admin service; use the operator certificate (admin.pem from 'pfedlora certs init') or the admin token`);
  }
  if (tokenConfigured && token === 'ok') return 'token';
  const certificate = "the operator certificate: --tls-cert/--tls-key admin.pem, admin-key.pem (or PFEDLORA_ADMIN_TLS_DIR) from 'pfedlora certs init'";
  let message: string;
  if (!tokenConfigured) {
    message =
      token === 'missing'
        ? `the Admin service needs ${certificate}`
        : `the coordinator was started without an admin token (PFEDLORA_ADMIN_TOKEN), so the token given cannot be checked: the Admin service needs ${certificate}`;
  } else if (token === 'wrong') {
    message = "the operator token given does not match the coordinator's (PFEDLORA_ADMIN_TOKEN must be the token it was started with), and no operator certificate was presented";
  } else {
    message =
      'the Admin service needs the operator certificate (--tls-cert admin.pem, or PFEDLORA_ADMIN_TLS_DIR) or the operator token, and neither was given (authorization: Bearer <token>; PFEDLORA_ADMIN_TOKEN for the CLI)';
  }
  throw new CoordinatorError('unauthenticated', message);
}
