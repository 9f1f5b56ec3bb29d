/** `pfedlora coordinator`: the long-running coordinator service. */
import { AGGREGATION_RULES, datasetContract, DEFAULT_COORDINATOR, startCoordinator, type CoordinatorConfig, type RunContract } from '@pfedlora/coordinator';
import { DATASET_NAMES, isTextDataset, parseInputShape } from '@pfedlora/ml/server';
import { INPUT_KINDS, inputKindOf, RUN_FIELDS } from '@pfedlora/core';
import { createLogger } from '@pfedlora/telemetry';
import { boolFlag, choiceFlag, floatFlag, helpText, intFlag, stringFlag, type FlagSpecs, type ParsedFlags } from '../args';
import { CONFIG_FLAG, parseWithConfig, withFileErrors } from '../config-file';
import { FlagError, UsageError, type FlagRef } from '../errors';
import { HELP_FLAG, LOG_FLAG, logLevelFlag, TRAINING_FLAGS, trainingFlags } from './run-flags';
import { METRICS_FLAGS, metricsAddressFromFlags, serveCoordinatorMetrics } from './metrics-flags';
import { COORDINATOR_TLS_FLAGS, coordinatorTlsFromFlags } from './tls-flags';

const c = DEFAULT_COORDINATOR;

export const COORDINATOR_FLAGS: FlagSpecs = {
  ...CONFIG_FLAG,
  host: { type: 'string', value: 'ADDR', help: 'address to listen on', default: c.host },
  port: { type: 'string', value: 'PORT', help: 'port to listen on (0: any free port, logged)', default: String(c.port) },
  rounds: { type: 'string', value: 'R', help: 'rounds to run', default: String(c.rounds) },
  'min-clients': { type: 'string', value: 'N', help: 'reports a round needs to close at its deadline (else it is retried)', default: String(c.minClients) },
  'wait-clients': { type: 'string', value: 'N', help: 'clients to wait for before the first round (default: --min-clients)' },
  participation: { type: 'string', value: 'F', help: 'fraction of connected clients sampled each round, (0, 1]', default: String(c.participation) },
  'round-timeout': { type: 'string', value: 'SEC', help: 'round deadline in seconds', default: String(c.roundTimeoutMs / 1000) },
  'client-timeout': { type: 'string', value: 'SEC', help: 'a connected client sending no heartbeat this long is dropped from the round', default: String(c.clientTimeoutMs / 1000) },
  'disconnect-grace': { type: 'string', value: 'SEC', help: 'a client whose stream closed and is not back this soon is dropped from the round', default: String(c.disconnectGraceMs / 1000) },
  'heartbeat-interval': { type: 'string', value: 'SEC', help: 'how often clients heartbeat', default: String(c.heartbeatIntervalMs / 1000) },
  'chunk-size': { type: 'string', value: 'BYTES', help: 'payload chunk size on the wire', default: String(c.chunkSize) },
  'coordinator-threads': { type: 'string', value: 'N', help: 'worker threads for the per-byte work of uploads (sha256, finiteness check, fold) off the event loop (0: on the loop; default: cores - 2, at most 4, 0 on 2 cores or fewer)', default: String(c.coordinatorThreads) },
  dataset: { type: 'string', value: 'NAME', help: `benchmark clients train on (sets the contract's input shape and classes): ${DATASET_NAMES.join(', ')}`, default: 'fashion-mnist' },
  classes: { type: 'string', value: 'LIST', help: "the run's class names, comma-separated (instead of the --dataset's; clients' labels must be among them)" },
  'input-shape': { type: 'string', value: 'SHAPE', help: "the run's default input, e.g. 32x32x3 or 13 (built-in models, image folders; instead of the --dataset's)" },
  'input-kind': { type: 'string', value: 'KIND', help: `what a sample is: ${INPUT_KINDS.join(', ')} (text: byte-token ids, --input-shape tokens; shared models are built for it)`, default: "the --dataset's; else image for 3 sizes, table for 1" },
  ...TRAINING_FLAGS,
  aggregation: { type: 'string', value: 'RULE', help: `server step over deltas: ${AGGREGATION_RULES.join(', ')} (robust rules buffer the round's updates)`, default: c.aggregation },
  trim: { type: 'string', value: 'F', help: 'trimmed-mean: fraction dropped at each end per coordinate', default: String(c.trimFraction) },
  'delta-clip-norm': { type: 'string', value: 'C', help: "clip each client's delta to this L2 norm before aggregating" },
  'dp-noise-multiplier': { type: 'string', value: 'Z', help: 'add Gaussian noise (std Z*C/reports) to the mean for user-level DP; needs --delta-clip-norm' },
  'dp-delta': { type: 'string', value: 'D', help: 'delta of the (epsilon, delta) the accountant reports per round', default: String(c.dpDelta) },
  'state-dir': { type: 'string', value: 'DIR', help: 'checkpoint every round there; restarted with the same dir, the coordinator resumes the run' },
  'keep-checkpoints': { type: 'string', value: 'K', help: 'checkpoints kept in --state-dir', default: String(c.keepCheckpoints) },
  'admin-host': { type: 'string', value: 'ADDR', help: 'address of the Admin service (operators: pfedlora rounds/clients)', default: c.adminHost },
  'admin-port': { type: 'string', value: 'PORT', help: "Admin service port (0: any free port, logged; 'off': no Admin service)", default: String(c.adminPort) },
  idle: { type: 'boolean', help: "start with no run and wait for 'pfedlora rounds start' (ignored when --state-dir holds a checkpoint)" },
  'run-id': { type: 'string', value: 'ID', help: 'name of the run (generated by default)' },
  ...COORDINATOR_TLS_FLAGS,
  ...METRICS_FLAGS,
  ...LOG_FLAG,
  ...HELP_FLAG,
};

