/**
 * The federation's small PKI (docs/security.md): one CA, the coordinator's
 * server certificate, the operator certificate, one certificate per client,
 * and a revocation list of client ids. Certificates are built with
 * @peculiar/x509 over Node's WebCrypto (ECDSA P-256 keys, SHA-256
 * signatures); nothing here encodes ASN.1 by hand.
 *
 * Layout of a certs directory:
 *   ca.pem, ca-key.pem                the CA (the key never leaves this host)
 *   coordinator.pem, coordinator-key.pem   the coordinator's server certificate
 *   admin.pem, admin-key.pem          the operator certificate (identity pfedlora:admin)
 *   clients/ID/{ca.pem,client.pem,client-key.pem}   what client ID gets, ready to copy
 *   revoked.txt                       revoked client ids, read by the coordinator
 */
import 'reflect-metadata'; // @peculiar/x509's dependency injection (tsyringe) needs it loaded first
import { createPrivateKey, randomBytes, webcrypto, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { writeFileAtomic } from '@pfedlora/core';
import { ADMIN_IDENTITY, CLIENT_ID_PATTERN, clientIdentityUri, identityFromSubjectAltName } from '@pfedlora/protocol';
import { parseRevocationList, REVOCATION_FILE } from '@pfedlora/coordinator';

x509.cryptoProvider.set(webcrypto);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

export const CERT_FILES = {
  ca: 'ca.pem',
  caKey: 'ca-key.pem',
  server: 'coordinator.pem',
  serverKey: 'coordinator-key.pem',
  admin: 'admin.pem',
  adminKey: 'admin-key.pem',
  revoked: REVOCATION_FILE,
  clients: 'clients',
  clientCert: 'client.pem',
  clientKey: 'client-key.pem',
} as const;

export const DEFAULT_COORDINATOR_HOSTS = ['localhost', '127.0.0.1'];
export const DEFAULT_CA_DAYS = 3650;
export const DEFAULT_CERT_DAYS = 365;

const KEY_ALGORITHM: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const DAY_MS = 86_400_000;

/** Where a file went and what it is for (printed by the command). */
export interface WrittenFile {
  readonly path: string;
  readonly role: string;
  /** Private keys are written 0600. */
  readonly secret: boolean;
}

export interface IssuedCertificate {
  readonly subject: string;
  readonly identity: string;
  readonly serialNumber: string;
  readonly notBefore: string;
  readonly notAfter: string;
}

/**
 * What the caller asked for cannot be done (a CA already there, none there, a
 * revoked or existing client, an empty validity window): the message says
 * what to run instead. `pfedlora certs` exits 2 with it.
 */
export class CertificateError extends Error {
  override readonly name = 'CertificateError';
}

/** Atomically (core's writeFileAtomic: temp, fsync, rename, directory fsync); secrets are 0600 from their first byte. */
function writeAtomic(path: string, data: string, secret: boolean): void {
  writeFileAtomic(path, data, { mode: secret ? 0o600 : 0o644 });
}

async function newKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return x509.PemConverter.encode(der, 'PRIVATE KEY') + '\n';
}

/** Positive 128-bit serial (RFC 5280: unique per CA, at most 20 bytes, not negative). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

export interface Validity {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** From now (a minute back, for clocks a little behind) for `days` days. */
export function validityForDays(days: number, now = new Date()): Validity {
  return { notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + days * DAY_MS) };
}

interface Ca {
  readonly cert: x509.X509Certificate;
  readonly key: CryptoKey;
}

