/**
 * FedGH's server half: clients upload per-class prototypes; the server trains
 * one generalized head (d -> C linear) on them, from the previous global head,
 * in float64 JavaScript (the coordinator has no training engine, and the
 * result must not depend on the backend), and sends it back. It buffers the
 * round's (prototype, class) pairs until result(); see index.ts.
 */
import { AggregationError, classCountsCheck, classStatsSpec, createRng, deriveSeed, shuffleInPlace, type NamedTensor } from '@pfedlora/core';
import type { GlobalAggregator, ServerAlgorithm } from '../algorithm';
import { copyTensors, foldingAggregator, headSpec, initialHead } from '../common/server';

export interface FedGhOptions {
  /** Epochs over the round's prototype pairs on the server (HtFLlib's --server_epochs, default 100). */
  readonly serverEpochs: number;
  /** Server SGD learning rate (HtFLlib's --server_learning_rate, default 0.01). */
  readonly serverLearningRate: number;
  /** Pairs per server SGD step (HtFLlib uses its client batch size, default 10). */
  readonly serverBatchSize: number;
}

export const FEDGH_DEFAULTS: FedGhOptions = { serverEpochs: 100, serverLearningRate: 0.01, serverBatchSize: 10 };

/** Upload prefix: `protos/mean` [C, 500], `protos/count` [C]. */
export const FEDGH_PREFIX = 'protos';

/** One server training pair: a client's prototype of class `label`. */
export interface PrototypePair {
  readonly label: number;
  readonly proto: Float32Array;
}

function comparePairs(a: PrototypePair, b: PrototypePair): number {
  if (a.label !== b.label) return a.label - b.label;
  for (let j = 0; j < a.proto.length; j++) if (a.proto[j] !== b.proto[j]) return a.proto[j]! - b.proto[j]!;
  return 0;
}

/**
 * The server step's math: trains the linear head (kernel [500, C], bias [C])
 * on (prototype, class) pairs with softmax cross-entropy and plain SGD, in
 * float64. Returns the new head as float32 tensors under the head names.
 */
export function trainGeneralizedHead(start: readonly NamedTensor[], pairs: readonly PrototypePair[], options: FedGhOptions): NamedTensor[] {
  const [kernel, bias] = start as [NamedTensor, NamedTensor];
  const C = bias.values.length;
  const D = kernel.values.length / C;
  const W = Float64Array.from(kernel.values);
  const b = Float64Array.from(bias.values);
  const sorted = [...pairs].sort(comparePairs);
  const rng = createRng(deriveSeed(0x4647, 'fedgh-server', sorted.length));
  const order = Int32Array.from(sorted.keys());
  const logits = new Float64Array(C);
  const gW = new Float64Array(D * C);
  const gb = new Float64Array(C);
  const lr = options.serverLearningRate;
  for (let epoch = 0; epoch < options.serverEpochs; epoch++) {
    shuffleInPlace(rng, order);
    for (let start = 0; start < order.length; start += options.serverBatchSize) {
      const end = Math.min(order.length, start + options.serverBatchSize);
      const n = end - start;
      gW.fill(0);
      gb.fill(0);
      for (let i = start; i < end; i++) {
        const { label, proto } = sorted[order[i]!]!;
        for (let c = 0; c < C; c++) logits[c] = b[c]!;
        for (let j = 0; j < D; j++) {
          const h = proto[j]!;
          if (h === 0) continue;
          for (let c = 0; c < C; c++) logits[c]! += h * W[j * C + c]!;
        }
        let max = -Infinity;
        for (let c = 0; c < C; c++) max = Math.max(max, logits[c]!);
        let z = 0;
        for (let c = 0; c < C; c++) z += (logits[c] = Math.exp(logits[c]! - max));
        // d(mean CE)/d logits = (softmax - onehot) / n
        for (let c = 0; c < C; c++) logits[c] = (logits[c]! / z - (c === label ? 1 : 0)) / n;
        for (let c = 0; c < C; c++) gb[c]! += logits[c]!;
        for (let j = 0; j < D; j++) {
          const h = proto[j]!;
          if (h === 0) continue;
          for (let c = 0; c < C; c++) gW[j * C + c]! += h * logits[c]!;
        }
      }
      for (let k = 0; k < W.length; k++) W[k]! -= lr * gW[k]!;
      for (let c = 0; c < C; c++) b[c]! -= lr * gb[c]!;
    }
  }
  const out = [
    { name: kernel.name, shape: [...kernel.shape], values: Float32Array.from(W) },
    { name: bias.name, shape: [...bias.shape], values: Float32Array.from(b) },
  ];
  for (const t of out) {
    if (t.values.some((v) => !Number.isFinite(v))) throw new AggregationError(`fedgh: server head training diverged (non-finite ${t.name}); lower serverLearningRate`);
  }
  return out;
}

/** FedGH's server half with explicit hyper-parameters (the registry uses FEDGH_DEFAULTS). */
export function createFedGhServer(overrides: Partial<FedGhOptions> = {}): ServerAlgorithm {
  const options: FedGhOptions = { ...FEDGH_DEFAULTS, ...overrides };
  if (!(Number.isInteger(options.serverEpochs) && options.serverEpochs >= 0)) throw new Error(`fedgh: serverEpochs must be an integer >= 0, got ${options.serverEpochs}`);
  if (!(Number.isInteger(options.serverBatchSize) && options.serverBatchSize >= 1)) throw new Error(`fedgh: serverBatchSize must be an integer >= 1, got ${options.serverBatchSize}`);
  if (!(options.serverLearningRate > 0)) throw new Error(`fedgh: serverLearningRate must be > 0, got ${options.serverLearningRate}`);
  return {
    name: 'fedgh',
    summary: 'generalized global head: clients upload per-class prototypes (C x 500 + counts), the server trains a shared 500 -> C head on them',
    globalSpec: (setup) => headSpec(setup.numClasses, setup.representationDim),
    updateSpec: (setup) => classStatsSpec(FEDGH_PREFIX, setup.numClasses, setup.representationDim),
    initialGlobal: (setup, seed) => initialHead(setup.numClasses, setup.representationDim, seed),
    createAggregator(global, setup): GlobalAggregator {
      const C = setup.numClasses;
      const D = setup.representationDim;
      const pairs: PrototypePair[] = [];
      return foldingAggregator(
        classStatsSpec(FEDGH_PREFIX, C, D),
        (update) => {
          const [mean, count] = update as [NamedTensor, NamedTensor];
          for (let c = 0; c < C; c++) if (count.values[c]! > 0) pairs.push({ label: c, proto: mean.values.slice(c * D, (c + 1) * D) });
        },
        (clients) => (clients === 0 || pairs.length === 0 ? copyTensors(global) : trainGeneralizedHead(global, pairs, options)),
        classCountsCheck(FEDGH_PREFIX),
      );
    },
  };
}

export const fedghServer: ServerAlgorithm = createFedGhServer();