export const COORDINATOR_HELP = helpText(
  'pfedlora coordinator [options]',
  'Runs the coordinator: client daemons dial in (pfedlora client), each round it streams the global adapter\nto the sampled clients and folds their adapter deltas into the next one. Logs are JSON lines on stdout.\nExits 0 when the run has finished all its rounds, or on SIGTERM/SIGINT.\nTransport: --tls-cert/--tls-key/--tls-ca (files from "pfedlora certs init") for mutual TLS, or an explicit --insecure\nfor plaintext; one of the two is required (docs/security.md).\nEnvironment: PFEDLORA_CLIENT_CREDENTIAL, if set, is the credential every client must present;\nPFEDLORA_ADMIN_TOKEN, if set, is the token operators must present to the Admin service.',
  COORDINATOR_FLAGS,
);

const seconds = (flags: ParsedFlags, name: string, fallbackMs: number) =>
  Math.round(1000 * floatFlag(flags, name, fallbackMs / 1000, (n) => n > 0, 'a number of seconds > 0'));

export function coordinatorConfigFromFlags(flags: ParsedFlags): CoordinatorConfig {
  const dataset = choiceFlag(flags, 'dataset', DATASET_NAMES, 'fashion-mnist');
  const minClients = intFlag(flags, 'min-clients', c.minClients, 1);
  const waitClients = intFlag(flags, 'wait-clients', minClients, 1);
  // A first round waiting for fewer clients than a round needs to close could only time out and retry.
  if (waitClients < minClients) {
    const min = (ref: FlagRef) => (flags['min-clients'] === undefined ? `the default ${ref('min-clients', minClients)}` : ref('min-clients', minClients));
    throw new FlagError('wait-clients', (ref) => `${waitClients} is below ${min(ref)}: a round needs ${minClients} reports, so wait for at least that many clients (or lower the minimum)`, { related: ['min-clients'] });
  }
  const stateDir = stringFlag(flags, 'state-dir');
  const runId = stringFlag(flags, 'run-id');
  const credential = process.env['PFEDLORA_CLIENT_CREDENTIAL'];
  const adminToken = process.env['PFEDLORA_ADMIN_TOKEN'];
  const adminPortText = stringFlag(flags, 'admin-port');
  const config: CoordinatorConfig = {
    ...c,
    ...trainingFlags(flags),
    host: stringFlag(flags, 'host', c.host),
    port: intFlag(flags, 'port', c.port, 0, 65535),
    rounds: intFlag(flags, 'rounds', c.rounds, RUN_FIELDS.rounds.min, RUN_FIELDS.rounds.max),
    minClients,
    waitClients,
    participation: floatFlag(flags, 'participation', c.participation, (n) => n > 0 && n <= 1, 'a fraction in (0, 1]'),
    roundTimeoutMs: seconds(flags, 'round-timeout', c.roundTimeoutMs),
    clientTimeoutMs: seconds(flags, 'client-timeout', c.clientTimeoutMs),
    disconnectGraceMs: Math.round(1000 * floatFlag(flags, 'disconnect-grace', c.disconnectGraceMs / 1000, (n) => n >= 0, 'a number of seconds >= 0')),
    heartbeatIntervalMs: seconds(flags, 'heartbeat-interval', c.heartbeatIntervalMs),
    chunkSize: intFlag(flags, 'chunk-size', c.chunkSize, 1024, 64 * 1024 * 1024),
    coordinatorThreads: intFlag(flags, 'coordinator-threads', c.coordinatorThreads, 0, 64),
    contract: contractFlags(flags, dataset),
    ...(stateDir === undefined ? {} : { stateDir }),
    ...(runId === undefined ? {} : { runId }),
    ...(credential ? { clientCredential: credential } : {}),
    keepCheckpoints: intFlag(flags, 'keep-checkpoints', c.keepCheckpoints, 1),
    aggregation: choiceFlag(flags, 'aggregation', AGGREGATION_RULES, c.aggregation),
    trimFraction: floatFlag(flags, 'trim', c.trimFraction, (n) => n >= 0 && n < 0.5, 'a fraction in [0, 0.5)'),
    ...(flags['delta-clip-norm'] === undefined ? {} : { deltaClipNorm: floatFlag(flags, 'delta-clip-norm', 1, (n) => n > 0, 'a number > 0') }),
    ...(flags['dp-noise-multiplier'] === undefined ? {} : { dpNoiseMultiplier: floatFlag(flags, 'dp-noise-multiplier', 1, (n) => n > 0, 'a number > 0') }),
    dpDelta: floatFlag(flags, 'dp-delta', c.dpDelta, (n) => n > 0 && n < 1, 'a number in (0, 1)'),
    adminHost: stringFlag(flags, 'admin-host', c.adminHost),
    adminPort: adminPortText === 'off' ? undefined : intFlag(flags, 'admin-port', c.adminPort ?? 7071, 0, 65535),
    ...(adminToken ? { adminToken } : {}),
  };
  // Last, so a bad value of any other flag is reported first.
  const tls = coordinatorTlsFromFlags(flags);
  if (tls) return { ...config, tls };
  if (config.adminToken !== undefined && config.adminToken === config.clientCredential) {
    throw new UsageError('PFEDLORA_ADMIN_TOKEN must differ from PFEDLORA_CLIENT_CREDENTIAL');
  }
  if (config.clientTimeoutMs <= config.heartbeatIntervalMs) throw new UsageError('--client-timeout must be longer than --heartbeat-interval');
  if (config.dpNoiseMultiplier !== undefined && config.deltaClipNorm === undefined) throw new UsageError('--dp-noise-multiplier needs --delta-clip-norm (the noise is calibrated to it)');
  if (config.dpNoiseMultiplier !== undefined && config.aggregation !== 'mean') throw new UsageError('--dp-noise-multiplier works with --aggregation mean only');
  return config;
}

