/**
 * Transport security with real processes on 127.0.0.1: a coordinator with
 * mutual TLS from `pfedlora certs init`, and every way in that must be shut:
 * no certificate, a certificate of another CA, an expired one, a revoked
 * client id (before start and while connected), a Join under another id, a
 * call on another identity's session, the operator certificate on the
 * Federation port and a client certificate on the Admin port. A properly
 * certified client then completes a 1-round run and the operator, with the
 * admin certificate, reads its status.
 */
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  joinRequestToProto,
  joinResponseFromProto,
  loadFederationProto,
  PROTOCOL_VERSION,
  type FederationClient,
  type JoinAccepted,
  type JoinResponse__Output,
} from '@pfedlora/protocol';
import { CNN2_DESCRIPTOR } from '../packages/coordinator/test/raw-client';
import { clientArgs, coordinatorArgs, freePort, runCli, useProcesses, type PfedloraProcess } from './processes';

jest.setTimeout(120_000);

const { start } = useProcesses();
const channels: grpc.Client[] = [];
afterAll(() => {
  for (const c of channels.splice(0)) c.close();
});

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = await runCli(args, { env });
  if (result.code !== 0) throw new Error(`pfedlora ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result;
}

/** The three files of a client folder written by `certs issue`. */
function clientTls(dir: string, id: string, ca = join(dir, 'ca.pem')): string[] {
  const folder = join(dir, 'clients', id);
  return ['--tls-cert', join(folder, 'client.pem'), '--tls-key', join(folder, 'client-key.pem'), '--tls-ca', ca];
}

async function rawClient(port: number, ca: Buffer, cert?: { cert: Buffer; key: Buffer }): Promise<FederationClient> {
  const credentials = cert ? grpc.credentials.createSsl(ca, cert.key, cert.cert) : grpc.credentials.createSsl(ca);
  // SNI "localhost" (a DNS SAN of the coordinator certificate): an IP as TLS ServerName makes Node print DEP0123.
  const client = new (loadFederationProto().pfedlora.v1.Federation)(`127.0.0.1:${port}`, credentials, { 'grpc.ssl_target_name_override': 'localhost' }) as unknown as FederationClient;
  channels.push(client as unknown as grpc.Client);
  return client;
}

function join_(client: FederationClient, clientId: string): Promise<JoinAccepted> {
  const request = joinRequestToProto({
    clientId,
    model: CNN2_DESCRIPTOR,
    classNames: ['t-shirt'],
    numSamples: 100,
    backend: 'test',
    protocolVersion: PROTOCOL_VERSION,
    credential: '',
  });
  return new Promise((resolve, reject) =>
    client.Join(request, { deadline: Date.now() + 5_000 }, (error: grpc.ServiceError | null, response?: JoinResponse__Output) => (error ? reject(error) : resolve(joinResponseFromProto(response!)))),
  );
}

function heartbeat(client: FederationClient, sessionId: string): Promise<void> {
  return new Promise((resolve, reject) =>
    client.Heartbeat({ session_id: sessionId, state: 'idle', round: 0 }, { deadline: Date.now() + 5_000 }, (error: grpc.ServiceError | null) => (error ? reject(error) : resolve())),
  );
}

async function pair(dir: string, id: string): Promise<{ cert: Buffer; key: Buffer }> {
  return { cert: await readFile(join(dir, 'clients', id, 'client.pem')), key: await readFile(join(dir, 'clients', id, 'client-key.pem')) };
}

describe('mutual TLS between real processes', () => {
  test('every uncertified, foreign, expired, revoked or misnamed caller is refused; a certified client runs a round', async () => {
    const work = await mkdtemp(join(tmpdir(), 'pfedlora-security-'));
    const certs = join(work, 'certs');
    const foreign = join(work, 'other-ca');

    // --- certificates, all through the CLI
    const init = JSON.parse((await cli(['certs', 'init', '--dir', certs, '--json'])).stdout);
    expect(init.coordinator.hosts).toEqual(['localhost', '127.0.0.1']);
    for (const key of ['ca-key.pem', 'coordinator-key.pem', 'admin-key.pem']) expect((await stat(join(certs, key))).mode & 0o777).toBe(0o600);
    const again = await runCli(['certs', 'init', '--dir', certs]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds a CA/);
    await Promise.all([
      cli(['certs', 'init', '--dir', foreign]).then(() => cli(['certs', 'issue', '--dir', foreign, '--client-id', 'client-0'])),
      ...['client-0', 'client-1', 'client-2', 'gone'].map((id) => cli(['certs', 'issue', '--dir', certs, '--client-id', id])),
      cli(['certs', 'issue', '--dir', certs, '--client-id', 'expired', '--not-before', '2020-01-01', '--not-after', '2020-02-01']),
    ]);
    expect((await stat(join(certs, 'clients', 'client-0', 'client-key.pem'))).mode & 0o777).toBe(0o600);
    expect((await cli(['certs', 'revoke', '--dir', certs, '--client-id', 'gone', '--reason', 'laptop lost'])).stdout).toMatch(/client gone revoked/);
    const reissue = await runCli(['certs', 'issue', '--dir', certs, '--client-id', 'gone', '--force']);
    expect(reissue.code).toBe(2);
    expect(reissue.stderr).toMatch(/client gone is revoked/);

    // --- a coordinator with mutual TLS; without TLS files or --insecure it does not start
    const refused = await runCli(coordinatorArgs(await freePort(), [], 0, []));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/pfedlora certs init.*or pass --insecure/);
    const port = await freePort();
    const adminPort = await freePort();
    const tls = ['--tls-cert', join(certs, 'coordinator.pem'), '--tls-key', join(certs, 'coordinator-key.pem'), '--tls-ca', join(certs, 'ca.pem')];
    const coordinator = start('coordinator', coordinatorArgs(port, ['--rounds', '1', '--min-clients', '1', '--wait-clients', '1'], adminPort, tls));
    const listening = await coordinator.waitForMessage('coordinator listening', 30_000);
    expect(listening['transport']).toBe('mutual TLS');
    expect(coordinator.lines.some((l) => l.message.startsWith('insecure'))).toBe(false);

    // --- the operator: the admin certificate works; a client certificate is refused on the Admin port
    const admin = ['--coordinator', `127.0.0.1:${adminPort}`];
    const status = await runCli(['rounds', 'status', '--json', ...admin], { env: { PFEDLORA_ADMIN_TLS_DIR: certs } });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).phase).toBe('waiting');
    const asClient = await runCli(['clients', 'list', ...admin, ...clientTls(certs, 'client-1')], { env: { PFEDLORA_ADMIN_TOKEN: 'ignored-for-client-certs' } });
    expect(asClient.code).toBe(5);
    expect(asClient.stderr).toMatch(/client client-1's certificate cannot call the Admin service/);
    const noOperatorCert = await runCli(['rounds', 'status', ...admin, '--tls-ca', join(certs, 'ca.pem')]);
    expect(noOperatorCert.code).toBe(5);
    expect(noOperatorCert.stderr).toMatch(/needs the operator certificate/);

    // --- client processes that must be refused (run side by side)
    const giveUp = ['--give-up-after', '3'];
    const noCert = start('no certificate', clientArgs(port, 0, 2, giveUp, ['--insecure']));
    const otherCa = start('other CA', clientArgs(port, 0, 2, giveUp, clientTls(foreign, 'client-0', join(certs, 'ca.pem'))));
    const expired = start('expired', clientArgs(port, 0, 2, [...giveUp, '--client-id', 'expired'], clientTls(certs, 'expired')));
    const revoked = start('revoked', clientArgs(port, 0, 2, ['--client-id', 'gone'], clientTls(certs, 'gone')));
    const misnamed = start('misnamed', clientArgs(port, 0, 2, [], clientTls(certs, 'client-2')));

    // --- raw gRPC: no certificate, the operator certificate as a client, another identity's session
    const ca = await readFile(join(certs, 'ca.pem'));
    await expect(join_(await rawClient(port, ca), 'client-0')).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    const operator = await rawClient(port, ca, { cert: await readFile(join(certs, 'admin.pem')), key: await readFile(join(certs, 'admin-key.pem')) });
    await expect(join_(operator, 'client-0')).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: expect.stringMatching(/operator \(admin\) certificate cannot act as a client/) });
    const one = await rawClient(port, ca, await pair(certs, 'client-1'));
    const session = await join_(one, 'client-1');
    const two = await rawClient(port, ca, await pair(certs, 'client-2'));
    await expect(heartbeat(two, session.sessionId)).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: expect.stringMatching(/belongs to client client-1; this TLS certificate is for client client-2/),
    });
    await heartbeat(one, session.sessionId);

    const [noCertCode, otherCaCode, expiredCode, revokedCode, misnamedCode] = await Promise.all([noCert, otherCa, expired, revoked, misnamed].map((p) => p.exit));
    // Unreachable through TLS: gave up (1); certified but refused by the coordinator: exit 4.
    expect([noCertCode, otherCaCode, expiredCode, revokedCode, misnamedCode]).toEqual([1, 1, 1, 4, 4]);
    for (const p of [noCert, otherCa, expired]) expect(p.lines.some((l) => l.message === 'giving up: coordinator unreachable')).toBe(true);
    // Refused by TLS, not unreachable: every failure is an error that says which side and what to check (test/tls-refusals.test.ts has each case).
    const tlsFailures = (p: PfedloraProcess) => p.lines.filter((l) => l.message === 'TLS failure with the coordinator; will retry');
    for (const p of [noCert, otherCa, expired]) {
      expect(tlsFailures(p).length).toBeGreaterThan(0);
      expect(p.lines.some((l) => l.message === 'coordinator unreachable; will retry')).toBe(false);
    }
    expect(tlsFailures(noCert).every((l) => l['problem'] === 'tls-port' && /speaks TLS/.test(String(l['hint'])))).toBe(true);
    expect(tlsFailures(otherCa).every((l) => l['problem'] === 'certificate-refused' && /other-ca\/clients\/client-0\/client\.pem is not signed by --tls-ca/.test(String(l['hint'])))).toBe(true);
    expect(tlsFailures(expired).every((l) => l['problem'] === 'certificate-refused' && /client\.pem expired on 2020-02-01/.test(String(l['hint'])))).toBe(true);
    expect(expired.lines.some((l) => l.message === 'the client certificate is not valid now; the coordinator will refuse it (ask for a new one)')).toBe(true);
    expect(revoked.output).toMatch(/PERMISSION_DENIED: the certificate of client gone has been revoked/);
    expect(misnamed.output).toMatch(/PERMISSION_DENIED: join as client client-0 refused: the TLS certificate is for client client-2/);
    const rejected = coordinator.lines.filter((l) => l.message === 'rpc rejected').map((l) => `${l['code']}: ${l['details']}`);
    expect(rejected).toEqual(expect.arrayContaining([expect.stringMatching(/^PERMISSION_DENIED: the certificate of client gone has been revoked/), expect.stringMatching(/^PERMISSION_DENIED: join as client client-0 refused/)]));
    // Only the raw client-1 got in so far: nothing refused above reached the coordinator's join.
    expect(coordinator.lines.filter((l) => l.message === 'client joined').map((l) => l['clientId'])).toEqual(['client-1']);

    // --- revoking a connected client: the coordinator re-reads the list and drops it
    await cli(['certs', 'revoke', '--dir', certs, '--client-id', 'client-1']);
    const changed = await coordinator.waitForMessage('revocation list changed', 15_000);
    expect(changed['revoked']).toEqual(['client-1']);
    await expect(heartbeat(one, session.sessionId)).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: expect.stringMatching(/client-1 has been revoked/) });

    // --- a properly certified client (its id taken from the certificate) completes the run
    const good = start('client-0', clientArgs(port, 0, 2, [], clientTls(certs, 'client-0')).filter((a, i, all) => a !== '--client-id' && all[i - 1] !== '--client-id'));
    const finished = await coordinator.waitForMessage('run finished', 60_000);
    expect(finished['roundsCompleted']).toBe(1);
    expect(await good.exit).toBe(0);
    expect(good.lines.filter((l) => l.message === 'update uploaded')).toHaveLength(1);
    expect(good.lines.find((l) => l.message === 'mutual TLS')?.['identity']).toBe('client-0');
    expect(await coordinator.exit).toBe(0);
    expect(await readFile(join(certs, 'revoked.txt'), 'utf8')).toMatch(/^gone # revoked .*: laptop lost$/m);
  });
});