async function signLeaf(ca: Ca, options: { cn: string; validity: Validity; extensions: x509.Extension[]; keys: CryptoKeyPair }): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${options.cn}, O=pfedlora`,
    issuer: ca.cert.subject,
    notBefore: options.validity.notBefore,
    notAfter: options.validity.notAfter,
    signingAlgorithm: SIGNING,
    publicKey: options.keys.publicKey,
    signingKey: ca.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      await x509.SubjectKeyIdentifierExtension.create(options.keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
      ...options.extensions,
    ],
  });
}

function describe(cert: x509.X509Certificate, identity: string): IssuedCertificate {
  return { subject: cert.subject, identity, serialNumber: cert.serialNumber, notBefore: cert.notBefore.toISOString(), notAfter: cert.notAfter.toISOString() };
}

/** Sorts the coordinator's names into DNS names and IP addresses for its certificate's SANs. */
export function splitHosts(names: readonly string[]): { dns: string[]; ips: string[] } {
  const dns: string[] = [];
  const ips: string[] = [];
  for (const name of names) {
    if (isIP(name)) ips.push(name);
    else if (/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/.test(name)) dns.push(name);
    else throw new CertificateError(`"${name}" is neither a DNS name nor an IP address`);
  }
  return { dns, ips };
}

export interface InitOptions {
  readonly dir: string;
  readonly hosts: { readonly dns: readonly string[]; readonly ips: readonly string[] };
  /** Validity of the server and operator certificates; the CA gets DEFAULT_CA_DAYS or more. */
  readonly days: number;
  /** Replace an existing CA (every certificate it issued stops working). */
  readonly force: boolean;
}

export interface InitResult {
  readonly dir: string;
  readonly files: WrittenFile[];
  readonly ca: IssuedCertificate;
  readonly coordinator: IssuedCertificate & { readonly hosts: string[] };
  readonly admin: IssuedCertificate;
}

export async function initCertificates(options: InitOptions): Promise<InitResult> {
  const { dir } = options;
  const caKeyPath = join(dir, CERT_FILES.caKey);
  if (existsSync(caKeyPath) && !options.force) {
    throw new CertificateError(
      `${dir} already holds a CA (${CERT_FILES.caKey}); 'pfedlora certs issue --dir ${dir} --client-id ID' issues client certificates from it. ` +
        'To start over with a new CA pass --force (every certificate the old CA issued stops working).',
    );
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files: WrittenFile[] = [];
  const write = (name: string, data: string, role: string, secret = false) => {
    const path = join(dir, name);
    writeAtomic(path, data, secret);
    files.push({ path, role, secret });
  };

  // The CA outlives the certificates it signs, so renewing them never needs a new CA.
  const caDays = Math.max(DEFAULT_CA_DAYS, options.days);
  const caKeys = await newKeys();
  const caValidity = validityForDays(caDays);
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=pfedlora federation CA ${new Date().toISOString().slice(0, 10)} ${randomBytes(3).toString('hex')}, O=pfedlora`,
    notBefore: caValidity.notBefore,
    notAfter: caValidity.notAfter,
    signingAlgorithm: SIGNING,
    keys: caKeys,
    extensions: [
      // pathLen 0: the CA signs end-entity certificates only, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const ca: Ca = { cert: caCert, key: caKeys.privateKey };
  write(CERT_FILES.caKey, await privateKeyPem(caKeys.privateKey), 'CA private key: stays on this host, signs every certificate', true);
  write(CERT_FILES.ca, caCert.toString('pem') + '\n', 'CA certificate: give it to the coordinator (--tls-ca), every client and every operator');

  const validity = validityForDays(options.days);
  const hostNames = [...options.hosts.dns, ...options.hosts.ips];
  const serverKeys = await newKeys();
  const serverCert = await signLeaf(ca, {
    cn: hostNames[0] ?? 'pfedlora-coordinator',
    validity,
    keys: serverKeys,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([...options.hosts.dns.map((value) => ({ type: 'dns' as const, value })), ...options.hosts.ips.map((value) => ({ type: 'ip' as const, value }))]),
    ],
  });
  write(CERT_FILES.serverKey, await privateKeyPem(serverKeys.privateKey), 'coordinator private key (--tls-key)', true);
  write(CERT_FILES.server, serverCert.toString('pem') + '\n', `coordinator certificate (--tls-cert), valid for ${hostNames.join(', ')}`);

  const adminKeys = await newKeys();
  const adminCert = await signLeaf(ca, {
    cn: 'pfedlora-admin',
    validity,
    keys: adminKeys,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: ADMIN_IDENTITY }]),
    ],
  });
  write(CERT_FILES.adminKey, await privateKeyPem(adminKeys.privateKey), 'operator private key (pfedlora rounds/clients --tls-key, or PFEDLORA_ADMIN_TLS_DIR)', true);
  write(CERT_FILES.admin, adminCert.toString('pem') + '\n', 'operator certificate (pfedlora rounds/clients --tls-cert, or PFEDLORA_ADMIN_TLS_DIR)');

  return {
    dir,
    files,
    ca: describe(caCert, 'CA'),
    coordinator: { ...describe(serverCert, hostNames.join(',')), hosts: hostNames },
    admin: describe(adminCert, ADMIN_IDENTITY),
  };
}