/** The contract's classes and input: the --dataset's, with --classes, --input-shape and --input-kind over it (d is --representation-dim). */
function contractFlags(flags: ParsedFlags, dataset: (typeof DATASET_NAMES)[number]): RunContract {
  const base = datasetContract(dataset);
  const classesText = stringFlag(flags, 'classes');
  const shapeText = stringFlag(flags, 'input-shape');
  const classNames = classesText === undefined ? base.classNames : classesText.split(',').map((n) => n.trim());
  if (classNames.length < 2 || classNames.some((n) => !n)) throw new FlagError('classes', `expects at least two comma-separated names, got "${classesText}"`);
  if (new Set(classNames).size !== classNames.length) throw new FlagError('classes', `names a class twice: "${classesText}"`);
  let inputShape = base.inputShape;
  try {
    if (shapeText !== undefined) inputShape = parseInputShape(shapeText);
  } catch (error) {
    throw new FlagError('input-shape', (error as Error).message, { colon: true });
  }
  const kindText = stringFlag(flags, 'input-kind');
  const declared = kindText ?? (isTextDataset(dataset) ? 'text' : undefined);
  try {
    return { inputShape, inputKind: inputKindOf(inputShape, declared), classNames };
  } catch (error) {
    throw new FlagError('input-kind', (error as Error).message, { colon: true });
  }
}

/** Resolves on the first of the given signals. */
export function onceSignalled(signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals) => {
      for (const s of signals) process.off(s, handler);
      resolve(signal);
    };
    for (const s of signals) process.on(s, handler);
  });
}

/** Everything the coordinator command reads from its flags, in one pass (so a config file's values are all checked). */
export function coordinatorSettingsFromFlags(flags: ParsedFlags) {
  return { config: coordinatorConfigFromFlags(flags), metricsAddress: metricsAddressFromFlags(flags), logLevel: logLevelFlag(flags) };
}

export async function coordinator(argv: readonly string[]): Promise<number> {
  const options = parseWithConfig(argv, COORDINATOR_FLAGS, 'coordinator');
  const { flags } = options;
  if (boolFlag(flags, 'help')) {
    process.stdout.write(COORDINATOR_HELP);
    return 0;
  }
  const { config, metricsAddress, logLevel } = withFileErrors(options, coordinatorSettingsFromFlags);
  const log = createLogger({ service: 'coordinator', level: logLevel });
  const running = await startCoordinator(config, log, { idle: boolFlag(flags, 'idle') });
  const metrics = await serveCoordinatorMetrics(metricsAddress, running, log);
  // A run that ends (finished or aborted) ends the process, unless it was started idle for an operator.
  const finished = boolFlag(flags, 'idle')
    ? new Promise<string>(() => {})
    : new Promise<string>((resolve) => {
        if (['finished', 'aborted'].includes(running.coordinator.status().phase)) resolve('finished');
        running.coordinator.once('finished', () => resolve('finished'));
      });
  const outcome = await Promise.race([finished, onceSignalled()]);
  if (outcome !== 'finished') log.info('shutting down', { signal: outcome });
  // A client away at the end (link down, backing off) hears it when it rejoins; bounded by the client timeout.
  else await Promise.race([running.coordinator.endHeard(), onceSignalled()]);
  // Let clients read the end of the run before the streams close.
  await running.shutdown(outcome === 'finished' ? 2_000 : 1_000);
  await metrics?.close();
  return 0;
}
