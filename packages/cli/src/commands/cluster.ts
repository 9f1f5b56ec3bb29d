/**
 * `pfedlora cluster`: a coordinator and N client daemons as separate OS
 * processes on 127.0.0.1, each client on its own shard of the dataset. It is
 * what `npm start` runs: the real gRPC federation on one machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { latestClientAccuracies, type RoundRecord } from '@pfedlora/coordinator';
import { dataSourceLabel, defaultModelKind, loadDataSource, meanLatestAccuracy, parseModelChoice } from '@pfedlora/ml';
import { boolFlag, floatFlag, helpText, intFlag, parseFlags, stringFlag, type FlagSpecs } from '../args';
import { formatBytes, formatPercent, table } from '../format';
import { createProgressBar } from '../progress';
import { onceSignalled } from './coordinator';
import { BACKEND_FLAG, backendFlag, DATA_FLAGS, dataFlags, HELP_FLAG, MODELS_FLAGS, modelsFlag, representationLayerFlag, TRAINING_FLAGS, trainingArgs, trainingFlags, type DataFlags } from './shared';

const CLI_BIN = join(__dirname, '..', '..', 'bin', 'pfedlora.js');

export const CLUSTER_DEFAULTS = { clients: 10, rounds: 10, maxSamples: 1000, roundTimeoutSeconds: 600 };

export const CLUSTER_FLAGS: FlagSpecs = {
  clients: { type: 'string', value: 'N', help: 'client processes to start', default: String(CLUSTER_DEFAULTS.clients) },
  rounds: { type: 'string', value: 'R', help: 'rounds to run', default: String(CLUSTER_DEFAULTS.rounds) },
  participation: { type: 'string', value: 'F', help: 'fraction of clients sampled each round, (0, 1]', default: '1' },
  'min-clients': { type: 'string', value: 'N', help: 'reports a round needs to close at its deadline', default: 'min(2, clients)' },
  'round-timeout': { type: 'string', value: 'SEC', help: 'round deadline in seconds', default: String(CLUSTER_DEFAULTS.roundTimeoutSeconds) },
  ...DATA_FLAGS,
  'max-samples': { type: 'string', value: 'N', help: "cap each client's train split (0: the whole shard)", default: String(CLUSTER_DEFAULTS.maxSamples) },
  ...MODELS_FLAGS,
  ...TRAINING_FLAGS,
  ...BACKEND_FLAG,
  port: { type: 'string', value: 'PORT', help: 'coordinator port (0: any free port)', default: '0' },
  'log-dir': { type: 'string', value: 'DIR', help: 'where process logs and the coordinator state go (default: a new temp dir)' },
  json: { type: 'boolean', help: 'print one JSON object at the end instead of tables' },
  ...HELP_FLAG,
};

export const CLUSTER_HELP = helpText(
  'pfedlora cluster [options]',
  'Starts a coordinator and N client daemons as separate processes on 127.0.0.1 (client k on shard k of the\ndata with CNN-((k mod 5)+1), or the k-th of --models: zoo names or model.json files), shows each round as it closes, and exits 0 when the run is done.\nEvery process logs JSON lines to --log-dir. The processes talk plaintext gRPC (they get --insecure): everything\nstays on 127.0.0.1 of this machine. For a federation across machines use mutual TLS (docs/security.md).',
  CLUSTER_FLAGS,
);

export interface ClusterResult {
  readonly runId: string;
  readonly clients: number;
  readonly rounds: RoundRecord[];
  /** meanAccuracy: the last round's reporting clients; allClientsAccuracy: every client's latest report. */
  readonly final: { readonly meanAccuracy: number; readonly round: number; readonly allClientsAccuracy: number };
  readonly totals: { readonly bytesUp: number; readonly bytesDown: number; readonly trainFlops: number; readonly seconds: number };
  readonly logDir: string;
}

interface LogLine {
  readonly message?: string;
  readonly [key: string]: unknown;
}

/** Spawns a pfedlora process with its output in logFile; calls onLine with each JSON stdout line. */
function spawnPfedlora(args: string[], logFile: string, onLine?: (line: LogLine) => void): ChildProcess {
  const child = spawn(process.execPath, [CLI_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile);
  child.stderr!.pipe(log, { end: false });
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    log.write(line + '\n');
    if (!onLine) return;
    try {
      onLine(JSON.parse(line) as LogLine);
    } catch {
      // Not a log line (e.g. a stray print): kept in the file only.
    }
  });
  child.on('close', () => log.end());
  return child;
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

const ROUND_HEADER = ['round', 'accuracy', 'reported', 'bytes up', 'bytes down', 'seconds'];
const roundRow = (r: RoundRecord) => [String(r.round), formatPercent(r.meanAccuracy), `${r.reported}/${r.participants}`, formatBytes(r.bytesUp), formatBytes(r.bytesDown), r.seconds.toFixed(1)];

