/**
 * Transport-security flags of the coordinator, the client and the operator
 * commands (docs/security.md). Plaintext is never a default: without TLS
 * files a command needs an explicit --insecure, so a forgotten flag cannot
 * quietly put a federation on the network unauthenticated.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientTlsConfig } from '@pfedlora/client';
import type { CoordinatorTlsConfig } from '@pfedlora/coordinator';
import { boolFlag, stringFlag, type FlagSpecs, type ParsedFlags } from '../args';
import { UsageError } from '../errors';

const INSECURE_HELP = 'plaintext gRPC without TLS or client authentication (tests, everything on 127.0.0.1); logged as a warning';

export const COORDINATOR_TLS_FLAGS: FlagSpecs = {
  'tls-cert': { type: 'string', value: 'FILE', help: "server certificate (coordinator.pem from 'pfedlora certs init'); with --tls-key and --tls-ca: mutual TLS" },
  'tls-key': { type: 'string', value: 'FILE', help: 'private key of --tls-cert (coordinator-key.pem)' },
  'tls-ca': { type: 'string', value: 'FILE', help: 'CA certificate that signs client and operator certificates (ca.pem)' },
  revoked: { type: 'string', value: 'FILE', help: 'revoked client ids, re-read when it changes (default: revoked.txt beside --tls-ca)' },
  insecure: { type: 'boolean', help: INSECURE_HELP },
};

export const CLIENT_TLS_FLAGS: FlagSpecs = {
  'tls-cert': { type: 'string', value: 'FILE', help: "this client's certificate (client.pem from 'pfedlora certs issue'); with --tls-key and --tls-ca: mutual TLS" },
  'tls-key': { type: 'string', value: 'FILE', help: 'private key of --tls-cert (client-key.pem)' },
  'tls-ca': { type: 'string', value: 'FILE', help: "CA certificate that signed the coordinator's certificate (ca.pem)" },
  insecure: { type: 'boolean', help: INSECURE_HELP },
};

export const OPERATOR_TLS_FLAGS: FlagSpecs = {
  'tls-ca': { type: 'string', value: 'FILE', help: "CA certificate of the federation (ca.pem); env PFEDLORA_ADMIN_TLS_DIR: a folder with ca.pem, admin.pem, admin-key.pem" },
  'tls-cert': { type: 'string', value: 'FILE', help: 'operator certificate (admin.pem); without it the admin token must be set' },
  'tls-key': { type: 'string', value: 'FILE', help: 'private key of --tls-cert (admin-key.pem)' },
  insecure: { type: 'boolean', help: 'plaintext gRPC to a coordinator started with --insecure' },
};

interface TlsFiles {
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  readonly caFile: string | undefined;
}

function tlsFiles(flags: ParsedFlags): TlsFiles {
  return { certFile: stringFlag(flags, 'tls-cert'), keyFile: stringFlag(flags, 'tls-key'), caFile: stringFlag(flags, 'tls-ca') };
}

const given = (f: TlsFiles) => [f.certFile && '--tls-cert', f.keyFile && '--tls-key', f.caFile && '--tls-ca'].filter((x): x is string => Boolean(x));

/** All three files, none (then --insecure), never a mix; never both. */
function requireAllOrInsecure(flags: ParsedFlags, who: string, how: string): { certFile: string; keyFile: string; caFile: string } | undefined {
  const files = tlsFiles(flags);
  const present = given(files);
  const insecure = boolFlag(flags, 'insecure');
  if (present.length > 0 && insecure) throw new UsageError(`--insecure and ${present.join(', ')} contradict each other: give the TLS files or --insecure, not both`);
  if (insecure) return undefined;
  if (present.length === 0) throw new UsageError(`the ${who} needs TLS or an explicit --insecure: ${how}, or pass --insecure for plaintext gRPC without client authentication (see docs/security.md)`);
  if (present.length < 3) {
    const missing = ['--tls-cert', '--tls-key', '--tls-ca'].filter((f) => !present.includes(f));
    throw new UsageError(`${present.join(' and ')} given without ${missing.join(' and ')}: mutual TLS needs all three`);
  }
  return { certFile: files.certFile!, keyFile: files.keyFile!, caFile: files.caFile! };
}

