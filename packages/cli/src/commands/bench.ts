/** `pfedlora bench`: the benchmarks' dispatcher, and `bench train`'s flags and table (@pfedlora/bench runs it). */
import { basename, dirname } from 'node:path';
import { runTrainBench } from '@pfedlora/bench';
import { CNN_KINDS, DEFAULT_MAX_TOKENS, DEFAULT_PYTHON, MAX_MAX_TOKENS, parseInputShape, parseModelKind, readLayersArtifacts, TRANSFORMER_KINDS, type BackendName, type InputShape } from '@pfedlora/ml';
import { boolFlag, helpText, intFlag, parseFlags, stringFlag, type FlagSpecs } from '../args';
import { UsageError } from '../errors';
import { table } from '../format';

const DEFAULT_MODELS = [...CNN_KINDS, ...TRANSFORMER_KINDS].join(',');

const TRAIN_FLAGS: FlagSpecs = {
  models: { type: 'string', value: 'LIST', help: 'zoo models to time (cnn1..cnn5, mlp1..mlp3, tfm1..tfm4)', default: DEFAULT_MODELS },
  inputs: { type: 'string', value: 'LIST', help: 'input shapes HxWxC of the CNNs and MLPs', default: '28x28x1,32x32x3' },
  tokens: { type: 'string', value: 'N', help: "the transformers' sequence length in byte tokens (text data's --max-tokens default)", default: String(DEFAULT_MAX_TOKENS) },
  'model-file': { type: 'string', value: 'PATH', help: "also time a TensorFlow.js model.json (on its own input shape), beside the zoo models; e.g. the zoo's CNN-1 written by scripts/make-cnn1-model-json.js" },
  'representation-layer': { type: 'string', value: 'NAME', help: 'with --model-file: the layer whose output is h' },
  batches: { type: 'string', value: 'LIST', help: 'batch sizes', default: '64' },
  backends: { type: 'string', value: 'LIST', help: 'backends to time; the first is the reference of the ratio', default: 'wasm,cpu' },
  steps: { type: 'string', value: 'N', help: 'timed steps per case on fast backends', default: '20' },
  'cpu-steps': { type: 'string', value: 'N', help: 'timed steps per case on the pure-JS cpu backend (slow)', default: '1' },
  threads: { type: 'string', value: 'LIST', help: 'threads per client (data-parallel); the cpu backend is timed on 1 only', default: '1' },
  python: { type: 'string', value: 'PATH', help: "python3 with torch for the PyTorch CPU reference (CNN-1 and tfm1..tfm4, same batches, inputs and threads); 'none' skips it", default: DEFAULT_PYTHON },
  json: { type: 'boolean', help: 'print one JSON object' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

function parseInput(text: string): InputShape {
  try {
    return parseInputShape(text);
  } catch (error) {
    throw new UsageError(`--inputs: ${(error as Error).message}`);
  }
}

function throughput(r: { readonly samplesPerSec: number; readonly tokensPerSec?: number }): string {
  return `${r.samplesPerSec.toFixed(1)} samples/s${r.tokensPerSec === undefined ? '' : `, ${r.tokensPerSec.toFixed(0)} tokens/s`}`;
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
  const models = list(stringFlag(flags, 'models', DEFAULT_MODELS)).map(parseModelKind);
  const tokens = intFlag(flags, 'tokens', DEFAULT_MAX_TOKENS, 1, MAX_MAX_TOKENS);
  const modelFile = stringFlag(flags, 'model-file');
  const layer = stringFlag(flags, 'representation-layer');
  const artifacts = modelFile === undefined ? undefined : await readLayersArtifacts(modelFile, layer === undefined ? {} : { representationLayer: layer });
  const inputs = list(stringFlag(flags, 'inputs', '28x28x1,32x32x3')).map(parseInput);
  const batches = list(stringFlag(flags, 'batches', '64')).map((b) => {
    const n = Number(b);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--batches expects positive integers, got "${b}"`);
    return n;
  });
  const backends = list(stringFlag(flags, 'backends', 'wasm,cpu')) as BackendName[];
  const steps = intFlag(flags, 'steps', 20, 1);
  const cpuSteps = intFlag(flags, 'cpu-steps', 1, 1);
  const threads = list(stringFlag(flags, 'threads', '1')).map((t) => {
    const n = Number(t);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--threads expects positive integers, got "${t}"`);
    return n;
  });
  const python = stringFlag(flags, 'python', DEFAULT_PYTHON);
  const json = boolFlag(flags, 'json');
  const report = await runTrainBench({
    threads,
    ...(python === 'none' ? {} : { python }),
    models,
    inputs,
    tokens,
    batches,
    backends,
    steps,
    cpuSteps,
    ...(modelFile === undefined || artifacts === undefined
      ? {}
      : { modelFile: { label: `${basename(dirname(modelFile))}/${basename(modelFile)}`, artifacts, ...(layer === undefined ? {} : { representationLayer: layer }) } }),
    ...(json
      ? {}
      : {
          onResult: (r) => process.stderr.write(`${r.backend} ${r.model} ${r.input} batch ${r.batch} threads ${r.threads}: ${throughput(r)}\n`),
          onPyTorch: (t) =>
            process.stderr.write(t.unavailable ? `pytorch: not run (${t.unavailable})\n` : t.results.map((r) => `pytorch ${t.torch} ${r.model} ${r.input} batch ${r.batch} threads ${r.threads}: ${throughput(r)}\n`).join('')),
        }),
  });
  const { results, ratios, fileVsZoo, pytorch } = report;
  const reference = backends[backends.length - 1]!;
  if (json) {
    process.stdout.write(JSON.stringify(report) + '\n');
    return 0;
  }
  process.stdout.write(
    table(
      ['model', 'input', 'batch', 'backend', 'threads', 'samples/s', 'tokens/s', `x ${reference}`, 'PyTorch samples/s', 'x PyTorch'],
      results.map((r) => {
        const ratio = ratios.find((x) => x.model === r.model && x.input === r.input && x.batch === r.batch && x.backend === r.backend && x.threads === r.threads);
        const torch = pytorch.ratios.find((x) => x.model === r.model && x.input === r.input && x.batch === r.batch && x.threads === r.threads && x.backend === r.backend);
        const tokensPerSec = r.tokensPerSec === undefined ? '' : r.tokensPerSec.toFixed(0);
        return [r.model, r.input, String(r.batch), r.backend, String(r.threads), r.samplesPerSec.toFixed(1), tokensPerSec, ratio ? ratio.ratio.toFixed(1) : '', torch ? torch.pytorchSamplesPerSec.toFixed(1) : '', torch ? torch.ratio.toFixed(2) : ''];
      }),
    ) + '\n',
  );
  if (pytorch.unavailable !== undefined && python !== 'none') process.stdout.write(`PyTorch reference: ${pytorch.unavailable}\n`);
  if (fileVsZoo.length) {
    process.stdout.write(
      '\n' + table(['model file', 'vs zoo', 'input', 'batch', 'backend', 'samples/s ratio'], fileVsZoo.map((f) => [f.file, f.zoo, f.input, String(f.batch), f.backend, f.ratio.toFixed(2)])) + '\n',
    );
  }
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
