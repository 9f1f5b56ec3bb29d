import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers';

async function file(text: string): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'pfedlora-config-')), 'config.yaml');
  await writeFile(path, text);
  return path;
}

describe('YAML configuration files', () => {
  test('config print shows file values overridden by flags, with secrets redacted', async () => {
    const path = await file('rounds: 7\nmin-clients: 3\nparticipation: 0.5\nstate-dir: /tmp/pfedlora-state\nidle: true\n');
    const { code, stdout } = await runCli(['config', 'print', 'coordinator', '--config', path, '--rounds', '9', '--insecure', '--json'], { env: { PFEDLORA_ADMIN_TOKEN: 'secret' } });
    expect(code).toBe(0);
    const config = JSON.parse(stdout);
    expect(config.rounds).toBe(9);
    expect(config.minClients).toBe(3);
    expect(config.participation).toBe(0.5);
    expect(config.stateDir).toBe('/tmp/pfedlora-state');
    expect(config.adminToken).toBe('(set)');
    expect(stdout).not.toContain('secret');
  });

  test('a client file sets every flag the same way', async () => {
    const path = await file('coordinator: coordinator.example:7070\nclient-id: edge-7\nmodel: CNN-4\nshard: 2/5\nmax-samples: 300\ninsecure: true\n');
    const { code, stdout } = await runCli(['config', 'print', 'client', '--config', path, '--json']);
    expect(code).toBe(0);
    const config = JSON.parse(stdout);
    expect([config.coordinator, config.clientId, config.model, config.shard.index, config.shard.count, config.maxTrainSamples]).toEqual(['coordinator.example:7070', 'edge-7', { kind: 'zoo', model: 'cnn4' }, 2, 5, 300]);
  });

  test.each([
    ['rounds: ten\n', /config\.yaml: rounds: expects an integer >= 1, got "ten"/],
    ['roundz: 3\n', /config\.yaml: unknown key "roundz" for coordinator; known keys: .*rounds/],
    ['idle: 3\n', /config\.yaml: idle: expected true or false/],
    ['participation: 2\n', /config\.yaml: participation: expects a fraction in \(0, 1\], got "2"/],
    ['rounds: [1\n', /config\.yaml: not valid YAML \(line 2\)/],
    ['- rounds\n', /config\.yaml: expected a mapping of coordinator options/],
  ])('a bad file (%j) is refused naming the key and the expected value', async (text, message) => {
    const path = await file(text);
    const { code, stderr } = await runCli(['coordinator', '--config', path]);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  test('a missing file is named', async () => {
    const { code, stderr } = await runCli(['client', '--config', '/nonexistent/pfedlora.yaml']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/cannot read config file \/nonexistent\/pfedlora.yaml: ENOENT/);
  });
});
