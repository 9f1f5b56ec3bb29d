/** `pfedlora client`: the long-running client daemon. */
import { hostname } from 'node:os';
import { certificateIdentity, ClientDaemon, ClientRefusedError, DEFAULT_CLIENT, isCoordinatorAddress, type ClientDaemonConfig, type ClientModelSource } from '@pfedlora/client';
import { defaultModelKind, isTextSource, simulationDataSource, zooSource, type DataSource } from '@pfedlora/ml';
import { CLIENT_ID_PATTERN } from '@pfedlora/protocol';
import { createLogger } from '@pfedlora/telemetry';
import { boolFlag, floatFlag, helpText, intFlag, stringFlag, type FlagSpecs, type ParsedFlags } from '../args';
import { CONFIG_FLAG, parseWithConfig, withFileErrors } from '../config-file';
import { CliError, EXIT, FlagError, UsageError } from '../errors';
import { onceSignalled } from './coordinator';
import { BACKEND_FLAG, backendFlag, DATA_FLAGS, dataFlags, HELP_FLAG, LOG_FLAG, logLevelFlag, THREADS_FLAG, threadsFlag } from './shared';
import { METRICS_FLAGS, metricsAddressFromFlags, serveClientMetrics } from './metrics-flags';
import { CLIENT_TLS_FLAGS, clientTlsFromFlags } from './tls-flags';

export const CLIENT_FLAGS: FlagSpecs = {
  ...CONFIG_FLAG,
  coordinator: { type: 'string', value: 'HOST:PORT', help: 'coordinator address (env PFEDLORA_COORDINATOR)', default: DEFAULT_CLIENT.coordinator },
  'client-id': { type: 'string', value: 'ID', help: 'stable id of this client (default: hostname)' },
  model: {
    type: 'string',
    value: 'KIND',
    help: 'built-in private model cnn1..cnn5 (images), mlp1..mlp3 (tables), tfm1..tfm4 (text) (default: CNN-((k mod 5)+1) for shard k, else cnn1; mlp for --data-format csv, tfm for text)',
    excludes: ['model-file', 'representation-layer'],
  },
  'model-file': { type: 'string', value: 'PATH', help: 'a TensorFlow.js Layers model.json (with its weight files) as the private model (docs/models.md)', excludes: ['model'] },
  'representation-layer': { type: 'string', value: 'NAME', help: 'with --model-file: the layer whose output is h (default: the input of the last Dense layer)' },
  ...DATA_FLAGS,
  shard: { type: 'string', value: 'K/N', help: 'train on shard K of N of the partitioned dataset (local clusters); whole dataset if omitted' },
  'partition-seed': { type: 'string', value: 'S', help: 'seed of the partition shared by all shards', default: '1' },
  ...BACKEND_FLAG,
  ...THREADS_FLAG,
  'silence-timeout': { type: 'string', value: 'SEC', help: 'reconnect when the coordinator sends nothing (not even a ping) this long', default: String(DEFAULT_CLIENT.silenceTimeoutMs / 1000) },
  'give-up-after': { type: 'string', value: 'SEC', help: 'exit 1 after this long without reaching the coordinator (0: never)', default: '0' },
  'state-dir': { type: 'string', value: 'DIR', help: 'save the private model and optimizer state there every round; a restart resumes from it' },
  'dump-updates': { type: 'string', value: 'DIR', help: 'also write each uploaded update there (audit)' },
  ...CLIENT_TLS_FLAGS,
  ...METRICS_FLAGS,
  ...LOG_FLAG,
  ...HELP_FLAG,
};

export const CLIENT_HELP = helpText(
  'pfedlora client --coordinator HOST:PORT [options]',
  'Runs a client daemon: dials the coordinator, trains its private model and the shared adapter on its own\ndata each round it is sampled for, and uploads only the adapter delta. Reconnects with backoff when the\ncoordinator is away. Exits 0 when the run finishes, or on SIGTERM/SIGINT. Logs are JSON lines on stdout.\nTransport: --tls-cert/--tls-key/--tls-ca (from "pfedlora certs issue") for mutual TLS, or an explicit --insecure for\nplaintext; one of the two is required. With TLS and no --client-id, the id is the one the certificate names.\nEnvironment: PFEDLORA_COORDINATOR, PFEDLORA_CLIENT_CREDENTIAL.',
  CLIENT_FLAGS,
);

function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) throw new FlagError('shard', `expects K/N with 0 <= K < N, got "${text}"`);
  return { index: Number(m[1]), count: Number(m[2]) };
}

/**
 * --model, or --model-file with --representation-layer. A built-in model on
 * text with --max-tokens is built for that sequence length: it is this
 * client's own (only h and the adapter are shared).
 */
function clientModelFlags(flags: ParsedFlags, source: DataSource, shardIndex: number): ClientModelSource {
  const modelText = stringFlag(flags, 'model');
  const file = stringFlag(flags, 'model-file');
  const layer = stringFlag(flags, 'representation-layer');
  if (file !== undefined && modelText !== undefined) throw new UsageError('give --model or --model-file, not both');
  if (layer !== undefined && file === undefined) throw new UsageError('--representation-layer needs --model-file');
  if (file !== undefined) return { kind: 'layers-file', file, ...(layer === undefined ? {} : { representationLayer: layer }) };
  const text = isTextSource(source);
  const maxTokens = (source.format === 'jsonl' || source.format === 'benchmark') && text ? source.maxTokens : undefined;
  try {
    return zooSource(modelText ?? defaultModelKind(shardIndex, source.format === 'csv' ? [1] : [28, 28, 1], text), maxTokens === undefined ? undefined : [maxTokens]);
  } catch (error) {
    throw new FlagError('model', (error as Error).message, { colon: true });
  }
}

