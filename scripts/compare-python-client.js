#!/usr/bin/env node
/**
 * The PyTorch client against the TypeScript client on the same data and schedule
 * (docs/results.md, "The reference Python client"): two federations on 127.0.0.1,
 * identical but for who trains shard 2 with CNN-1. In both, client-0 and client-1
 * are TypeScript clients (zoo defaults cnn1, cnn2); client-2 is the TypeScript
 * client with --model cnn1 (run "ts") or the Python client with its PyTorch CNN-1
 * (run "py"), same client id, shard, partition and run settings. Prints client-2's
 * personalized accuracy per round in each run (from the coordinator's ledger) as
 * one JSON object.
 *
 * Needs the build, /usr/bin/python3 with python3-torch, -grpcio, -protobuf, -numpy.
 * Usage: node scripts/compare-python-client.js [--rounds 10] [--classes-per-client 5]
 *          [--max-samples 1000] [--seed 5] [--runs ts,py] [--out DIR]
 */
const { spawn } = require('node:child_process');
const { mkdtempSync, readFileSync } = require('node:fs');
const { createServer } = require('node:net');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { createInterface } = require('node:readline');

const REPO = join(__dirname, '..');
const CLI = join(REPO, 'packages', 'cli', 'bin', 'pfedlora.js');

function flag(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const rounds = flag('rounds', '10');
const classesPerClient = flag('classes-per-client', '5');
const maxSamples = flag('max-samples', '1000');
const seed = flag('seed', '5');
const runs = flag('runs', 'ts,py').split(',');
const out = flag('out', mkdtempSync(join(tmpdir(), 'pfedlora-compare-')));

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function launch(name, program, args, env = {}) {
  const child = spawn(program, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const lines = [];
  let waiters = [];
  createInterface({ input: child.stdout }).on('line', (text) => {
    try {
      const line = JSON.parse(text);
      lines.push(line);
      waiters = waiters.filter((w) => (w.match(line) ? (w.resolve(line), false) : true));
    } catch {
      /* not a log line */
    }
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exit = new Promise((resolve) => child.on('close', resolve));
  return {
    name,
    child,
    exit,
    stderr: () => stderr,
    waitFor: (message) => {
      const seen = lines.find((l) => l.message === message);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ match: (l) => l.message === message, resolve }));
    },
  };
}

async function federation(kind) {
  const port = await freePort();
  const stateDir = join(out, `${kind}-state`);
  const data = ['--classes-per-client', classesPerClient, '--max-samples', maxSamples];
  const coordinator = launch('coordinator', process.execPath, [
    CLI, 'coordinator', '--insecure', '--host', '127.0.0.1', '--port', String(port), '--admin-port', '0', '--rounds', rounds, '--min-clients', '3', '--seed', seed, '--state-dir', stateDir,
  ]);
  await coordinator.waitFor('coordinator listening');
  const tsClient = (k, extra = []) =>
    launch(`client-${k}`, process.execPath, [CLI, 'client', '--insecure', '--coordinator', `127.0.0.1:${port}`, '--client-id', `client-${k}`, '--shard', `${k}/3`, '--data-dir', 'subset', '--backend', 'wasm', ...data, ...extra]);
  const clients = [tsClient(0), tsClient(1)];
  clients.push(
    kind === 'ts'
      ? tsClient(2, ['--model', 'cnn1'])
      : launch('client-2', '/usr/bin/python3', ['-m', 'pfedlora_client', '--insecure', '--coordinator', `127.0.0.1:${port}`, '--client-id', 'client-2', '--shard', '2/3', ...data], {
          PYTHONPATH: join(REPO, 'clients', 'python'),
        }),
  );
  const started = Date.now();
  const codes = await Promise.all([coordinator.exit, ...clients.map((c) => c.exit)]);
  if (codes.some((c) => c !== 0)) throw new Error(`${kind}: exit codes ${codes} (${clients.map((c) => c.stderr()).join('\n')})`);
  const ledger = readFileSync(join(stateDir, 'ledger.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const of = (id) => ledger.map((r) => r.clients.find((c) => c.clientId === id));
  return {
    seconds: Math.round((Date.now() - started) / 1000),
    client2: of('client-2').map((c) => ({ accuracy: c.accuracy, trainSeconds: c.trainSeconds, trainFlops: c.trainFlops, model: c.modelKind, samples: c.numSamples })),
    others: ['client-0', 'client-1'].map((id) => ({ clientId: id, accuracy: of(id).map((c) => c.accuracy) })),
  };
}

async function main() {
  const result = { rounds: Number(rounds), classesPerClient: Number(classesPerClient), maxSamples: Number(maxSamples), seed: Number(seed), out, runs: {} };
  for (const kind of runs) result.runs[kind] = await federation(kind);
  process.stdout.write(JSON.stringify(result, null, 1) + '\n');
}

main().catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exit(1);
});
