/**
 * What a failed connection to a coordinator port says about TLS, from the
 * text grpc-js gives (UNAVAILABLE "No connection established. Last error:
 * ..."). grpc-js reports every transport failure the same way, so without
 * this a refused certificate or a TLS/plaintext mismatch reads as "the
 * coordinator is down". Observed with grpc-js 1.14 / Node 20 (OpenSSL 3):
 *
 * | this side | the other side | grpc-js "Last error" |
 * |---|---|---|
 * | TLS | plaintext port | `SSL routines:ssl3_get_record:wrong version number` |
 * | TLS, --tls-ca of another CA | TLS port | `self-signed certificate in certificate chain` |
 * | TLS, no client certificate | mutual-TLS port | `SSL routines:ssl3_read_bytes:tlsv13 alert certificate required` |
 * | TLS, certificate of another CA or expired | mutual-TLS port | `Failed to connect` (now and then `read ECONNRESET`): TLS 1.3 finishes the client's side of the handshake, then the coordinator checks the certificate and closes without an alert |
 * | plaintext | TLS port | `Failed to connect`: the TCP connection is accepted, then closed with no byte sent (a plaintext gRPC server sends its HTTP/2 SETTINGS at once) |
 * | either | nothing listening | `connect ECONNREFUSED ...` (not TLS) |
 *
 * `Failed to connect` means the connection (and the TLS handshake, over TLS)
 * was made and then closed before HTTP/2 began, so it is read as a refusal
 * only for a new connection ("No connection established"), never for an
 * established one that dropped.
 */

/** How this side spoke to the port. */
export type ConnectTransport = 'tls' | 'plaintext';

export type ConnectFailureKind =
  /** This side spoke TLS; the port speaks plaintext (a coordinator started with --insecure). */
  | 'plaintext-port'
  /** This side spoke plaintext (--insecure); the port speaks TLS. */
  | 'tls-port'
  /** The coordinator's certificate is not signed by this side's --tls-ca. */
  | 'untrusted-server'
  /** The coordinator's certificate is expired, not yet valid, or not issued for the address dialled. */
  | 'server-certificate'
  /** The port requires a client certificate and none was sent. */
  | 'certificate-required'
  /** The coordinator refused this side's certificate (another CA's, expired): an alert, or a close right after the handshake. */
  | 'certificate-refused'
  /** Another TLS handshake failure. */
  | 'handshake';

export interface ConnectFailure {
  readonly kind: ConnectFailureKind;
  /** The words of the transport error that decided it, e.g. "wrong version number", "Failed to connect". */
  readonly reason: string;
}

/** The TLS error from OpenSSL's "error:0A00010B:SSL routines:ssl3_get_record:wrong version number:file:line". */
function sslReason(text: string): string | undefined {
  return /SSL routines:[^:]*:([^:\n]+)/.exec(text)?.[1]?.trim();
}

/** grpc-js's "Last error" without the timestamp and resolution note. */
function lastError(text: string): string {
  const m = /Last error: (?:Error: )?([\s\S]*?)(?: \(\d{4}-\d\d-\d\dT[^)]*\))?\.? Resolution note:/.exec(text);
  return (m?.[1] ?? text).trim();
}

const PLAINTEXT_ANSWER = /wrong version number|packet length too long|unknown protocol|http request|record layer failure/i;
const CERTIFICATE_REQUIRED = /alert certificate required/i;
const CERTIFICATE_REFUSED_ALERT = /alert (unknown ca|bad certificate|certificate expired|certificate revoked|certificate unknown|unsupported certificate|access denied|decrypt error)/i;
const UNTRUSTED_SERVER = /self[- ]signed certificate|unable to verify the first certificate|unable to get (local )?issuer certificate|certificate signature failure|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT/i;
const SERVER_CERTIFICATE = /certificate has expired|certificate is not yet valid|does not match certificate's altnames|ERR_TLS_CERT_ALTNAME|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID/i;
const OTHER_TLS = /SSL routines|\balert\b|handshake|\bTLS\b/i;
/** A new connection was attempted (not an established one that dropped). */
const CONNECTING = /No connection established/;
/** Accepted, then closed before HTTP/2 began (after the TLS handshake, over TLS). */
const CLOSED_BEFORE_HTTP2 = /Failed to connect|ECONNRESET|EPIPE|Protocol error/;

/**
 * Classifies the text of a failed gRPC call (details and message) made over
 * `transport`; undefined when nothing in it points at TLS (a refused or timed
 * out TCP connection, DNS, a coordinator that went away mid-call).
 */
export function classifyConnectFailure(text: string, transport: ConnectTransport): ConnectFailure | undefined {
  const reason = (fallback: string) => sslReason(text) ?? fallback;
  if (transport === 'tls') {
    let m: RegExpExecArray | null;
    if ((m = PLAINTEXT_ANSWER.exec(text))) return { kind: 'plaintext-port', reason: reason(m[0]) };
    if ((m = CERTIFICATE_REQUIRED.exec(text))) return { kind: 'certificate-required', reason: reason(m[0]) };
    if ((m = CERTIFICATE_REFUSED_ALERT.exec(text))) return { kind: 'certificate-refused', reason: reason(m[0]) };
    if (UNTRUSTED_SERVER.test(text)) return { kind: 'untrusted-server', reason: lastError(text) };
    if (SERVER_CERTIFICATE.test(text)) return { kind: 'server-certificate', reason: lastError(text) };
    if (OTHER_TLS.test(text)) return { kind: 'handshake', reason: reason(lastError(text)) };
    if (CONNECTING.test(text) && CLOSED_BEFORE_HTTP2.test(text)) return { kind: 'certificate-refused', reason: lastError(text) };
    return undefined;
  }
  if (CONNECTING.test(text) && CLOSED_BEFORE_HTTP2.test(text)) return { kind: 'tls-port', reason: lastError(text) };
  return undefined;
}

/** The same, for a gRPC error (its details and message) or any other thrown value. */
export function connectFailureOf(error: unknown, transport: ConnectTransport): ConnectFailure | undefined {
  const e = (error ?? {}) as { details?: unknown; message?: unknown };
  const text = `${typeof e.details === 'string' ? e.details : ''}\n${typeof e.message === 'string' ? e.message : String(error)}`;
  return classifyConnectFailure(text, transport);
}
