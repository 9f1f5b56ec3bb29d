/** `pfedlora bench train`: training throughput per model, input, batch and backend. */
import { CNN_KINDS, benchmarkTrainCase, parseInputShape, parseModelKind, zooBenchCase, type BackendName, type InputShape, type TrainBenchResult } from '@pfedlora/ml';
import { boolFlag, helpText, intFlag, parseFlags, stringFlag, type FlagSpecs } from '../args';
import { UsageError } from '../errors';
import { table } from '../format';

const TRAIN_FLAGS: FlagSpecs = {
  models: { type: 'string', value: 'LIST', help: 'zoo models to time (cnn1..cnn5, mlp1..mlp3)', default: CNN_KINDS.join(',') },
  inputs: { type: 'string', value: 'LIST', help: 'input shapes HxWxC', default: '28x28x1,32x32x3' },
  batches: { type: 'string', value: 'LIST', help: 'batch sizes', default: '64' },
  backends: { type: 'string', value: 'LIST', help: 'backends to time; the first is the reference of the ratio', default: 'wasm,cpu' },
  steps: { type: 'string', value: 'N', help: 'timed steps per case on fast backends', default: '20' },
  'cpu-steps': { type: 'string', value: 'N', help: 'timed steps per case on the pure-JS cpu backend (slow)', default: '1' },
  json: { type: 'boolean', help: 'print one JSON object' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export interface TrainBenchReport {
  readonly results: TrainBenchResult[];
  /** samples/s of each backend over the last listed backend, per model/input/batch. */
  readonly ratios: Array<{ model: string; input: string; batch: number; backend: string; over: string; ratio: number }>;
}

function parseInput(text: string): InputShape {
  try {
    return parseInputShape(text);
  } catch (error) {
    throw new UsageError(`--inputs: ${(error as Error).message}`);
  }
}

function list(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

export async function benchTrain(argv: readonly string[]): Promise<number> {
  const { flags } = parseFlags(argv, TRAIN_FLAGS, 'bench train');
  if (boolFlag(flags, 'help')) {
    process.stdout.write(
      helpText('pfedlora bench train [options]', 'Times client training steps (forward, backward, clipped SGD) per model, input shape, batch and backend,\nand prints the ratio between backends measured in the same run.', TRAIN_FLAGS),
    );
    return 0;
  }
  const models = list(stringFlag(flags, 'models', CNN_KINDS.join(','))).map(parseModelKind);
  const inputs = list(stringFlag(flags, 'inputs', '28x28x1,32x32x3')).map(parseInput);
  const batches = list(stringFlag(flags, 'batches', '64')).map((b) => {
    const n = Number(b);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--batches expects positive integers, got "${b}"`);
    return n;
  });
  const backends = list(stringFlag(flags, 'backends', 'wasm,cpu')) as BackendName[];
  const steps = intFlag(flags, 'steps', 20, 1);
  const cpuSteps = intFlag(flags, 'cpu-steps', 1, 1);
  const json = boolFlag(flags, 'json');
  const results: TrainBenchResult[] = [];
  for (const backend of backends) {
    for (const model of models) {
      for (const input of inputs) {
        for (const batch of batches) {
          const r = await benchmarkTrainCase(zooBenchCase(model, input, { batch, backend, steps: backend === 'cpu' ? cpuSteps : steps }));
          results.push(r);
          if (!json) process.stderr.write(`${r.backend} ${r.model} ${r.input} batch ${r.batch}: ${r.samplesPerSec.toFixed(1)} samples/s\n`);
        }
      }
    }
  }
  const reference = backends[backends.length - 1]!;
  const ratios: TrainBenchReport['ratios'] = [];
  for (const r of results) {
    if (r.backend === reference) continue;
    const base = results.find((b) => b.backend === reference && b.model === r.model && b.input === r.input && b.batch === r.batch);
    if (base) ratios.push({ model: r.model, input: r.input, batch: r.batch, backend: r.backend, over: reference, ratio: r.samplesPerSec / base.samplesPerSec });
  }
  const report: TrainBenchReport = { results, ratios };
  if (json) {
    process.stdout.write(JSON.stringify(report) + '\n');
    return 0;
  }
  process.stdout.write(
    table(
      ['model', 'input', 'batch', 'backend', 'samples/s', `x ${reference}`],
      results.map((r) => {
        const ratio = ratios.find((x) => x.model === r.model && x.input === r.input && x.batch === r.batch && x.backend === r.backend);
        return [r.model, r.input, String(r.batch), r.backend, r.samplesPerSec.toFixed(1), ratio ? ratio.ratio.toFixed(1) : ''];
      }),
    ) + '\n',
  );
  return 0;
}

const SUBCOMMANDS: Record<string, (argv: readonly string[]) => Promise<number>> = {
  train: benchTrain,
  transport: async (argv) => (await import('./bench-federation')).benchTransport(argv),
  aggregate: async (argv) => (await import('./bench-federation')).benchAggregate(argv),
  overhead: async (argv) => (await import('./bench-federation')).benchOverhead(argv),
  memory: async (argv) => (await import('./bench-federation')).benchMemory(argv),
  load: async (argv) => (await import('./bench-federation')).benchLoad(argv),
};

export async function bench(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(
      'Usage: pfedlora bench <benchmark> [options]\n\n' +
        '  train      training throughput per model, input, batch and backend\n' +
        '  transport  coordinator broadcast and upload throughput against raw grpc-js\n' +
        '  aggregate  the aggregation step against a copy loop\n' +
        '  overhead   round overhead with N connected clients\n' +
        '  memory     coordinator peak memory in one round\n' +
        '  load       bounded load run: N clients x R rounds, RSS flat, no update lost or double-counted\n',
    );
    return sub === undefined ? 2 : 0;
  }
  const run = SUBCOMMANDS[sub];
  if (!run) throw new UsageError(`unknown benchmark "${sub}": expected ${Object.keys(SUBCOMMANDS).join(', ')}`);
  return run(rest);
}
