/** `pfedlora certs init|issue|revoke`: the flags and output over @pfedlora/certs, the federation's certificate authority (docs/security.md). */
import { boolFlag, helpText, intFlag, parseActionCommand, stringFlag, type FlagSpecs, type ParsedFlags } from '../args';
import { UsageError } from '../errors';
import {
  CertificateError,
  DEFAULT_CERT_DAYS,
  DEFAULT_COORDINATOR_HOSTS,
  initCertificates,
  issueClientCertificate,
  revokeClient,
  splitHosts,
  validityForDays,
  type Validity,
  type WrittenFile,
} from '@pfedlora/certs';
import { HELP_FLAG } from './shared';

const FLAGS: FlagSpecs = {
  dir: { type: 'string', value: 'DIR', help: 'the certs directory (CA, certificates, revocation list)' },
  'coordinator-host': { type: 'string', value: 'NAMES', help: "init: comma-separated DNS names and IPs clients dial the coordinator by (its certificate's SANs)", default: DEFAULT_COORDINATOR_HOSTS.join(',') },
  'client-id': { type: 'string', value: 'ID', help: 'issue, revoke: the client id (the identity its certificate carries)' },
  days: { type: 'string', value: 'N', help: 'init, issue: days the certificates are valid (the CA: at least 3650)', default: String(DEFAULT_CERT_DAYS) },
  'not-before': { type: 'string', value: 'DATE', help: 'issue: start of the validity window (ISO 8601) instead of now' },
  'not-after': { type: 'string', value: 'DATE', help: 'issue: end of the validity window (ISO 8601) instead of --days from the start' },
  reason: { type: 'string', value: 'TEXT', help: 'revoke: why (kept as a comment in the list)' },
  force: { type: 'boolean', help: 'init: replace an existing CA; issue: replace the client\'s certificate (renewal)' },
  json: { type: 'boolean', help: 'print one JSON object' },
  ...HELP_FLAG,
};

const ACTIONS = ['init', 'issue', 'revoke'] as const;

const HELP = helpText(
  'pfedlora certs <init|issue|revoke> --dir DIR [options]',
  [
    'Creates and manages the certificates of a federation with mutual TLS (docs/security.md). Run it on the',
    'coordinator host; the CA key (ca-key.pem) never leaves DIR. Private keys are written with mode 0600.',
    '  init    a CA, the coordinator certificate (--coordinator-host names) and the operator certificate:',
    '          DIR/ca.pem, coordinator.pem, coordinator-key.pem, admin.pem, admin-key.pem',
    '          pfedlora coordinator --tls-cert DIR/coordinator.pem --tls-key DIR/coordinator-key.pem --tls-ca DIR/ca.pem',
    '  issue   a client certificate for --client-id: DIR/clients/ID/{client.pem,client-key.pem,ca.pem}; copy that',
    '          folder to the client: pfedlora client --client-id ID --tls-cert client.pem --tls-key client-key.pem --tls-ca ca.pem',
    '  revoke  adds --client-id to DIR/revoked.txt; a coordinator reading it (--revoked, by default revoked.txt',
    '          beside --tls-ca) drops that client within seconds and refuses it from then on',
    'Exit codes: 0 ok, 1 failure, 2 usage (bad flag, missing CA, certificate exists).',
  ].join('\n'),
  FLAGS,
);

function requireDir(flags: ParsedFlags): string {
  const dir = stringFlag(flags, 'dir');
  if (!dir) throw new UsageError("--dir DIR is required: the certs directory ('pfedlora certs init --dir DIR' creates it)");
  return dir;
}

function requireClientId(flags: ParsedFlags): string {
  const id = stringFlag(flags, 'client-id');
  if (!id) throw new UsageError('--client-id ID is required');
  return id;
}

function dateFlag(flags: ParsedFlags, name: string): Date | undefined {
  const text = stringFlag(flags, name);
  if (text === undefined) return undefined;
  const date = new Date(text);
  if (text.trim() === '' || Number.isNaN(date.getTime())) throw new UsageError(`--${name} expects an ISO 8601 date such as 2026-01-31 or 2026-01-31T12:00:00Z, got "${text}"`);
  return date;
}

/** --days from now, or an explicit window (--not-before/--not-after: renewals ahead of time, tests of expiry). */
function validityFromFlags(flags: ParsedFlags): Validity {
  const days = intFlag(flags, 'days', DEFAULT_CERT_DAYS, 1, 36500);
  const notBefore = dateFlag(flags, 'not-before');
  const notAfter = dateFlag(flags, 'not-after');
  if (notBefore === undefined && notAfter === undefined) return validityForDays(days);
  const start = notBefore ?? validityForDays(days).notBefore;
  const end = notAfter ?? new Date(start.getTime() + days * 86_400_000);
  if (end.getTime() <= start.getTime()) throw new UsageError(`--not-after (${end.toISOString()}) must be later than --not-before (${start.toISOString()})`);
  return { notBefore: start, notAfter: end };
}