export function coordinatorTlsFromFlags(flags: ParsedFlags): CoordinatorTlsConfig | undefined {
  const files = requireAllOrInsecure(
    flags,
    'coordinator',
    "run 'pfedlora certs init --dir DIR' and pass --tls-cert DIR/coordinator.pem --tls-key DIR/coordinator-key.pem --tls-ca DIR/ca.pem",
  );
  const revoked = stringFlag(flags, 'revoked');
  if (!files) {
    if (revoked !== undefined) throw new UsageError('--revoked needs mutual TLS (--tls-cert, --tls-key, --tls-ca): without it clients have no certificate to revoke');
    return undefined;
  }
  return { ...files, ...(revoked === undefined ? {} : { revokedFile: revoked }) };
}

export function clientTlsFromFlags(flags: ParsedFlags): ClientTlsConfig | undefined {
  return requireAllOrInsecure(
    flags,
    'client',
    "ask the federation's operator for a certificate ('pfedlora certs issue --client-id ID') and pass --tls-cert client.pem --tls-key client-key.pem --tls-ca ca.pem",
  );
}

/** How an operator command reaches the Admin service: TLS (CA, optional operator certificate) or plaintext. */
export type OperatorTransport =
  | { readonly kind: 'tls'; readonly caFile: string; readonly certFile?: string; readonly keyFile?: string }
  | { readonly kind: 'insecure' };

export const ADMIN_TLS_DIR_ENV = 'PFEDLORA_ADMIN_TLS_DIR';

export function operatorTransportFromFlags(flags: ParsedFlags, env: NodeJS.ProcessEnv = process.env): OperatorTransport {
  const files = tlsFiles(flags);
  const present = given(files);
  const insecure = boolFlag(flags, 'insecure');
  if (present.length > 0 && insecure) throw new UsageError(`--insecure and ${present.join(', ')} contradict each other: give the TLS files or --insecure, not both`);
  if (insecure) return { kind: 'insecure' };
  if (Boolean(files.certFile) !== Boolean(files.keyFile)) throw new UsageError('--tls-cert and --tls-key go together (admin.pem and admin-key.pem)');
  if (present.length > 0) {
    if (!files.caFile) throw new UsageError("--tls-ca FILE is needed to check the coordinator's certificate (ca.pem from 'pfedlora certs init')");
    return { kind: 'tls', caFile: files.caFile, ...(files.certFile ? { certFile: files.certFile, keyFile: files.keyFile! } : {}) };
  }
  const dir = env[ADMIN_TLS_DIR_ENV];
  if (dir) {
    const ca = join(dir, 'ca.pem');
    if (!existsSync(ca)) throw new UsageError(`${ADMIN_TLS_DIR_ENV}=${dir} holds no ca.pem; point it at the folder 'pfedlora certs init' wrote (or a copy of ca.pem, admin.pem, admin-key.pem)`);
    const cert = join(dir, 'admin.pem');
    const key = join(dir, 'admin-key.pem');
    // Without the operator certificate the token must do (the coordinator says so if it is missing).
    return existsSync(cert) && existsSync(key) ? { kind: 'tls', caFile: ca, certFile: cert, keyFile: key } : { kind: 'tls', caFile: ca };
  }
  throw new UsageError(
    `the Admin service needs TLS or an explicit --insecure: pass --tls-ca ca.pem --tls-cert admin.pem --tls-key admin-key.pem, or set ${ADMIN_TLS_DIR_ENV} to the folder 'pfedlora certs init' wrote, or --insecure for a coordinator started with --insecure`,
  );
}
