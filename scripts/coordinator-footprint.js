#!/usr/bin/env node
/**
 * The coordinator process's footprint: start-up time (spawn to its
 * 'coordinator listening' log line) and resident memory at idle with N
 * connected clients (bench synthetic clients: Join + Subscribe + heartbeats,
 * no round started), over several runs. Also, in this process, the modules
 * that loading the coordinator command pulls in. docs/benchmarks.md,
 * "Coordinator start-up and idle memory".
 *
 *   node scripts/coordinator-footprint.js [--repo DIR] [--runs 5] [--clients 10] [--settle-ms 2000]
 *
 * --repo: the checkout whose built CLI is measured (default: this one), so a
 * second checkout (git worktree) of another commit can be measured beside it
 * on the same machine. The synthetic clients always come from this checkout's
 * build. Needs the build (npm run build).
 */
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const { readFileSync } = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');

const HERE = path.join(__dirname, '..');

function parseArgs(argv) {
  const o = { repo: HERE, runs: 5, clients: 10, settleMs: 2000 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--repo') o.repo = path.resolve(value);
    else if (flag === '--runs') o.runs = Number(value);
    else if (flag === '--clients') o.clients = Number(value);
    else if (flag === '--settle-ms') o.settleMs = Number(value);
    else throw new Error(`unknown argument ${flag}`);
    i++;
  }
  return o;
}

/** VmRSS and VmHWM of a live process, in bytes. */
function procMemory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)[1]) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** The synthetic clients' classes (bench's contract: "0".."9"); the coordinator refuses others at Join. */
const CLASSES = Array.from({ length: 10 }, (_, i) => String(i)).join(',');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function oneRun(o, LocalFleet) {
  const cli = path.join(o.repo, 'packages', 'cli', 'bin', 'pfedlora.js');
  const args = [cli, 'coordinator', '--insecure', '--port', '0', '--admin-port', 'off', '--rounds', '1', '--min-clients', '1', '--wait-clients', String(o.clients + 1), '--classes', CLASSES];
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, args, { cwd: o.repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  try {
    const port = await new Promise((resolve, reject) => {
      const lines = readline.createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        let entry;
        try {
          entry = JSON.parse(line);
        } catch {
          return;
        }
        if (entry.message === 'coordinator listening') resolve(entry.port);
      });
      child.on('exit', (code) => reject(new Error(`coordinator exited (${code}) before listening: ${stderr}`)));
    });
    const startupMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const atListen = procMemory(child.pid);
    const fleet = await LocalFleet.start({
      coordinator: `127.0.0.1:${port}`,
      clientIds: Array.from({ length: o.clients }, (_, i) => `idle-${i}`),
      data: { height: 28, width: 28, channels: 1, numClasses: 10 },
      verify: false,
      chunkSize: 1 << 20,
      phaseTimeoutSec: 60,
    });
    try {
      await sleep(o.settleMs);
      const idle = procMemory(child.pid);
      return { startupMs, rssAtListen: atListen.rss, idleRss: idle.rss, peakRss: idle.hwm };
    } finally {
      await fleet.close();
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode === null ? child.on('exit', r) : r()));
  }
}

/** Modules and time to load the coordinator command (and the coordinator package) in a fresh node. */
function moduleGraph(repo) {
  const script = `
    const t = process.hrtime.bigint();
    require(${JSON.stringify(path.join(repo, 'packages/cli/dist/commands/coordinator.js'))});
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    const keys = Object.keys(require.cache);
    process.stdout.write(JSON.stringify({ ms, modules: keys.length, tensorflow: keys.filter((k) => k.includes('@tensorflow')).map((k) => k.replace(/.*node_modules./, '')), rss: process.memoryUsage().rss }));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: repo, encoding: 'utf8' }));
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const MiB = 2 ** 20;

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const { LocalFleet } = require(path.join(HERE, 'packages/bench/dist/synthetic-client.js'));
  const runs = [];
  for (let i = 0; i < o.runs; i++) {
    const r = await oneRun(o, LocalFleet);
    runs.push(r);
    process.stderr.write(`run ${i + 1}: start-up ${r.startupMs.toFixed(0)} ms, RSS at listen ${(r.rssAtListen / MiB).toFixed(1)} MiB, idle with ${o.clients} clients ${(r.idleRss / MiB).toFixed(1)} MiB (peak ${(r.peakRss / MiB).toFixed(1)})\n`);
  }
  const graph = moduleGraph(o.repo);
  const summary = {
    repo: o.repo,
    commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: o.repo, encoding: 'utf8' }).trim(),
    node: process.version,
    runs: o.runs,
    clients: o.clients,
    startupMs: { median: Math.round(median(runs.map((r) => r.startupMs))), min: Math.round(Math.min(...runs.map((r) => r.startupMs))), max: Math.round(Math.max(...runs.map((r) => r.startupMs))) },
    rssAtListenMiB: +(median(runs.map((r) => r.rssAtListen)) / MiB).toFixed(1),
    idleRssMiB: { median: +(median(runs.map((r) => r.idleRss)) / MiB).toFixed(1), min: +(Math.min(...runs.map((r) => r.idleRss)) / MiB).toFixed(1), max: +(Math.max(...runs.map((r) => r.idleRss)) / MiB).toFixed(1) },
    peakRssMiB: +(median(runs.map((r) => r.peakRss)) / MiB).toFixed(1),
    commandModule: { loadMs: Math.round(graph.ms), modules: graph.modules, tensorflowModules: graph.tensorflow, rssMiB: +(graph.rss / MiB).toFixed(1) },
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