export async function cluster(argv: readonly string[]): Promise<number> {
  const { flags } = parseFlags(argv, CLUSTER_FLAGS, 'cluster');
  if (boolFlag(flags, 'help')) {
    process.stdout.write(CLUSTER_HELP);
    return 0;
  }
  const clients = intFlag(flags, 'clients', CLUSTER_DEFAULTS.clients, 1, 1000);
  const rounds = intFlag(flags, 'rounds', CLUSTER_DEFAULTS.rounds, 1);
  const participation = floatFlag(flags, 'participation', 1, (n) => n > 0 && n <= 1, 'a fraction in (0, 1]');
  const minClients = intFlag(flags, 'min-clients', Math.min(2, clients), 1, clients);
  const roundTimeout = floatFlag(flags, 'round-timeout', CLUSTER_DEFAULTS.roundTimeoutSeconds, (n) => n > 0, 'a number of seconds > 0');
  const data = dataFlags(flags, CLUSTER_DEFAULTS.maxSamples);
  const training = trainingFlags(flags);
  const backend = backendFlag(flags);
  const port = intFlag(flags, 'port', 0, 0, 65535);
  const json = boolFlag(flags, 'json');
  const logDir = stringFlag(flags, 'log-dir') ?? (await mkdtemp(join(tmpdir(), 'pfedlora-cluster-')));
  mkdirSync(logDir, { recursive: true });
  const stateDir = join(logDir, 'coordinator-state');
  const started = Date.now();

  const models = stringFlag(flags, 'models') === undefined ? [] : modelsFlag(stringFlag(flags, 'models')!);
  const { representationLayer } = representationLayerFlag(flags);
  const contractArgs = await contractArgsFor(data);
  const runArgs = trainingArgs(training);
  const dataArgs = [
    ...sourceArgs(data), '--partition', data.partition,
    '--classes-per-client', String(data.classesPerClient), '--alpha', String(data.dirichletAlpha), '--max-samples', String(data.maxTrainSamples),
  ];
  const bar = createProgressBar();
  const records: RoundRecord[] = [];
  let runId = '';
  let reportedThisRound = 0;
  let printedHeader = false;
  let listening: (port: number) => void = () => {};
  const boundPort = new Promise<number>((resolve) => (listening = resolve));
  if (!json) process.stdout.write(`pfedlora cluster: ${clients} clients, ${rounds} rounds, ${training.algorithm} on ${data.source ? dataSourceLabel(data.source) : data.dataset} (${data.partition}); logs in ${logDir}\n`);

  const coordinatorProcess = spawnPfedlora(
    ['coordinator', '--host', '127.0.0.1', '--port', String(port), '--admin-port', '0', '--rounds', String(rounds), '--min-clients', String(minClients), '--wait-clients', String(clients),
      '--participation', String(participation), '--round-timeout', String(roundTimeout), ...contractArgs, '--state-dir', stateDir, ...runArgs,
      // Plaintext on purpose: every process of a cluster is on 127.0.0.1 of this machine.
      '--insecure'],
    join(logDir, 'coordinator.log'),
    (line) => {
      if (line.message === 'coordinator listening') {
        runId = String(line['runId']);
        listening(Number(line['port']));
      } else if (line.message === 'update accepted') {
        reportedThisRound++;
        bar.update((records.length + reportedThisRound / Math.max(1, Math.round(clients * participation))) / rounds, `round ${records.length + 1}/${rounds}: ${reportedThisRound} updates`);
      } else if (line.message === 'round closed') {
        reportedThisRound = 0;
        const record = readLedger(stateDir).find((r) => r.round === Number(line['round']));
        if (!record) return;
        records.push(record);
        if (json) return;
        const rows = table(ROUND_HEADER, [roundRow(record)]).split('\n');
        bar.log('');
        process.stdout.write((printedHeader ? rows[2]! : rows.join('\n')) + '\n');
        printedHeader = true;
      }
    },
  );
  const coordinatorExit = exited(coordinatorProcess);
  const children: ChildProcess[] = [coordinatorProcess];
  const stopAll = (signal: NodeJS.Signals) => children.forEach((c) => c.exitCode === null && c.kill(signal));
  const interrupted = onceSignalled().then((signal) => {
    stopAll('SIGTERM');
    return signal;
  });

  try {
    const portBound = await Promise.race([boundPort, coordinatorExit.then(() => -1)]);
    if (portBound < 0) throw new Error(`the coordinator exited before listening; see ${join(logDir, 'coordinator.log')}`);
    const clientExits: Array<Promise<number | null>> = [];
    for (let k = 0; k < clients; k++) {
      const child = spawnPfedlora(
        ['client', '--coordinator', `127.0.0.1:${portBound}`, '--client-id', `client-${k}`, '--shard', `${k}/${clients}`, '--partition-seed', String(training.seed),
          ...modelArgs(models, k, data, representationLayer), '--backend', backend, ...dataArgs, '--insecure'],
        join(logDir, `client-${k}.log`),
      );
      children.push(child);
      clientExits.push(exited(child));
    }
    const outcome = await Promise.race([coordinatorExit.then((code) => ({ kind: 'coordinator' as const, code })), interrupted.then((signal) => ({ kind: 'signal' as const, signal }))]);
    if (outcome.kind === 'signal') {
      bar.done();
      process.stderr.write(`pfedlora cluster: interrupted (${outcome.signal}); logs in ${logDir}\n`);
      return 130;
    }
    // Clients exit on their own once the coordinator tells them the run is over.
    const clientsDone = Promise.all(clientExits);
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 15_000).unref());
    if ((await Promise.race([clientsDone, timeout])) === 'timeout') stopAll('SIGTERM');
    const clientCodes = await clientsDone;
    bar.done();
    if (outcome.code !== 0 || records.length < rounds) {
      throw new Error(`the coordinator exited with code ${outcome.code} after ${records.length} of ${rounds} rounds; see ${join(logDir, 'coordinator.log')}`);
    }
    const last = records[records.length - 1]!;
    const result: ClusterResult = {
      runId,
      clients,
      rounds: records,
      final: { meanAccuracy: last.meanAccuracy, round: last.round, allClientsAccuracy: meanLatestAccuracy([...latestClientAccuracies(records).values()]) },
      totals: {
        bytesUp: records.reduce((n, r) => n + r.bytesUp, 0),
        bytesDown: records.reduce((n, r) => n + r.bytesDown, 0),
        trainFlops: records.reduce((n, r) => n + r.trainFlops, 0),
        seconds: (Date.now() - started) / 1000,
      },
      logDir,
    };
    if (json) process.stdout.write(JSON.stringify(result) + '\n');
    else {
      const failed = clientCodes.filter((c) => c !== 0).length;
      process.stdout.write(
        `\nrun ${runId}: final mean accuracy ${formatPercent(last.meanAccuracy)} after round ${last.round}` +
          (last.reported < clients ? ` (its ${last.reported} reporting clients; all clients' latest: ${formatPercent(result.final.allClientsAccuracy)})` : '') +
          '; ' +
          `sent up ${formatBytes(result.totals.bytesUp)}, down ${formatBytes(result.totals.bytesDown)}; ${result.totals.seconds.toFixed(1)} s` +
          (failed ? `; ${failed} client(s) exited with errors` : '') +
          `\nlogs and per-round global adapters: ${logDir}\n`,
      );
    }
    return 0;
  } finally {
    stopAll('SIGTERM');
  }
}