/** Splits "a,b, 10.0.0.1" into DNS names and IP addresses for the server certificate. */
function parseHosts(text: string): { dns: string[]; ips: string[] } {
  const names = text.split(',').map((h) => h.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError('--coordinator-host expects a comma-separated list of DNS names or IP addresses, got nothing');
  try {
    return splitHosts(names);
  } catch (error) {
    throw new UsageError(`--coordinator-host: ${(error as Error).message}`);
  }
}

function printFiles(files: readonly WrittenFile[]): void {
  for (const f of files) process.stdout.write(`  ${f.path}${f.secret ? ' (0600)' : ''}\n      ${f.role}\n`);
}

export async function certs(argv: readonly string[]): Promise<number> {
  try {
    return await runCerts(argv);
  } catch (error) {
    // What the CA cannot do as asked (no CA, a CA already there, a revoked client...) is a usage error: exit 2.
    throw error instanceof CertificateError ? new UsageError(error.message) : error;
  }
}

async function runCerts(argv: readonly string[]): Promise<number> {
  const parsed = parseActionCommand(argv, FLAGS, 'certs', ACTIONS, HELP);
  if ('exitCode' in parsed) return parsed.exitCode;
  const { flags, action } = parsed;
  const json = boolFlag(flags, 'json');
  const dir = requireDir(flags);
  switch (action) {
    case 'init': {
      const hosts = parseHosts(stringFlag(flags, 'coordinator-host', DEFAULT_COORDINATOR_HOSTS.join(',')));
      const result = await initCertificates({ dir, hosts, days: intFlag(flags, 'days', DEFAULT_CERT_DAYS, 1, 36500), force: boolFlag(flags, 'force') });
      if (json) {
        process.stdout.write(JSON.stringify(result) + '\n');
        break;
      }
      process.stdout.write(`pfedlora certs: a new CA and the coordinator and operator certificates in ${dir}\n`);
      printFiles(result.files);
      process.stdout.write(
        [
          '',
          `The coordinator certificate is valid for ${result.coordinator.hosts.join(', ')} until ${result.coordinator.notAfter}. Next:`,
          `  pfedlora coordinator --tls-cert ${dir}/coordinator.pem --tls-key ${dir}/coordinator-key.pem --tls-ca ${dir}/ca.pem ...`,
          `  pfedlora certs issue --dir ${dir} --client-id ID     (one per client)`,
          `  PFEDLORA_ADMIN_TLS_DIR=${dir} pfedlora rounds status  (operators: ca.pem, admin.pem, admin-key.pem)`,
          '',
        ].join('\n'),
      );
      break;
    }
    case 'issue': {
      const result = await issueClientCertificate({ dir, clientId: requireClientId(flags), validity: validityFromFlags(flags), force: boolFlag(flags, 'force') });
      for (const warning of result.warnings) process.stderr.write(`pfedlora certs: warning: ${warning}\n`);
      if (json) {
        process.stdout.write(JSON.stringify(result) + '\n');
        break;
      }
      process.stdout.write(`pfedlora certs: client ${result.clientId}, valid ${result.certificate.notBefore} to ${result.certificate.notAfter}\n`);
      printFiles(result.files);
      process.stdout.write(
        [
          '',
          `Copy ${result.clientDir} to the client over a channel you trust (it holds the client's private key), then run there:`,
          `  pfedlora client --client-id ${result.clientId} --tls-cert client.pem --tls-key client-key.pem --tls-ca ca.pem --coordinator HOST:PORT ...`,
          '',
        ].join('\n'),
      );
      break;
    }
    case 'revoke': {
      const reason = stringFlag(flags, 'reason');
      const result = revokeClient(dir, requireClientId(flags), reason);
      if (json) {
        process.stdout.write(JSON.stringify(result) + '\n');
        break;
      }
      process.stdout.write(
        (result.added ? `client ${result.clientId} revoked: added to ${result.file}` : `client ${result.clientId} was already revoked in ${result.file}`) +
          (result.issuedHere ? '' : ` (note: ${dir} never issued a certificate for ${result.clientId})`) +
          '\nA coordinator reading that file drops the client within seconds; give the coordinator this file with --revoked if it runs elsewhere.\n',
      );
      break;
    }
  }
  return 0;
}