/** The CA of a certs directory, with a message saying what to run when it is missing. */
async function loadCa(dir: string): Promise<Ca> {
  const certPath = join(dir, CERT_FILES.ca);
  const keyPath = join(dir, CERT_FILES.caKey);
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    throw new CertificateError(`${dir} holds no CA (${CERT_FILES.ca} and ${CERT_FILES.caKey}); create one with 'pfedlora certs init --dir ${dir}'`);
  }
  const cert = new x509.X509Certificate(readFileSync(certPath, 'utf8'));
  const keyObject = createPrivateKey(readFileSync(keyPath));
  if (keyObject.asymmetricKeyType !== 'ec' || keyObject.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new CertificateError(`${keyPath} is not an ECDSA P-256 key as 'pfedlora certs init' writes; issue certificates for another CA with that CA's own tools`);
  }
  if (!new NodeX509Certificate(readFileSync(certPath)).checkPrivateKey(keyObject)) throw new CertificateError(`${keyPath} is not the key of ${certPath}`);
  const der = keyObject.export({ type: 'pkcs8', format: 'der' });
  const key = await webcrypto.subtle.importKey('pkcs8', der, KEY_ALGORITHM, false, ['sign']);
  return { cert, key };
}

export function revocationPath(dir: string): string {
  return join(dir, CERT_FILES.revoked);
}

function revokedIds(dir: string): Set<string> {
  const path = revocationPath(dir);
  return existsSync(path) ? parseRevocationList(readFileSync(path, 'utf8')) : new Set();
}

export function checkClientId(clientId: string): void {
  if (!CLIENT_ID_PATTERN.test(clientId)) throw new CertificateError(`--client-id "${clientId}" must be 1-128 letters, digits, '.', '_' or '-' (the same rule as 'pfedlora client --client-id')`);
}

export interface IssueOptions {
  readonly dir: string;
  readonly clientId: string;
  readonly validity: Validity;
  /** Replace this client's existing certificate (renewal). */
  readonly force: boolean;
}

export interface IssueResult {
  readonly clientId: string;
  /** What may surprise about the certificate's validity (already expired, outlived by its CA): one sentence each, for stderr. */
  readonly warnings: string[];
  /** The folder to give to that client: its certificate, key and the CA certificate. */
  readonly clientDir: string;
  readonly files: WrittenFile[];
  readonly certificate: IssuedCertificate;
}

export async function issueClientCertificate(options: IssueOptions): Promise<IssueResult> {
  const { dir, clientId } = options;
  checkClientId(clientId);
  if (options.validity.notAfter.getTime() <= options.validity.notBefore.getTime()) {
    throw new CertificateError(`the validity window is empty: not after ${options.validity.notAfter.toISOString()} is not later than not before ${options.validity.notBefore.toISOString()}`);
  }
  const ca = await loadCa(dir);
  const { error, warnings } = validityProblems(options.validity, ca.cert, join(dir, CERT_FILES.ca));
  if (error) throw new CertificateError(error);
  if (revokedIds(dir).has(clientId)) {
    throw new CertificateError(`client ${clientId} is revoked (${revocationPath(dir)}); remove its line there first if it should come back, or issue under a new client id`);
  }
  const clientDir = join(dir, CERT_FILES.clients, clientId);
  const certPath = join(clientDir, CERT_FILES.clientCert);
  if (existsSync(certPath) && !options.force) {
    throw new CertificateError(`client ${clientId} already has a certificate (${certPath}); pass --force to issue a new one (renewal; the old one stays valid until it expires unless the id is revoked)`);
  }
  mkdirSync(clientDir, { recursive: true, mode: 0o700 });
  const keys = await newKeys();
  const cert = await signLeaf(ca, {
    cn: clientId,
    validity: options.validity,
    keys,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: clientIdentityUri(clientId) }]),
    ],
  });
  // Check what a coordinator will read back, so a bug here can never hand out a certificate of the wrong identity.
  const identity = identityFromSubjectAltName(new NodeX509Certificate(cert.toString('pem')).subjectAltName);
  if (identity.kind !== 'client' || identity.clientId !== clientId) throw new Error(`internal error: the issued certificate does not read back as client ${clientId}`);
  const files: WrittenFile[] = [];
  const write = (name: string, data: string, role: string, secret = false) => {
    const path = join(clientDir, name);
    writeAtomic(path, data, secret);
    files.push({ path, role, secret });
  };
  write(CERT_FILES.clientKey, await privateKeyPem(keys.privateKey), `client ${clientId} private key (pfedlora client --tls-key)`, true);
  write(CERT_FILES.clientCert, cert.toString('pem') + '\n', `client ${clientId} certificate (pfedlora client --tls-cert)`);
  write(CERT_FILES.ca, readFileSync(join(dir, CERT_FILES.ca), 'utf8'), 'CA certificate (pfedlora client --tls-ca)');
  return { clientId, warnings, clientDir, files, certificate: describe(cert, clientIdentityUri(clientId)) };
}