/** The client flags naming the data (a benchmark by name, or a team's own files). */
function sourceArgs(data: DataFlags): string[] {
  const s = data.source;
  if (!s) return ['--dataset', data.dataset, ...(data.dataDir === undefined ? [] : ['--data-dir', data.dataDir])];
  if (s.format === 'image-folder') return ['--data-format', 'image-folder', '--data-dir', s.dir, ...(s.inputShape ? ['--input-shape', s.inputShape.join('x')] : [])];
  if (s.format === 'csv') {
    return ['--data-format', 'csv', '--data-dir', s.path, '--label-column', s.labelColumn, ...(s.ignoreColumns?.length ? ['--ignore-columns', s.ignoreColumns.join(',')] : []), '--test-fraction', String(s.testFraction ?? 0.2)];
  }
  throw new Error(`cluster cannot pass a ${s.format} data source to client processes`);
}

/**
 * The coordinator's contract flags: a benchmark's by name; for a team's own
 * data, its classes and input shape, read here once (the clients read it again).
 */
async function contractArgsFor(data: DataFlags): Promise<string[]> {
  if (!data.source) return ['--dataset', data.dataset];
  const splits = await loadDataSource(data.source);
  return ['--classes', splits.train.classNames.join(','), '--input-shape', splits.train.sampleShape.join('x')];
}

/** Client k's model flags: the k-th of --models (cycled), else the zoo default for the data. */
function modelArgs(models: readonly string[], k: number, data: DataFlags, representationLayer: string | undefined): string[] {
  const choice = models.length ? parseModelChoice(models[k % models.length]!) : { kind: 'zoo' as const, model: defaultModelKind(k, data.source?.format === 'csv' ? [1] : [28, 28, 1]) };
  if (choice.kind === 'zoo') return ['--model', choice.model];
  return ['--model-file', choice.file, ...(representationLayer === undefined ? [] : ['--representation-layer', representationLayer])];
}

function readLedger(stateDir: string): RoundRecord[] {
  const path = join(stateDir, 'ledger.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RoundRecord);
}
