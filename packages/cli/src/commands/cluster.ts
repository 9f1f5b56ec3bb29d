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
import { formatBytes, formatPercent } from '@pfedlora/core';
import { dataSourceLabel, defaultModelKind, isTextSource, loadDataSource, meanLatestAccuracy, parseModelChoice, resolveThreads, simulationDataSource, type FinalScores } from '@pfedlora/ml';
import { boolFlag, floatFlag, helpText, intFlag, parseFlags, stringFlag, type FlagSpecs } from '../args';
import { table } from '../format';
import { CliError, EXIT } from '../errors';
import { createProgressLines } from '../progress';
import { onceSignalled } from './coordinator';
import { BACKEND_FLAG, backendFlag, DATA_FLAGS, dataFlags, HELP_FLAG, MODELS_FLAGS, modelsFlag, representationLayerFlag, THREADS_FLAG, threadsFlag, TRAINING_FLAGS, trainingArgs, trainingFlags, type DataFlags } from './shared';

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
  ...THREADS_FLAG,
  port: { type: 'string', value: 'PORT', help: 'coordinator port (0: any free port)', default: '0' },
  'log-dir': { type: 'string', value: 'DIR', help: 'where process logs and the coordinator state go (default: a new temp dir)' },
  json: { type: 'boolean', help: 'print one JSON object at the end instead of tables' },
  ...HELP_FLAG,
};

export const CLUSTER_HELP = helpText(
  'pfedlora cluster [options]',
  'Starts a coordinator and N client daemons as separate processes on 127.0.0.1 (client k on shard k of the\ndata with CNN-((k mod 5)+1) (MLP-((k mod 3)+1) for tables, TFM-((k mod 4)+1) for text), or the k-th of --models: zoo names or model.json files), shows each round as it closes, and exits 0 when the run is done.\nProgress goes to stderr from the start (a bar on a terminal, time-stamped lines otherwise). A client that exits before\nthe first round (which waits for all N) stops everything with exit 1, naming it with the last lines of its log; one that exits later\nis left behind while --min-clients remain, else everything stops with exit 1.\nEvery process logs JSON lines to --log-dir. The processes talk plaintext gRPC (they get --insecure): everything\nstays on 127.0.0.1 of this machine. For a federation across machines use mutual TLS (docs/security.md).',
  CLUSTER_FLAGS,
);

export interface ClusterResult {
  readonly runId: string;
  readonly clients: number;
  readonly rounds: RoundRecord[];
  /**
   * meanAccuracy: the last round's reporting clients; allClientsAccuracy: every client's latest report.
   * The macro-F1 pair likewise, over the clients that sent one (NaN when none did).
   */
  readonly final: FinalScores;
  readonly totals: { readonly bytesUp: number; readonly bytesDown: number; readonly trainFlops: number; readonly seconds: number };
  readonly logDir: string;
  /** Clients that exited before the run was over (the run went on: enough remained). */
  readonly departed: ReadonlyArray<{ readonly clientId: string; readonly code: number | null; readonly signal: string | null }>;
}

interface LogLine {
  readonly message?: string;
  readonly [key: string]: unknown;
}

/** Lines of a dead process's log shown in its report: the last ones, stack frames left out. */
const TAIL_LINES = 4;

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A pfedlora process of the cluster: its log file and the last lines it wrote (for a report when it dies). */
interface Spawned {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly tail: string[];
  /** Resolves once the process exited and its output was read to the end. */
  readonly closed: Promise<Exit>;
}