/** The client id a certificate names: with TLS the identity comes from the certificate, so --client-id may be left out. */
function certifiedClientId(certFile: string): string {
  let identity;
  try {
    identity = certificateIdentity(certFile);
  } catch (error) {
    throw new UsageError(`--tls-cert: ${(error as Error).message}`);
  }
  if (identity.kind !== 'client') throw new UsageError(`--tls-cert ${certFile} is not a client certificate (${identity.kind === 'admin' ? 'it is the operator certificate' : identity.reason}); pass the client.pem 'pfedlora certs issue' wrote`);
  return identity.clientId;
}

export function clientConfigFromFlags(flags: ParsedFlags): ClientDaemonConfig {
  const data = dataFlags(flags);
  const shardText = stringFlag(flags, 'shard');
  const shard = shardText === undefined ? undefined : parseShard(shardText);
  const tls = clientTlsFromFlags(flags);
  const clientId = stringFlag(flags, 'client-id') ?? (tls ? certifiedClientId(tls.certFile) : undefined) ?? (shard ? `client-${shard.index}` : hostname());
  if (!CLIENT_ID_PATTERN.test(clientId)) throw new FlagError('client-id', `"${clientId}" must be 1-128 letters, digits, '.', '_' or '-'`);
  const dataSource = simulationDataSource(data);
  const model = clientModelFlags(flags, dataSource, shard?.index ?? 0);
  const coordinatorAddress = stringFlag(flags, 'coordinator') ?? process.env['PFEDLORA_COORDINATOR'] ?? DEFAULT_CLIENT.coordinator;
  if (!isCoordinatorAddress(coordinatorAddress)) {
    throw new FlagError('coordinator', `expects HOST:PORT, got "${coordinatorAddress}"`);
  }
  // Read whether or not --shard is given, so a bad value is never passed over in silence.
  const partitionSeed = intFlag(flags, 'partition-seed', 1, 0, 2 ** 32 - 1);
  const dump = stringFlag(flags, 'dump-updates');
  const stateDir = stringFlag(flags, 'state-dir');
  const credential = process.env['PFEDLORA_CLIENT_CREDENTIAL'];
  return {
    ...DEFAULT_CLIENT,
    coordinator: coordinatorAddress,
    clientId,
    model,
    data: dataSource,
    maxTrainSamples: data.maxTrainSamples,
    ...(shard
      ? { shard: { ...shard, partition: data.partition, classesPerClient: data.classesPerClient, dirichletAlpha: data.dirichletAlpha, seed: partitionSeed } }
      : {}),
    backend: backendFlag(flags),
    threads: threadsFlag(flags),
    silenceTimeoutMs: Math.round(1000 * floatFlag(flags, 'silence-timeout', DEFAULT_CLIENT.silenceTimeoutMs / 1000, (n) => n > 0, 'a number of seconds > 0')),
    giveUpAfterMs: Math.round(1000 * floatFlag(flags, 'give-up-after', 0, (n) => n >= 0, 'a number of seconds >= 0')),
    ...(dump === undefined ? {} : { dumpUpdatesDir: dump }),
    ...(stateDir === undefined ? {} : { stateDir }),
    ...(credential ? { credential } : {}),
    ...(tls ? { tls } : {}),
  };
}

/** Everything the client command reads from its flags, in one pass (so a config file's values are all checked). */
export function clientSettingsFromFlags(flags: ParsedFlags) {
  return { config: clientConfigFromFlags(flags), metricsAddress: metricsAddressFromFlags(flags), logLevel: logLevelFlag(flags) };
}

export async function client(argv: readonly string[]): Promise<number> {
  const options = parseWithConfig(argv, CLIENT_FLAGS, 'client');
  const { flags } = options;
  if (boolFlag(flags, 'help')) {
    process.stdout.write(CLIENT_HELP);
    return 0;
  }
  const { config, metricsAddress, logLevel } = withFileErrors(options, clientSettingsFromFlags);
  const log = createLogger({ service: 'client', level: logLevel });
  const metrics = await serveClientMetrics(metricsAddress, config.clientId, log);
  const daemon = new ClientDaemon(config, log, metrics?.sink);
  void onceSignalled().then((signal) => {
    log.info('shutting down', { signal, clientId: config.clientId });
    daemon.shutdown();
  });
  // The endpoint closes however run() ends, so it never keeps a failed daemon's process alive.
  const result = await daemon
    .run()
    .catch((error: unknown) => {
      // Refused (model or data outside the run's contract, credential, eviction): exit 4 with the reason.
      if (error instanceof ClientRefusedError) throw new CliError(error.message, EXIT.refused);
      throw error;
    })
    .finally(() => metrics?.close());
  log.info('client exiting', { clientId: config.clientId, ...result });
  return result.reason === 'gave-up' ? 1 : 0;
}