/**
 * A client certificate's window against now and its CA's: an error when it
 * could never be accepted (it starts after the CA has expired), warnings when
 * it is already expired (tests of expiry ask for that) or when the CA expires
 * first (the certificate stops being accepted then).
 */
export function validityProblems(validity: Validity, ca: { readonly notBefore: Date; readonly notAfter: Date }, caPath: string, now = new Date()): { error?: string; warnings: string[] } {
  const iso = (d: Date) => d.toISOString();
  const window = `${iso(validity.notBefore)} to ${iso(validity.notAfter)}`;
  if (validity.notBefore.getTime() >= ca.notAfter.getTime()) {
    return {
      error:
        `the certificate (valid ${window}) would start after its CA ${caPath} expires (${iso(ca.notAfter)}), so it could never be accepted; ` +
        (ca.notAfter.getTime() <= now.getTime() ? "the CA has expired: start a new one with 'pfedlora certs init --force'" : 'choose an earlier --not-before'),
      warnings: [],
    };
  }
  const warnings: string[] = [];
  if (validity.notAfter.getTime() <= now.getTime()) {
    warnings.push(`the certificate has already expired: valid ${window}, and it is now ${iso(now)}; a coordinator refuses it (fine for testing expiry; otherwise give a later --not-after or leave the dates out)`);
  } else if (validity.notAfter.getTime() > ca.notAfter.getTime()) {
    const days = Math.floor((ca.notAfter.getTime() - Math.max(now.getTime(), validity.notBefore.getTime())) / DAY_MS);
    warnings.push(
      `its CA ${caPath} expires ${iso(ca.notAfter)}, before the certificate does (${iso(validity.notAfter)}): it is refused from then on` +
        (days >= 1 ? `; with --days ${days} or fewer it ends no later than its CA` : ''),
    );
  }
  return { warnings };
}

export interface RevokeResult {
  readonly clientId: string;
  readonly file: string;
  /** False when the id was on the list already. */
  readonly added: boolean;
  /** Whether this certs directory ever issued a certificate for the id. */
  readonly issuedHere: boolean;
}

/**
 * Adds a client id to the revocation list. The file is rewritten atomically,
 * so the coordinator, which re-reads it when it changes, never sees half a line.
 */
export function revokeClient(dir: string, clientId: string, reason: string | undefined, now = new Date()): RevokeResult {
  checkClientId(clientId);
  if (!existsSync(join(dir, CERT_FILES.ca))) throw new CertificateError(`${dir} holds no CA (${CERT_FILES.ca}); pass the --dir given to 'pfedlora certs init'`);
  const file = revocationPath(dir);
  const issuedHere = existsSync(join(dir, CERT_FILES.clients, clientId, CERT_FILES.clientCert));
  if (revokedIds(dir).has(clientId)) return { clientId, file, added: false, issuedHere };
  const before = existsSync(file) ? readFileSync(file, 'utf8') : '# pfedlora revoked client ids: one a line, "#" starts a comment. Written by pfedlora certs revoke.\n';
  const note = `# revoked ${now.toISOString()}${reason ? `: ${reason.replace(/[\r\n]+/g, ' ')}` : ''}`;
  const text = (before === '' || before.endsWith('\n') ? before : before + '\n') + `${clientId} ${note}\n`;
  mkdirSync(dirname(file), { recursive: true });
  writeAtomic(file, text, false);
  return { clientId, file, added: true, issuedHere };
}
