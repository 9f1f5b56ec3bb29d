/**
 * TLS refusals are told from network outages, with real processes on
 * 127.0.0.1: a mutual-TLS coordinator and a plaintext one (certificates from
 * `pfedlora certs init/issue`), and every way of not fitting them. A client
 * keeps retrying (an operator may fix a certificate) but logs each failure
 * as an error with what to check, and still gives up after --give-up-after;
 * an operator command exits 5 with what to check instead of 3 "is it running?";
 * a missing and a wrong admin token get their own messages.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientArgs, coordinatorArgs, freePort, runCli, useProcesses, type LogLine, type PfedloraProcess } from './processes';

jest.setTimeout(120_000);

const { start } = useProcesses();

async function cli(args: string[]): Promise<void> {
  const result = await runCli(args);
  if (result.code !== 0) throw new Error(`pfedlora ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
}

function clientTls(dir: string, id: string, ca = join(dir, 'ca.pem')): string[] {
  const folder = join(dir, 'clients', id);
  return ['--tls-cert', join(folder, 'client.pem'), '--tls-key', join(folder, 'client-key.pem'), '--tls-ca', ca];
}

const TLS_FAILURE = 'TLS failure with the coordinator; will retry';

describe('TLS refusals are not reported as outages', () => {
  test('clients and operators that do not fit the coordinator are told what to check', async () => {
    const work = await mkdtemp(join(tmpdir(), 'pfedlora-tls-refusals-'));
    const certs = join(work, 'certs');
    const foreign = join(work, 'other-ca');
    await Promise.all([cli(['certs', 'init', '--dir', certs]), cli(['certs', 'init', '--dir', foreign])]);
    await Promise.all([cli(['certs', 'issue', '--dir', certs, '--client-id', 'client-0']), cli(['certs', 'issue', '--dir', foreign, '--client-id', 'client-0'])]);

    const token = 'operator-secret';
    const [tlsPort, tlsAdmin, plainPort, plainAdmin] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const tls = ['--tls-cert', join(certs, 'coordinator.pem'), '--tls-key', join(certs, 'coordinator-key.pem'), '--tls-ca', join(certs, 'ca.pem')];
    const env = { PFEDLORA_ADMIN_TOKEN: token };
    const tlsCoordinator = start('TLS coordinator', coordinatorArgs(tlsPort, ['--rounds', '1'], tlsAdmin, tls), env);
    const plainCoordinator = start('plaintext coordinator', coordinatorArgs(plainPort, ['--rounds', '1'], plainAdmin), env);
    await Promise.all([tlsCoordinator.waitForMessage('coordinator listening', 30_000), plainCoordinator.waitForMessage('coordinator listening', 30_000)]);

    // --- clients: each refused in its own way; they retry, log errors with a hint, and give up after 3 s
    const giveUp = ['--give-up-after', '3'];
    const cases: Array<{ p: PfedloraProcess; problem: string; hint: RegExp }> = [
      {
        p: start('plaintext client, TLS coordinator', clientArgs(tlsPort, 0, 2, giveUp)),
        problem: 'tls-port',
        hint: /speaks TLS .*give --tls-cert\/--tls-key\/--tls-ca .*not --insecure/,
      },
      {
        p: start('TLS client, plaintext coordinator', clientArgs(plainPort, 0, 2, giveUp, clientTls(certs, 'client-0'))),
        problem: 'plaintext-port',
        hint: /speaks plaintext \(wrong version number.*started with --insecure/,
      },
      {
        p: start("client certificate of another CA", clientArgs(tlsPort, 0, 2, giveUp, clientTls(foreign, 'client-0', join(certs, 'ca.pem')))),
        problem: 'certificate-refused',
        hint: new RegExp(`refused this client's certificate: ${literal(join(foreign, 'clients', 'client-0', 'client.pem'))} is not signed by --tls-ca ${literal(join(certs, 'ca.pem'))}`),
      },
      {
        p: start('--tls-ca of another CA', clientArgs(tlsPort, 0, 2, giveUp, clientTls(certs, 'client-0', join(foreign, 'ca.pem')))),
        problem: 'untrusted-server',
        hint: new RegExp(`the coordinator's certificate is not signed by --tls-ca ${literal(join(foreign, 'ca.pem'))} \\(self-signed certificate in certificate chain\\): check that both come from the same 'pfedlora certs init'`),
      },
    ];

    // --- operators (while the clients retry)
    const status = (address: string, args: string[], operatorEnv: NodeJS.ProcessEnv = {}) =>
      runCli(['rounds', 'status', '--coordinator', address, ...args], { env: { PFEDLORA_ADMIN_TOKEN: '', PFEDLORA_ADMIN_TLS_DIR: '', ...operatorEnv } });
    const plain = `127.0.0.1:${plainAdmin}`;
    const secure = `127.0.0.1:${tlsAdmin}`;
    const caOnly = ['--tls-ca', join(certs, 'ca.pem')];
    const [plainToTls, tlsToPlain, wrongCa, federationPort, nobody, plainMissing, plainWrong, tlsMissing, tlsWrong, tlsToken, adminCert] = await Promise.all([
      status(secure, ['--insecure'], env),
      status(plain, [], { ...env, PFEDLORA_ADMIN_TLS_DIR: certs }),
      status(secure, ['--tls-ca', join(foreign, 'ca.pem')], env),
      status(`127.0.0.1:${tlsPort}`, caOnly, env),
      freePort().then((p) => status(`127.0.0.1:${p}`, ['--insecure'])),
      status(plain, ['--insecure']),
      status(plain, ['--insecure'], { PFEDLORA_ADMIN_TOKEN: 'not-the-token' }),
      status(secure, caOnly),
      status(secure, caOnly, { PFEDLORA_ADMIN_TOKEN: 'not-the-token' }),
      status(secure, caOnly, env),
      status(secure, [], { PFEDLORA_ADMIN_TLS_DIR: certs }),
    ]);
    const outcome = (r: { code: number | null; stderr: string }) => `${r.code} ${r.stderr.trim()}`;
    expect(outcome(plainToTls)).toMatch(
      new RegExp(`^5 pfedlora rounds: the Admin service at ${literal(secure)} speaks TLS and this command spoke plaintext \\(--insecure; .*Failed to connect\\): pass --tls-ca ca\\.pem .*not --insecure$`),
    );
    expect(outcome(tlsToPlain)).toMatch(/^5 pfedlora rounds: the Admin service at .* speaks plaintext \(the coordinator was started with --insecure\) and this command spoke TLS \(wrong version number\): pass --insecure/);
    expect(outcome(wrongCa)).toMatch(new RegExp(`^5 pfedlora rounds: the coordinator's certificate at ${literal(secure)} is not signed by --tls-ca ${literal(join(foreign, 'ca.pem'))} .*same 'pfedlora certs init'`));
    expect(outcome(federationPort)).toMatch(/^5 pfedlora rounds: .* requires a client certificate \(tlsv13 alert certificate required\): it looks like the coordinator's Federation port, not its Admin port/);
    // A coordinator that is not there is still exit 3.
    expect(outcome(nobody)).toMatch(/^3 pfedlora rounds: cannot reach the coordinator's Admin service .*ECONNREFUSED.*is it running\?/);
    // Missing and wrong tokens, plaintext and TLS: exit 5 each, four different messages.
    expect(outcome(plainMissing)).toMatch(/^5 .*needs the operator token and none was given/);
    expect(outcome(plainWrong)).toMatch(/^5 .*the operator token given does not match the coordinator's/);
    expect(outcome(tlsMissing)).toMatch(/^5 .*needs the operator certificate .* or the operator token, and neither was given/);
    expect(outcome(tlsWrong)).toMatch(/^5 .*the operator token given does not match the coordinator's .* and no operator certificate was presented/);
    expect(new Set([plainMissing, plainWrong, tlsMissing, tlsWrong].map((r) => r.stderr)).size).toBe(4);
    expect([tlsToken.code, adminCert.code]).toEqual([0, 0]);
    const refusals = tlsCoordinator.lines.filter((l) => l.message === 'admin call refused: bad credential').map((l) => l['token']);
    expect(refusals.sort()).toEqual(['missing', 'wrong']);

    // --- the clients: still retried, then gave up (exit 1), each failure an error with the hint
    expect(await Promise.all(cases.map((c) => c.p.exit))).toEqual([1, 1, 1, 1]);
    for (const { p, problem, hint } of cases) {
      const failures = p.lines.filter((l: LogLine) => l.message === TLS_FAILURE);
      expect({ name: p.name, problems: [...new Set(failures.map((l) => l['problem']))] }).toEqual({ name: p.name, problems: [problem] });
      expect(failures.length).toBeGreaterThanOrEqual(2);
      for (const l of failures) {
        expect(l['level']).toBe('error');
        expect(String(l['hint'])).toMatch(hint);
      }
      expect(failures.map((l) => l['consecutive'])).toEqual(failures.map((_, i) => i + 1));
      expect(p.lines.some((l) => l.message === 'coordinator unreachable; will retry')).toBe(false);
      expect(p.lines.some((l) => l.message === 'giving up: coordinator unreachable')).toBe(true);
    }
    expect(tlsCoordinator.lines.filter((l) => l.message === 'client joined')).toHaveLength(0);
  });
});

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