/** Spawns a pfedlora process with its output in logFile; calls onLine with each JSON stdout line. */
function spawnPfedlora(name: string, args: string[], logFile: string, onLine?: (line: LogLine) => void): Spawned {
  const child = spawn(process.execPath, [CLI_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile);
  const tail: string[] = [];
  const keep = (line: string) => {
    // A crash's stack frames and Node's version footer say less than the lines above them.
    if (!line.trim() || /^\s+at /.test(line) || /^Node\.js v\d/.test(line)) return;
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
  };
  createInterface({ input: child.stderr! }).on('line', (line) => {
    log.write(line + '\n');
    keep(line);
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    log.write(line + '\n');
    keep(line);
    if (!onLine) return;
    let parsed: LogLine;
    try {
      parsed = JSON.parse(line) as LogLine;
    } catch {
      return; // Not a log line (e.g. a stray print): kept in the file only.
    }
    onLine(parsed);
  });
  const closed = new Promise<Exit>((resolve) =>
    child.on('close', (code, signal) => {
      log.end();
      resolve({ code, signal });
    }),
  );
  return { name, child, logFile, tail, closed };
}

const exitText = (e: Exit) => (e.signal ? `was killed (${e.signal})` : `exited with code ${e.code}`);
const shortExit = (e: Exit) => (e.signal ? e.signal : `exit ${e.code}`);

/** One line of a process's log as a person reads it: level, message, fields; not JSON: as is. */
function renderLogLine(text: string, max = 240): string {
  let out = text;
  try {
    const line = JSON.parse(text) as Record<string, unknown>;
    if (line && typeof line === 'object' && typeof line['message'] === 'string') {
      const fields = Object.entries(line)
        .filter(([k]) => !['level', 'message', 'timestamp', 'service', 'clientId'].includes(k))
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
      out = [String(line['level'] ?? ''), line['message'], ...fields].filter(Boolean).join(' ');
    }
  } catch {
    // Plain text (stderr).
  }
  return out.length > max ? `${out.slice(0, max - 3)}...` : out;
}

/** "the last lines of its log (FILE):" and the lines, indented. */
function lastLines(p: Spawned): string {
  if (!p.tail.length) return `its log (${p.logFile}) is empty`;
  return `the last lines of its log (${p.logFile}):\n${p.tail.map((l) => `    ${renderLogLine(l)}`).join('\n')}`;
}

/** "client-1 exited with code 4 before joining; the last lines of its log (FILE):" and the lines. */
function deathReport(p: Spawned, exit: Exit, when: string, sameAs: string | undefined): string {
  const head = `${p.name} ${exitText(exit)} ${when}`;
  return sameAs ? `${head}, with the same last log lines as ${sameAs} (${p.logFile})` : `${head}; ${lastLines(p)}`;
}

// macro-F1 after `reported`: the first three columns keep their place for whoever reads the rows.
const ROUND_HEADER = ['round', 'accuracy', 'reported', 'macro-F1', 'bytes up', 'bytes down', 'seconds'];
const roundRow = (r: RoundRecord) => [String(r.round), formatPercent(r.meanAccuracy), `${r.reported}/${r.participants}`, formatPercent(r.meanMacroF1 ?? NaN), formatBytes(r.bytesUp), formatBytes(r.bytesDown), r.seconds.toFixed(1)];

/** A timer that does not keep the process alive. */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** "a", "a and b", "a, b and c". */
const listed = (names: readonly string[]) => (names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`);

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
  // Every client trains at once: they share the cores.
  const threads = resolveThreads(threadsFlag(flags), clients);
  const port = intFlag(flags, 'port', 0, 0, 65535);
  const json = boolFlag(flags, 'json');
  const logDir = stringFlag(flags, 'log-dir') ?? (await mkdtemp(join(tmpdir(), 'pfedlora-cluster-')));
  mkdirSync(logDir, { recursive: true });
  const stateDir = join(logDir, 'coordinator-state');
  const started = Date.now();

  const models = stringFlag(flags, 'models') === undefined ? [] : modelsFlag(stringFlag(flags, 'models')!);
  const { representationLayer } = representationLayerFlag(flags);
  // Progress on stderr from the first second: a bar on a TTY, plain lines in a pipe.
  const progress = createProgressLines();
  if (!json) process.stdout.write(`pfedlora cluster: ${clients} clients, ${rounds} rounds, ${training.algorithm} on ${data.source ? dataSourceLabel(data.source) : data.dataset} (${data.partition}); logs in ${logDir}\n`);
  if (data.source) progress.status(0, `reading ${dataSourceLabel(data.source)} for the run's classes and input shape`);
  const contractArgs = await contractArgsFor(data).catch((error: Error) => {
    progress.done();
    throw new CliError(`cannot read the data (${error.message}); no process was started`, EXIT.failure);
  });
  const runArgs = trainingArgs(training);
  const dataArgs = [
    ...sourceArgs(data), '--partition', data.partition,
    '--classes-per-client', String(data.classesPerClient), '--alpha', String(data.dirichletAlpha), '--max-samples', String(data.maxTrainSamples),
  ];
  const records: RoundRecord[] = [];
  let runId = '';
  /** The round in flight: its number, participants and reports so far (undefined between rounds). */
  let inFlight: { round: number; participants: number; reports: number } | undefined;
  let firstRoundStarted = false;
  /** The run finished or was aborted (or the coordinator exited): clients exiting now are expected. */
  let runOver = false;
  /** The cluster is stopping its processes: their exits are its own doing. */
  let stopping = false;
  const joined = new Set<string>();
  let printedHeader = false;
  let listening: (port: number) => void = () => {};
  const boundPort = new Promise<number>((resolve) => (listening = resolve));
  const fraction = () => (records.length + (inFlight ? inFlight.reports / Math.max(1, inFlight.participants) : 0)) / rounds;
  progress.status(0, 'starting the coordinator');

  const coordinatorProcess = spawnPfedlora(
    'coordinator',
    ['coordinator', '--host', '127.0.0.1', '--port', String(port), '--admin-port', '0', '--rounds', String(rounds), '--min-clients', String(minClients), '--wait-clients', String(clients),
      '--participation', String(participation), '--round-timeout', String(roundTimeout), ...contractArgs, '--state-dir', stateDir, ...runArgs,
      // Plaintext on purpose: every process of a cluster is on 127.0.0.1 of this machine.
      '--insecure'],
    join(logDir, 'coordinator.log'),
    (line) => {
      switch (line.message) {
        case 'coordinator listening':
          runId = String(line['runId']);
          listening(Number(line['port']));
          progress.status(0, `coordinator on 127.0.0.1:${line['port']}`, `coordinator listening on 127.0.0.1:${line['port']} (run ${runId})`);
          break;
        case 'client joined': {
          const id = String(line['clientId']);
          if (line['rejoin'] === true || joined.has(id)) {
            progress.note(`${id} joined again${inFlight ? ` during round ${inFlight.round}/${rounds}` : ''}`);
            break;
          }
          joined.add(id);
          if (!firstRoundStarted) progress.status(0, `clients joined ${joined.size}/${clients}`, `${id} joined (${joined.size}/${clients})`);
          break;
        }
        case 'round started': {
          firstRoundStarted = true;
          const participants = Array.isArray(line['participants']) ? line['participants'].length : 0;
          inFlight = { round: Number(line['round']), participants, reports: 0 };
          const attempt = Number(line['attempt'] ?? 1);
          const label = `round ${inFlight.round}/${rounds}${attempt > 1 ? ` (attempt ${attempt})` : ''}`;
          progress.status(fraction(), `${label}: 0/${participants} reports`, `${label} started: ${participants} client${participants === 1 ? '' : 's'} training`);
          break;
        }
        case 'update accepted':
          if (!inFlight) break;
          inFlight.reports++;
          progress.status(fraction(), `round ${inFlight.round}/${rounds}: ${inFlight.reports}/${inFlight.participants} reports`, `round ${inFlight.round}/${rounds}: ${line['clientId']} reported (${inFlight.reports}/${inFlight.participants})`);
          break;
        case 'participant failed':
          progress.note(`round ${line['round']}/${rounds}: ${line['clientId']} failed (${line['reason']})`);
          break;
        case 'round retried: too few reports':
          inFlight = undefined;
          progress.note(`round ${line['round']}/${rounds}: ${line['reported']} report(s), fewer than --min-clients ${minClients} (${line['why']}); the round starts again`);
          break;
        case 'round retried: sums incomplete':
          inFlight = undefined;
          progress.note(`round ${line['round']}/${rounds}: its sums could not be completed (${line['why']}); the round starts again`);
          break;
        case 'round closed': {
          inFlight = undefined;
          const record = readLedger(stateDir).find((r) => r.round === Number(line['round']));
          if (!record) return;
          records.push(record);
          // The coordinator tells the clients right after the last round: their exits are expected.
          if (record.round >= rounds) runOver = true;
          progress.status(fraction(), `round ${record.round}/${rounds} closed`, `round ${record.round}/${rounds} closed: ${record.reported}/${record.participants} reported, mean accuracy ${formatPercent(record.meanAccuracy)}`);
          if (json) return;
          const rows = table(ROUND_HEADER, [roundRow(record)]).split('\n');
          progress.print(process.stdout, (printedHeader ? rows[2]! : rows.join('\n')) + '\n');
          printedHeader = true;
          break;
        }
        case 'run finished':
        case 'run aborted':
          runOver = true;
          break;
      }
    },
  );
  const coordinatorExit = coordinatorProcess.closed.then((exit) => {
    runOver = true;
    return exit;
  });
  const children: Spawned[] = [coordinatorProcess];
  const stopAll = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill(signal);
  };
  // Whatever ends this process (a crash, a closed pipe), its coordinator and clients end with it.
  const stopOnExit = () => stopAll('SIGTERM');
  process.once('exit', stopOnExit);
  const interrupted = onceSignalled().then((signal) => {
    stopAll('SIGTERM');
    return signal;
  });

  /** Clients that left before the run was over, in the order they did. */
  const departed: Array<{ readonly client: Spawned; readonly exit: Exit }> = [];
  let failed: (why: 'first round' | 'min clients') => void = () => {};
  const clientsFailed = new Promise<'first round' | 'min clients'>((resolve) => (failed = resolve));
  /** Reports a client that exited while the run was on, and decides whether the run can go on without it. */
  const onClientExit = (client: Spawned, exit: Exit) => {
    if (runOver || stopping) return;
    const id = client.name;
    const when = !joined.has(id) ? 'before joining' : inFlight ? `during round ${inFlight.round}/${rounds}` : records.length ? `after round ${records.length}/${rounds}` : 'before the first round';
    // Many clients failing alike (the same bad data): the lines are shown once.
    const text = (p: Spawned) => p.tail.map((l) => renderLogLine(l).split(p.name).join('<client>')).join('\n');
    const sameAs = client.tail.length ? departed.find((d) => text(d.client) === text(client))?.client.name : undefined;
    departed.push({ client, exit });
    progress.note(deathReport(client, exit, when, sameAs));
    const remaining = clients - departed.length;
    if (!firstRoundStarted) failed('first round');
    else if (remaining < minClients) failed('min clients');
    else progress.note(`${remaining} of ${clients} clients remain (--min-clients ${minClients}): the run goes on without ${listed(departed.map((d) => d.client.name))}`);
  };

  try {
    const portBound = await Promise.race([boundPort, coordinatorExit.then(() => -1)]);
    if (portBound < 0) {
      const exit = await coordinatorExit;
      progress.done();
      throw new CliError(`the coordinator ${exitText(exit)} before listening; ${lastLines(coordinatorProcess)}`, EXIT.failure);
    }
    const clientExits: Array<Promise<Exit>> = [];
    for (let k = 0; k < clients; k++) {
      const child = spawnPfedlora(
        `client-${k}`,
        ['client', '--coordinator', `127.0.0.1:${portBound}`, '--client-id', `client-${k}`, '--shard', `${k}/${clients}`, '--partition-seed', String(training.seed),
          ...modelArgs(models, k, data, representationLayer), '--backend', backend, '--threads', String(threads), ...dataArgs, '--insecure'],
        join(logDir, `client-${k}.log`),
      );
      children.push(child);
      clientExits.push(
        child.closed.then((exit) => {
          onClientExit(child, exit);
          return exit;
        }),
      );
    }
    progress.status(0, `clients joined 0/${clients}`, `started ${clients} client process${clients === 1 ? '' : 'es'}; waiting for them to join`);
    const outcome = await Promise.race([
      coordinatorExit.then((exit) => ({ kind: 'coordinator' as const, exit })),
      interrupted.then((signal) => ({ kind: 'signal' as const, signal })),
      clientsFailed.then((why) => ({ kind: 'clients' as const, why })),
    ]);
    if (outcome.kind === 'signal') {
      progress.done();
      process.stderr.write(`pfedlora cluster: interrupted (${outcome.signal}); logs in ${logDir}\n`);
      return 130;
    }
    if (outcome.kind === 'clients') {
      // Clients failing alike (bad data) fail within a moment of each other: name them all, then stop.
      await Promise.race([Promise.all(clientExits), sleep(1000)]);
      stopAll('SIGTERM');
      await Promise.race([coordinatorExit, sleep(10_000)]);
      progress.done();
      const names = departed.map((d) => `${d.client.name} (${shortExit(d.exit)})`);
      const remaining = clients - departed.length;
      throw new CliError(
        outcome.why === 'first round'
          ? `${listed(names)} left before the first round, which waits for all ${clients} clients (a client that cannot start is a setup error: its log says why); stopped the coordinator and the other clients. Logs in ${logDir}`
          : `${listed(names)} left the run: ${remaining} of ${clients} clients remain, fewer than --min-clients ${minClients}; stopped the run after ${records.length} of ${rounds} rounds. Logs in ${logDir}`,
        EXIT.failure,
      );
    }
    const clientsDone = Promise.all(clientExits);
    if (outcome.exit.code !== 0 || records.length < rounds) {
      // Its clients would wait for it forever.
      stopAll('SIGTERM');
      await Promise.race([clientsDone, sleep(10_000)]);
      progress.done();
      throw new CliError(`the coordinator ${exitText(outcome.exit)} after ${records.length} of ${rounds} rounds; ${lastLines(coordinatorProcess)}`, EXIT.failure);
    }
    // Clients exit on their own once the coordinator tells them the run is over.
    if ((await Promise.race([clientsDone, sleep(15_000).then(() => 'timeout' as const)])) === 'timeout') stopAll('SIGTERM');
    const clientCodes = await clientsDone;
    progress.done();
    // Clients that stayed to the end but then exited with an error (their logs say why).
    const failedAtEnd = clientCodes.flatMap((e, k) => (e.code !== 0 && e.code !== null && !departed.some((d) => d.client.name === `client-${k}`) ? [`client-${k} (${shortExit(e)})`] : []));
    const last = records[records.length - 1]!;
    const result: ClusterResult = {
      runId,
      clients,
      rounds: records,
      final: {
        meanAccuracy: last.meanAccuracy,
        round: last.round,
        allClientsAccuracy: meanLatestAccuracy([...latestClientAccuracies(records).values()]),
        meanMacroF1: last.meanMacroF1 ?? NaN,
        allClientsMacroF1: meanLatestAccuracy([...latestClientAccuracies(records, 'macroF1').values()]),
      },
      totals: {
        bytesUp: records.reduce((n, r) => n + r.bytesUp, 0),
        bytesDown: records.reduce((n, r) => n + r.bytesDown, 0),
        trainFlops: records.reduce((n, r) => n + r.trainFlops, 0),
        seconds: (Date.now() - started) / 1000,
      },
      logDir,
      departed: departed.map((d) => ({ clientId: d.client.name, code: d.exit.code, signal: d.exit.signal })),
    };
    if (json) process.stdout.write(JSON.stringify(result) + '\n');
    else {
      process.stdout.write(
        `\nrun ${runId}: final mean accuracy ${formatPercent(last.meanAccuracy)}, macro-F1 ${formatPercent(result.final.meanMacroF1)} after round ${last.round}` +
          (last.reported < clients
            ? ` (its ${last.reported} reporting clients; all clients' latest: ${formatPercent(result.final.allClientsAccuracy)}, macro-F1 ${formatPercent(result.final.allClientsMacroF1)})`
            : '') +
          '; ' +
          `sent up ${formatBytes(result.totals.bytesUp)}, down ${formatBytes(result.totals.bytesDown)}; ${result.totals.seconds.toFixed(1)} s` +
          (departed.length ? `; ${listed(departed.map((d) => `${d.client.name} (${shortExit(d.exit)})`))} left the run early` : '') +
          (failedAtEnd.length ? `; ${listed(failedAtEnd)} exited with an error after the run (see ${failedAtEnd.length > 1 ? 'their logs' : 'its log'})` : '') +
          `\nlogs and per-round global adapters: ${logDir}\n`,
      );
    }
    return 0;
  } finally {
    progress.done();
    stopAll('SIGTERM');
    process.off('exit', stopOnExit);
  }
}

