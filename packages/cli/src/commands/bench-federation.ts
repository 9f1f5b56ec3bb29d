/**
 * `pfedlora bench transport | aggregate | overhead | memory | load`: the
 * flags and the tables of the federation benchmarks (coordinator transport
 * against raw grpc-js, the aggregation step against a copy loop, round
 * overhead, coordinator peak memory, the bounded load run), which
 * @pfedlora/bench runs. Each prints a table, or one JSON object with --json;
 * progress goes to stderr.
 */
import {
  DEFAULT_AGGREGATE,
  DEFAULT_LOAD,
  DEFAULT_MEMORY,
  DEFAULT_OVERHEAD,
  DEFAULT_TRANSPORT,
  CLIENTS_PER_PROCESS,
  defaultClientProcesses,
  defaultWarmupRounds,
  MIB,
  parseNumberList,
  runAggregateBench,
  runLoadBench,
  runMemoryBench,
  runOverheadBench,
  runTransportBench,
  type AggregateReport,
  type LoadReport,
  type MemoryReport,
  type OverheadReport,
  type TargetCheck,
  type TransportCase,
  type TransportReport,
} from '@pfedlora/bench';
import { formatBytes } from '@pfedlora/core';
import { boolFlag, floatFlag, helpText, intFlag, parseFlags, stringFlag, type FlagSpecs, type ParsedFlags } from '../args';
import { UsageError } from '../errors';
import { table } from '../format';

