/**
 * What the examples share: start a coordinator and clients as separate
 * processes on 127.0.0.1 (the commands a team would type on its machines,
 * printed first), wait for the run to end, then print each round from the
 * coordinator's ledger with every client's personalized test accuracy.
 */
'use strict';
const { spawn } = require('node:child_process');
const { createWriteStream, existsSync, readFileSync } = require('node:fs');
const { createServer } = require('node:net');
const path = require('node:path');

const REPO = path.join(__dirname, '..');
const CLI = path.join(REPO, 'packages', 'cli', 'bin', 'pfedlora.js');

function requireBuild() {
  if (!existsSync(path.join(REPO, 'packages', 'cli', 'dist', 'main.js'))) {
    process.stderr.write("the build is missing: run 'npm ci && npm run build' first\n");
    process.exit(2);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Runs a plain Node script of the repo to completion (making data or models). */
function runScript(script, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO, script), ...args], { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${script} exited with ${code}`))));
  });
}

/**
 * Starts `processes` ({ name, args, script? }: pfedlora CLI arguments, or a Node
 * script and its arguments), logs each to logDir/name.log, and resolves with
 * the exit codes once the first one (the coordinator) has exited and the others
 * followed (they exit when told the run is over).
 */
async function runProcesses(processes, logDir) {
  const show = (p) => (p.script ? `node ${p.script} ${p.args.join(' ')}` : `pfedlora ${p.args.join(' ')}`);
  process.stdout.write(`${processes.map((p) => `  ${show(p).replace(REPO + path.sep, '')}`).join('\n')}\n\n`);
  const spawned = processes.map((p) => {
    const argv = p.script ? [path.join(REPO, p.script), ...p.args] : [CLI, ...p.args];
    const child = spawn(process.execPath, argv, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(path.join(logDir, `${p.name}.log`));
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    return { child, exited: new Promise((resolve) => child.on('exit', (code) => resolve({ name: p.name, code }))) };
  });
  const stopAll = () => spawned.forEach(({ child }) => child.exitCode === null && child.kill('SIGTERM'));
  // One process failing (a client refused, say) would leave the coordinator waiting for it: stop them all, say why.
  for (const { exited } of spawned) {
    void exited.then(({ name, code }) => {
      if (code === 0) return;
      process.stderr.write(`${name} exited with ${code}:\n${readFileSync(path.join(logDir, `${name}.log`), 'utf8').trim().split('\n').slice(-2).join('\n')}\n`);
      stopAll();
    });
  }
  const interrupted = () => {
    stopAll();
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  const codes = await Promise.all(spawned.map((s) => s.exited));
  process.off('SIGINT', interrupted);
  return codes;
}

/** Each round of the ledger: mean accuracy and every client's. */
function printLedger(stateDir) {
  const rounds = readFileSync(path.join(stateDir, 'ledger.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const ids = [...new Set(rounds.flatMap((r) => r.clients.map((c) => c.clientId)))].sort();
  const models = new Map(rounds.flatMap((r) => r.clients.map((c) => [c.clientId, c.modelKind])));
  const pct = (a) => (a === undefined ? '-' : `${(100 * a).toFixed(2)}%`);
  const header = ['round', 'mean', ...ids.map((id) => `${id} (${models.get(id)})`), 'bytes up'];
  const rows = rounds.map((r) => [String(r.round), pct(r.meanAccuracy), ...ids.map((id) => pct(r.clients.find((c) => c.clientId === id)?.accuracy)), `${(r.bytesUp / 1024).toFixed(1)} KiB`]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
  process.stdout.write([line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n');
}

/** Exits 1 naming the processes that failed; else prints the ledger and where the logs are. */
function finishRun(codes, logDir, stateDir) {
  const failed = codes.filter((c) => c.code !== 0);
  if (failed.length) {
    process.stderr.write(`\n${failed.map((c) => `${c.name} exited with ${c.code}`).join(', ')}; logs in ${logDir}\n`);
    process.exit(1);
  }
  process.stdout.write('\npersonalized test accuracy per client (each on its own test split):\n');
  printLedger(stateDir);
  process.stdout.write(`\nlogs: ${logDir}\n`);
}

module.exports = { CLI, REPO, finishRun, freePort, requireBuild, runProcesses, runScript };