/** The client flags naming the data (a benchmark by name, or a team's own files). */
function sourceArgs(data: DataFlags): string[] {
  const s = data.source;
  const tokens = (n: number | undefined) => (n === undefined ? [] : ['--max-tokens', String(n)]);
  if (!s) return ['--dataset', data.dataset, ...(data.dataDir === undefined ? [] : ['--data-dir', data.dataDir]), ...tokens(data.maxTokens)];
  if (s.format === 'jsonl') return ['--data-format', 'jsonl', '--data-dir', s.dir, ...tokens(s.maxTokens)];
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
  if (!data.source) return ['--dataset', data.dataset, ...(data.maxTokens === undefined ? [] : ['--input-shape', String(data.maxTokens)])];
  const splits = await loadDataSource(data.source);
  const kind = isTextSource(data.source) ? ['--input-kind', 'text'] : [];
  return ['--classes', splits.train.classNames.join(','), '--input-shape', splits.train.sampleShape.join('x'), ...kind];
}

/** Client k's model flags: the k-th of --models (cycled), else the zoo default for the data. */
function modelArgs(models: readonly string[], k: number, data: DataFlags, representationLayer: string | undefined): string[] {
  const fallback = defaultModelKind(k, data.source?.format === 'csv' ? [1] : [28, 28, 1], isTextSource(simulationDataSource(data)));
  const choice = models.length ? parseModelChoice(models[k % models.length]!) : { kind: 'zoo' as const, model: fallback };
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