const COMMON: FlagSpecs = {
  quick: { type: 'boolean', help: 'a smaller configuration (seconds instead of minutes)' },
  json: { type: 'boolean', help: 'print one JSON object (progress still goes to stderr)' },
  quiet: { type: 'boolean', help: 'no progress lines on stderr' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

function numbers(flags: ParsedFlags, name: string, fallback: readonly number[], integer: boolean, allowZero = false): number[] {
  const text = stringFlag(flags, name);
  if (text === undefined) return [...fallback];
  try {
    return parseNumberList(text, `--${name}`, integer, allowZero);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function progress(flags: ParsedFlags): { progress?: (line: string) => void } {
  return boolFlag(flags, 'quiet') ? {} : { progress: (line) => process.stderr.write(`${line}\n`) };
}

function targetsTable(targets: readonly TargetCheck[]): string {
  if (targets.length === 0) return '';
  return '\n' + table(['target', 'wanted', 'measured', 'met'], targets.map((t) => [t.name, t.target, String(t.value), t.met ? 'yes' : 'NO'])) + '\n';
}

function emit(report: TransportReport | AggregateReport | OverheadReport | MemoryReport | LoadReport, json: boolean, text: () => string): number {
  process.stdout.write(json ? JSON.stringify(report) + '\n' : text() + targetsTable(report.targets));
  return 0;
}

// ---- transport ----

/** Upload MB/s of each coordinator-threads setting over the first one listed, per case measured in this run. */
function threadRatios(cases: readonly TransportCase[]): string {
  const lines: string[] = [];
  for (const c of cases) {
    const base = cases.find((b) => b.sizeMiB === c.sizeMiB && b.clients === c.clients);
    if (!base || base === c) continue;
    lines.push(`upload ${c.sizeMiB} MiB x ${c.clients}: ${c.coordinatorThreads} coordinator threads / ${base.coordinatorThreads} = x${(c.upload.mbps / base.upload.mbps).toFixed(2)}`);
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

const TRANSPORT_FLAGS: FlagSpecs = {
  sizes: { type: 'string', value: 'LIST', help: 'adapter payload sizes in MiB', default: DEFAULT_TRANSPORT.sizesMiB.join(',') },
  clients: { type: 'string', value: 'LIST', help: 'concurrently connected clients', default: DEFAULT_TRANSPORT.clients.join(',') },
  'client-processes': { type: 'string', value: 'K', help: 'run the synthetic clients in K child processes (0: in this process)', default: '0' },
  reps: { type: 'string', value: 'N', help: 'timed repetitions per case (0: automatic, ~256 MiB per phase, 1..10)', default: '0' },
  'max-concurrent-uploads': { type: 'string', value: 'N', help: "the coordinator's upload slots", default: String(DEFAULT_TRANSPORT.maxConcurrentUploads) },
  'chunk-size': { type: 'string', value: 'BYTES', help: 'chunk size on the wire (both sides)', default: String(DEFAULT_TRANSPORT.chunkSize) },
  'coordinator-threads': { type: 'string', value: 'LIST', help: 'upload worker threads of the coordinator; each case runs once per entry, side by side (0: on the loop)', default: DEFAULT_TRANSPORT.coordinatorThreads.join(',') },
  'skip-verify': { type: 'boolean', help: "clients only count download bytes instead of checking the sha256 as the daemon does" },
  ...COMMON,
};

export async function benchTransport(argv: readonly string[]): Promise<number> {
  const { flags } = parseFlags(argv, TRANSPORT_FLAGS, 'bench transport');
  if (boolFlag(flags, 'help')) {
    process.stdout.write(
      helpText(
        'pfedlora bench transport [options]',
        'Adapter broadcast (Download RPC) and upload (Upload RPC incl. streaming decode and aggregation) throughput of an\nin-process coordinator on 127.0.0.1 with synthetic protocol-level clients that skip training, and the ratio to the\nsame bytes over a raw grpc-js byte stream (1 MiB chunks) over as many concurrent streams, measured in the same run.\n--quick: sizes 1,16, clients 1,10.',
        TRANSPORT_FLAGS,
      ),
    );
    return 0;
  }
  const quick = boolFlag(flags, 'quick');
  const json = boolFlag(flags, 'json');
  const report = await runTransportBench({
    ...DEFAULT_TRANSPORT,
    sizesMiB: numbers(flags, 'sizes', quick ? [1, 16] : DEFAULT_TRANSPORT.sizesMiB, false),
    clients: numbers(flags, 'clients', quick ? [1, 10] : DEFAULT_TRANSPORT.clients, true),
    clientProcesses: intFlag(flags, 'client-processes', 0, 0, 64),
    reps: intFlag(flags, 'reps', 0, 0, 100),
    maxConcurrentUploads: intFlag(flags, 'max-concurrent-uploads', DEFAULT_TRANSPORT.maxConcurrentUploads, 1),
    chunkSize: intFlag(flags, 'chunk-size', DEFAULT_TRANSPORT.chunkSize, 1024, 64 * MIB),
    coordinatorThreads: numbers(flags, 'coordinator-threads', DEFAULT_TRANSPORT.coordinatorThreads, true, true),
    verify: !boolFlag(flags, 'skip-verify'),
    ...progress(flags),
  });
  return emit(report, json, () => {
    const head =
      `bench transport: clients ${report.clientMode}, chunk ${formatBytes(report.chunkSize)}, ${report.maxConcurrentUploads} upload slots, download sha256 check ${report.verify ? 'on' : 'off'}; ` +
      'MB/s = 10^6 B/s of payload, all clients together, medians; close s: the round-closing upload + round close\n';
    return (
      head +
      table(
        ['adapter', 'clients', 'threads', 'reps', 'broadcast MB/s', 'raw MB/s', 'x raw', 'upload MB/s', 'raw MB/s', 'x raw', 'close s'],
        report.cases.map((c) => [
          `${c.sizeMiB} MiB (r${c.rank}, C${c.numClasses})`,
          String(c.clients),
          String(c.coordinatorThreads),
          String(c.reps),
          c.broadcast.mbps.toFixed(1),
          c.broadcast.rawMbps.toFixed(1),
          c.broadcast.ratioToRawGrpc.toFixed(2),
          c.upload.mbps.toFixed(1),
          c.upload.rawMbps.toFixed(1),
          c.upload.ratioToRawGrpc.toFixed(2),
          c.closeSeconds.toFixed(3),
        ]),
      ) +
      '\n' +
      threadRatios(report.cases)
    );
  });
}

// ---- aggregate ----

const AGGREGATE_FLAGS: FlagSpecs = {
  sizes: { type: 'string', value: 'LIST', help: 'update sizes in MiB', default: DEFAULT_AGGREGATE.sizesMiB.join(',') },
  clients: { type: 'string', value: 'N', help: 'updates folded per measurement', default: String(DEFAULT_AGGREGATE.clients) },
  reps: { type: 'string', value: 'N', help: 'timed repetitions (median reported)', default: String(DEFAULT_AGGREGATE.reps) },
  'no-pool': { type: 'boolean', help: "fresh sums and staging per accumulator instead of the coordinator's ArrayPool (as before it existed)" },
  ...COMMON,
};

export async function benchAggregate(argv: readonly string[]): Promise<number> {
  const { flags } = parseFlags(argv, AGGREGATE_FLAGS, 'bench aggregate');
  if (boolFlag(flags, 'help')) {
    process.stdout.write(
      helpText(
        'pfedlora bench aggregate [options]',
        "Throughput of the coordinator's aggregation step (WeightedMeanAccumulator: add() whole, and beginClient/addSlice/commit\nin 1 MiB slices; and the whole Upload path without the network: PFLT decode + sha256 + addBytes + fold) in GB/s of\nfloat32 update bytes, with the ratio to a plain Float32Array copy loop over the same bytes, and the round-close time.\nAccumulators reuse one ArrayPool across repetitions, as the coordinator's rounds do (--no-pool: fresh buffers).\n--quick: 16 MiB, 4 clients, 1 rep.",
        AGGREGATE_FLAGS,
      ),
    );
    return 0;
  }
  const quick = boolFlag(flags, 'quick');
  const json = boolFlag(flags, 'json');
  const report = runAggregateBench({
    ...DEFAULT_AGGREGATE,
    sizesMiB: numbers(flags, 'sizes', quick ? [16] : DEFAULT_AGGREGATE.sizesMiB, false),
    clients: intFlag(flags, 'clients', quick ? 4 : DEFAULT_AGGREGATE.clients, 1),
    reps: intFlag(flags, 'reps', quick ? 1 : DEFAULT_AGGREGATE.reps, 1),
    pool: !boolFlag(flags, 'no-pool'),
    ...progress(flags),
  });
  return emit(report, json, () =>
    'bench aggregate: GB/s = 10^9 B/s of float32 update bytes, medians\n' +
    table(
      ['update', 'clients', 'memcpy GB/s', 'add GB/s', 'x memcpy', 'stream GB/s', 'x memcpy', 'upload path GB/s', 'x memcpy', 'round close s'],
      report.cases.map((c) => [
        `${c.sizeMiB} MiB`,
        String(c.clients),
        c.memcpyGBps.toFixed(2),
        c.addGBps.toFixed(2),
        c.ratioToMemcpy.add.toFixed(2),
        c.streamGBps.toFixed(2),
        c.ratioToMemcpy.stream.toFixed(2),
        c.uploadPathGBps.toFixed(2),
        c.ratioToMemcpy.uploadPath.toFixed(2),
        c.roundCloseSeconds.toFixed(3),
      ]),
    ) +
    '\n\nthe passes of the Upload path alone, GB/s (profile):\n' +
    table(
      ['update', 'sha256', 'decode', 'finite check', 'finite scan', 'stage (fresh)', 'stage (pooled)', 'fold f64 (warm)', 'fold f64 (fresh)', 'memcpy (fresh)'],
      report.cases.map((c) => [
        `${c.sizeMiB} MiB`,
        ...[
          c.profile.sha256,
          c.profile.decode,
          c.profile.finiteCheck,
          c.profile.finiteScan,
          c.profile.stageFresh,
          c.profile.stagePooled,
          c.profile.foldWarm,
          c.profile.foldFresh,
          c.profile.memcpyFresh,
        ].map((x) => x.toFixed(2)),
      ]),
    ) +
    '\n',
  );
}

// ---- overhead ----

const OVERHEAD_FLAGS: FlagSpecs = {
  clients: { type: 'string', value: 'N', help: 'connected synthetic clients', default: String(DEFAULT_OVERHEAD.clients) },
  rounds: { type: 'string', value: 'R', help: 'rounds', default: String(DEFAULT_OVERHEAD.rounds) },
  rank: { type: 'string', value: 'R', help: 'adapter rank', default: String(DEFAULT_OVERHEAD.rank) },
  classes: { type: 'string', value: 'C', help: 'classes (adapter columns)', default: String(DEFAULT_OVERHEAD.numClasses) },
  'client-processes': { type: 'string', value: 'K', help: 'run the synthetic clients in K child processes (0: in this process)', default: '0' },
  ...COMMON,
};

export async function benchOverhead(argv: readonly string[]): Promise<number> {
  const { flags } = parseFlags(argv, OVERHEAD_FLAGS, 'bench overhead');
  if (boolFlag(flags, 'help')) {
    process.stdout.write(
      helpText(
        'pfedlora bench overhead [options]',
        "Coordinator round overhead (round time minus the slowest client's training time, from the ledger) with N connected\nsynthetic clients that skip training (trainSeconds 0), so every round is pure overhead. --quick: 20 clients, 3 rounds.",
        OVERHEAD_FLAGS,
      ),
    );
    return 0;
  }
  const quick = boolFlag(flags, 'quick');
  const json = boolFlag(flags, 'json');
  const report = await runOverheadBench({
    ...DEFAULT_OVERHEAD,
    clients: intFlag(flags, 'clients', quick ? 20 : DEFAULT_OVERHEAD.clients, 1, 10_000),
    rounds: intFlag(flags, 'rounds', quick ? 3 : DEFAULT_OVERHEAD.rounds, 1, 1_000),
    rank: intFlag(flags, 'rank', DEFAULT_OVERHEAD.rank, 1, 500),
    numClasses: intFlag(flags, 'classes', DEFAULT_OVERHEAD.numClasses, 2),
    clientProcesses: intFlag(flags, 'client-processes', 0, 0, 64),
    ...progress(flags),
  });
  return emit(report, json, () =>
    `bench overhead: ${report.clients} clients ${report.clientMode}, adapter rank ${report.rank} x ${report.numClasses} classes (${formatBytes(report.payloadBytes)}), joined in ${report.joinSeconds} s\n` +
    table(
      ['round', 'reported', 'seconds', 'overhead s'],
      report.rounds.map((r) => [String(r.round), String(r.reported), r.seconds.toFixed(3), r.overheadSeconds.toFixed(3)]),
    ) +
    `\nmedian overhead (rounds 2+): ${report.medianOverheadSeconds} s, max ${report.maxOverheadSeconds} s, round 1 ${report.firstRoundOverheadSeconds} s\n`,
  );
}

// ---- memory ----

const MEMORY_FLAGS: FlagSpecs = {
  size: { type: 'string', value: 'MIB', help: 'adapter payload size in MiB', default: String(DEFAULT_MEMORY.sizeMiB) },
  clients: { type: 'string', value: 'N', help: 'synthetic clients (download and upload at once)', default: String(DEFAULT_MEMORY.clients) },
  'max-concurrent-uploads': { type: 'string', value: 'N', help: "the coordinator's upload slots", default: String(DEFAULT_MEMORY.maxConcurrentUploads) },
  'coordinator-threads': { type: 'string', value: 'N', help: "the coordinator's upload worker threads (0: on the loop)", default: String(DEFAULT_MEMORY.coordinatorThreads) },
  ...COMMON,
};

export async function benchMemory(argv: readonly string[]): Promise<number> {
  const { flags } = parseFlags(argv, MEMORY_FLAGS, 'bench memory');
  if (boolFlag(flags, 'help')) {
    process.stdout.write(
      helpText(
        'pfedlora bench memory [options]',
        'Peak RSS of a coordinator in its own process (memoryUsage sampled every 50 ms, and the kernel VmHWM) while N synthetic\nclients in this process download the adapter and upload their updates at once (one round). --quick: 16 MiB x 10.',
        MEMORY_FLAGS,
      ),
    );
    return 0;
  }
  const quick = boolFlag(flags, 'quick');
  const json = boolFlag(flags, 'json');
  const [size] = numbers(flags, 'size', [quick ? 16 : DEFAULT_MEMORY.sizeMiB], false);
  const report = await runMemoryBench({
    ...DEFAULT_MEMORY,
    sizeMiB: size!,
    clients: intFlag(flags, 'clients', quick ? 10 : DEFAULT_MEMORY.clients, 1, 1_000),
    maxConcurrentUploads: intFlag(flags, 'max-concurrent-uploads', DEFAULT_MEMORY.maxConcurrentUploads, 1),
    coordinatorThreads: intFlag(flags, 'coordinator-threads', DEFAULT_MEMORY.coordinatorThreads, 0, 64),
    ...progress(flags),
  });
  const mib = (n: number) => (n / MIB).toFixed(1);
  return emit(report, json, () => {
    const phases = (['startup', 'join', 'download', 'upload'] as const).map((p) => {
      const m = report[p];
      return [p, mib(m.rss), m.vmHwm >= 0 ? mib(m.vmHwm) : 'n/a', mib(m.heapUsed), mib(m.arrayBuffers), String(m.samples)];
    });
    const model = report.model;
    return (
      `bench memory: coordinator process, ${report.clients} clients x ${report.sizeMiB} MiB adapter, ${report.maxConcurrentUploads} upload slots, ${report.coordinatorThreads} coordinator threads; ` +
      `download ${report.downloadMbps} MB/s, upload ${report.uploadMbps} MB/s\n` +
      table(['phase', 'peak RSS MiB', 'VmHWM MiB', 'heap MiB', 'arrayBuffers MiB', 'samples'], phases) +
      `\n\npeak RSS: ${report.peakRssMiB} MiB. By design (MiB): staged uploads ${mib(model.stagedUploads)}, float64 sums ${mib(model.float64Sums)}, ` +
      `global + payload store ${mib(model.globalAndPayloads)}, round-close transients ${mib(model.roundCloseTransient)}, ` +
      `queued uploads' grpc read-ahead up to ${mib(model.queuedUploadReadAhead)}\n`
    );
  });
}

// ---- load ----

const LOAD_FLAGS: FlagSpecs = {
  clients: { type: 'string', value: 'N', help: 'connected synthetic clients (all take part in every round)', default: String(DEFAULT_LOAD.clients) },
  rounds: { type: 'string', value: 'R', help: 'rounds', default: String(DEFAULT_LOAD.rounds) },
  'warmup-rounds': { type: 'string', value: 'W', help: 'first rounds left out of the RSS verdict (default: 10% of the rounds, at least 1)' },
  'flat-tolerance': { type: 'string', value: 'X', help: 'RSS is flat when (max - min) / min after warm-up is <= X', default: String(DEFAULT_LOAD.flatTolerance) },
  rank: { type: 'string', value: 'R', help: 'adapter rank (the adapter needs one element per client)', default: String(DEFAULT_LOAD.rank) },
  classes: { type: 'string', value: 'C', help: 'classes (adapter columns)', default: String(DEFAULT_LOAD.numClasses) },
  'client-processes': { type: 'string', value: 'K', help: `run the synthetic clients in K child processes (0: in this process; default: 0 up to ${CLIENTS_PER_PROCESS} clients, else one per ${CLIENTS_PER_PROCESS})` },
  'max-concurrent-uploads': { type: 'string', value: 'N', help: "the coordinator's upload slots", default: String(DEFAULT_LOAD.maxConcurrentUploads) },
  'state-dir': { type: 'string', value: 'DIR', help: "keep the coordinator's checkpoints and ledger.jsonl here (empty or new; default: a temporary dir, removed)" },
  ...COMMON,
};

export async function benchLoad(argv: readonly string[]): Promise<number> {
  const { flags } = parseFlags(argv, LOAD_FLAGS, 'bench load');
  if (boolFlag(flags, 'help')) {
    process.stdout.write(
      helpText(
        'pfedlora bench load [options]',
        'The bounded load run: a coordinator in its own process (with a state dir), N synthetic clients that never train, R rounds\n' +
          'at full participation. Each client uploads its own delta (a spike in its own element, a distinct pattern elsewhere);\n' +
          "after every round the driver checks the coordinator's new global (from its checkpoint) against the previous one plus the\n" +
          'weighted mean of exactly the acknowledged uploads (float32 rounding tolerated), and ledger.jsonl against the acks: no\n' +
          'update lost, none counted twice. Coordinator RSS: the peak of each round (sampled every 50 ms) and the settled RSS right\n' +
          'after a full GC at its end (standing in for the idle time of real rounds); flat when (max - min) / min of the settled\n' +
          'RSS after the warm-up rounds is <= --flat-tolerance. Exit status 1 when a check fails. --quick: 20 clients, 5 rounds.',
        LOAD_FLAGS,
      ),
    );
    return 0;
  }
  const quick = boolFlag(flags, 'quick');
  const json = boolFlag(flags, 'json');
  const rounds = intFlag(flags, 'rounds', quick ? 5 : DEFAULT_LOAD.rounds, 1, 100_000);
  const stateDir = stringFlag(flags, 'state-dir');
  const clients = intFlag(flags, 'clients', quick ? 20 : DEFAULT_LOAD.clients, 1, 10_000);
  const report = await runLoadBench({
    ...DEFAULT_LOAD,
    clients,
    rounds,
    warmupRounds: intFlag(flags, 'warmup-rounds', defaultWarmupRounds(rounds), 0, rounds - 1),
    flatTolerance: floatFlag(flags, 'flat-tolerance', DEFAULT_LOAD.flatTolerance, (x) => x >= 0, 'a number >= 0'),
    rank: intFlag(flags, 'rank', DEFAULT_LOAD.rank, 1, 500),
    numClasses: intFlag(flags, 'classes', DEFAULT_LOAD.numClasses, 2),
    clientProcesses: intFlag(flags, 'client-processes', defaultClientProcesses(clients), 0, 64),
    maxConcurrentUploads: intFlag(flags, 'max-concurrent-uploads', DEFAULT_LOAD.maxConcurrentUploads, 1),
    ...(stateDir === undefined ? {} : { stateDir }),
    ...progress(flags),
  });
  emit(report, json, () => {
    const u = report.updates;
    const a = report.rssAfterWarmup;
    const rows: string[][] = [
      ['rounds checked (failed)', `${report.rounds} (${report.perRound.filter((p) => !p.ok).length})`],
      ['updates acknowledged / counted in the globals', `${u.expected} / ${u.counted}`],
      ['lost / double-counted / not acknowledged', `${u.lost} / ${u.double} / ${u.unexpected}`],
      ['round seconds (first download to last ack), median / max', `${report.roundSeconds.median.toFixed(3)} / ${report.roundSeconds.max.toFixed(3)}`],
      [`round overhead s (dispatch + transfers), rounds ${report.warmupRounds + 1}-${report.rounds}: median / max`, `${report.overheadSeconds.median.toFixed(3)} / ${report.overheadSeconds.max.toFixed(3)}`],
      [`coordinator CPU s per round, rounds ${report.warmupRounds + 1}-${report.rounds}: median / max`, `${report.coordinatorCpuSeconds.median.toFixed(3)} / ${report.coordinatorCpuSeconds.max.toFixed(3)}`],
      ['fewest clients connected at a round end / heartbeats refused / answered late (> 5 s)', `${report.minConnected} / ${report.heartbeatFailures} / ${report.heartbeatsLate}`],
      ['coordinator RSS MiB at startup', report.rssStartupMiB.toFixed(1)],
      [`settled RSS MiB, rounds ${report.warmupRounds + 1}-${report.rounds}: min / median / max`, `${a.minMiB.toFixed(1)} / ${a.medianMiB.toFixed(1)} / ${a.maxMiB.toFixed(1)}`],
      ['settled RSS flat ratio (max - min) / min', `${report.rssFlatRatio.toFixed(4)} (${report.rssFlat ? 'flat' : 'NOT flat'}: <= ${report.rssFlatTolerance})`],
      ['peak RSS flat ratio (not judged)', report.rssPeakFlatRatio.toFixed(4)],
      ['live heap growth after warm-up, KiB/round', report.liveHeapGrowthKiBPerRound.toFixed(1)],
    ];
    return (
      `bench load: ${report.clients} clients ${report.clientMode} x ${report.rounds} rounds, full participation, adapter rank ${report.rank} x ${report.numClasses} classes ` +
      `(${formatBytes(report.payloadBytes)}); joined in ${report.joinSeconds} s, wall ${report.wallSeconds} s\n` +
      table(['', 'measured'], rows) +
      `\n\ncoordinator settled RSS per round, MiB (first ${report.warmupRounds} = warm-up): ${report.rssPerRoundMiB.map((x) => x.toFixed(1)).join(' ')}\n` +
      (report.problems.length > 0 ? `\nproblems:\n${report.problems.map((p) => `  ${p}`).join('\n')}\n` : '')
    );
  });
  return report.ok ? 0 : 1;
}
