/**
 * The client-side pieces the model-heterogeneous baselines (lg-fedavg, fd,
 * fedproto, fml, fedkd, fedgh) share, on tfjs: a training loop that takes a
 * custom per-batch step, stop-gradient and distillation losses, per-class
 * statistics of a batch (summed on the client by core's ClassSums), the
 * FD/FedProto client step that regularises toward the global ones, loading
 * and reading the shared classifier head, nearest-prototype evaluation, and
 * a client's trainable copy of a shared zoo model (FML's meme, FedKD's mentee).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ClassSums, type NamedTensor, type Rng } from '@pfedlora/core';
import { sequentialBatches, shuffledBatches, type Batch, type SampleSet } from '../../batches';
import { reduceShardOutputs, shardGradients, shardOf, summedGradientCount, type BatchShard } from '../../parallel/data-parallel';
import { SgdMomentum, crossEntropy, type SgdConfig } from '../../optimizer';
import { createModelVariables, disposeModelVariables, initialParameters, parameterSpec, readVariables, type ModelSpec, type ModelVariables } from '../../zoo';
import type { FederationSetup } from '../algorithm';
import { EvaluationTally, PrivateModel, yieldToEventLoop, type Evaluation } from '../../private-model';
import type { PrivateClient } from '../private-client';
import { HEAD_BIAS, HEAD_KERNEL, sharedModelSpecOf } from './server';

// ---------------------------------------------------------------- training loop


/**
 * One step on a batch, run inside tf.tidy: it computes gradients (with
 * shardGradients, so that data-parallel replicas sum theirs) and applies its
 * optimizers itself, and returns [loss, ...extras]: the mean loss over
 * `batch` and per-sample totals. Tensors it creates inside the gradient
 * closure must be tf.keep()-ed to be returned (the gradient scope would
 * dispose them); the loop disposes whatever comes back.
 */
export type BatchStep = (x: tf.Tensor, y: tf.Tensor1D, batch: BatchShard) => tf.Tensor[];

/**
 * One epoch in a seeded batch order. `onBatch` receives the extras' values
 * (e.g. per-class sums of the batch's logits) over the whole batch. Returns
 * the sample-weighted mean of the step's loss.
 */
export async function runEpoch(
  data: SampleSet,
  model: PrivateModel,
  batchSize: number,
  rng: Rng,
  step: BatchStep,
  onBatch?: (extras: Float32Array[], batch: Batch) => void,
): Promise<number> {
  let lossSum = 0;
  for (const batch of shuffledBatches(data, batchSize, rng)) {
    const shard = shardOf(batch);
    const summed = summedGradientCount();
    const outputs = tf.tidy(() => step(model.input(shard.features, shard.size), tf.tensor1d(shard.labels, 'int32'), shard));
    if (shard.split && summedGradientCount() === summed) {
      tf.dispose(outputs);
      throw new Error('a training step on a batch split over replica threads must take its gradients with shardGradients (parallel/data-parallel.ts), or the replicas drift apart');
    }
    const values = outputs.map((t) => t.dataSync() as Float32Array);
    for (const t of outputs) t.dispose();
    const { loss, sums } = reduceShardOutputs(shard, values[0]![0]!, values.slice(1));
    lossSum += loss * batch.size;
    onBatch?.(sums, batch);
    await yieldToEventLoop();
  }
  return lossSum / Math.max(1, data.count);
}

/** Splits tf.variableGrads' gradients (keyed by tfjs variable name) between optimizers. */
export function gradsFor(grads: tf.NamedTensorMap, variables: readonly tf.Variable[]): tf.NamedTensorMap {
  const out: tf.NamedTensorMap = {};
  for (const v of variables) {
    const g = grads[v.name];
    if (g) out[v.name] = g;
  }
  return out;
}

// ---------------------------------------------------------------- losses

/**
 * Identity forward, zero gradient (torch's .detach()): a distillation target
 * computed in the same forward pass as the student must not be trained toward
 * the student. tfjs-core has no stopGradient op; customGrad makes one.
 */
export const stopGradient: <T extends tf.Tensor>(x: T) => T = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc) => {
  const input = x as tf.Tensor;
  return { value: tf.clone(input), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
}) as <T extends tf.Tensor>(x: T) => T;

/**
 * KL(softmax(target) || softmax(student)), summed over classes and averaged
 * over the batch (PyTorch's reduction='batchmean', the true KL). `target` must
 * already be detached when it comes from a model being trained.
 */
export function klDivergence(target: tf.Tensor2D, student: tf.Tensor2D): tf.Scalar {
  const logT = tf.logSoftmax(target);
  const logS = tf.logSoftmax(student);
  return tf.mean(tf.sum(tf.mul(tf.exp(logT), tf.sub(logT, logS)), 1)) as tf.Scalar;
}

// ---------------------------------------------------------------- per-class statistics

/** oneHot(labels)^T x rows: per-class sums of a batch's rows, [C, dim]. Call inside tf.tidy. */
export function batchClassSums(rows: tf.Tensor2D, labels: tf.Tensor1D, numClasses: number): tf.Tensor2D {
  return tf.matMul(tf.cast(tf.oneHot(labels, numClasses), 'float32'), rows, true, false);
}

/** 1 for each class some client reported (count > 0), else 0, as a float32 [C] tensor. */
export function knownClassMask(count: Float32Array): tf.Tensor1D {
  return tf.tensor1d(Array.from(count, (n) => (n > 0 ? 1 : 0)), 'float32');
}

/**
 * The regulariser of FD and FedProto: per sample, a penalty pulling a
 * per-sample statistic s_i (FD: the logits; FedProto: the representation h)
 * toward the global statistic of its class.
 */
export interface ClassStatRegulariser {
  /** Width of the statistic: C (logits) or d (h). */
  readonly dim: number;
  /** Weight of the regulariser next to the cross-entropy (0: cross-entropy alone). */
  readonly lambda: number;
  /** The batch's statistics [B, dim], from the private model. */
  statistic(x: tf.Tensor): tf.Tensor2D;
  /** The logits the cross-entropy uses, from the statistics. */
  logits(statistic: tf.Tensor2D): tf.Tensor2D;
  /** Per-sample penalty [B] of the statistics against their classes' global ones [B, dim]. */
  penalty(statistic: tf.Tensor2D, target: tf.Tensor2D): tf.Tensor1D;
  /** The penalty summed over the batch is divided by batch size x this (dim: a mean over elements, torch's MSELoss). */
  readonly penaltyDivisor: number;
}

/**
 * The client step of FD and FedProto: E epochs of SGD on the private model with
 *   loss = CE + lambda * sum_i [y_i known] penalty_i / (B * penaltyDivisor)
 * against the global `<prefix>/mean`, `<prefix>/count` payload, where "known"
 * means some client reported class y_i last round. Returns the last epoch's
 * loss and the per-class sums of the statistics of every epoch's forward
 * passes (all E epochs, as HtFLlib collects them), for the upload.
 */
export async function trainTowardClassStats(
  client: PrivateClient,
  global: readonly NamedTensor[],
  round: number,
  regulariser: ClassStatRegulariser,
): Promise<{ loss: number; sums: ClassSums }> {
  const { model } = client;
  const { dim, lambda, penaltyDivisor } = regulariser;
  const C = client.model.numClasses;
  const rng = client.batchOrder(round);
  const [mean, count] = global as [NamedTensor, NamedTensor];
  const anyKnown = count.values.some((n) => n > 0);
  const targets = tf.tensor2d(mean.values, [C, dim]);
  const known = knownClassMask(count.values);
  const sums = new ClassSums(C, dim);
  const step: BatchStep = (x, y, batch) => {
    let batchSums: tf.Tensor | undefined;
    const { value, grads } = shardGradients(batch, () => {
      const statistic = regulariser.statistic(x);
      batchSums = tf.keep(batchClassSums(statistic, y, C));
      const ce = crossEntropy(regulariser.logits(statistic), y);
      if (!anyKnown || lambda === 0) return ce;
      const penalty = regulariser.penalty(statistic, tf.gather(targets, y));
      const term = tf.div(tf.sum(tf.mul(tf.gather(known, y), penalty)), batch.size * penaltyDivisor);
      return tf.add(ce, tf.mul(term, lambda)) as tf.Scalar;
    }, model.variables);
    model.step(grads);
    return [value, batchSums!];
  };
  try {
    const loss = await client.localEpochs(rng, step, ([batchSums], batch) => sums.add(batchSums!, batch.labels));
    return { loss, sums };
  } finally {
    targets.dispose();
    known.dispose();
  }
}

/**
 * Replaces the private model's head (fc3) with a received one. Its momentum
 * restarts at zero (when the optimizer has momentum): the old buffers belong
 * to the head that was replaced.
 */
export function loadHead(model: PrivateModel, received: readonly NamedTensor[], hasMomentum: boolean): void {
  const [kernel, bias] = received as [NamedTensor, NamedTensor];
  const names = headDenseNames(model);
  model.loadParameters([
    { name: names.kernel, shape: kernel.shape, values: kernel.values },
    { name: names.bias, shape: bias.shape, values: bias.values },
    ...(hasMomentum
      ? [
          { name: `momentum/${names.kernel}`, shape: kernel.shape, values: new Float32Array(kernel.values.length) },
          { name: `momentum/${names.bias}`, shape: bias.shape, values: new Float32Array(bias.values.length) },
        ]
      : []),
  ]);
}

/**
 * Parameter names of the model's single dense head (zoo: fc3/kernel, fc3/bias).
 * Baselines that share the head need one; a deeper head is refused by name.
 */
export function headDenseNames(model: PrivateModel): { kernel: string; bias: string } {
  const dense = model.network.headDense;
  const nameOf = (v: tf.Variable | undefined) => [...model.network.parameters].find(([, p]) => p === v)?.[0];
  const kernel = nameOf(dense?.kernel);
  const bias = nameOf(dense?.bias);
  if (!kernel || !bias) throw new Error(`model ${model.descriptor.name} has no single dense head h -> C, which this algorithm shares`);
  return { kernel, bias };
}

/** The private model's head (fc3), under the shared names. */
export async function readHead(model: PrivateModel): Promise<NamedTensor[]> {
  const names = headDenseNames(model);
  const kernel = model.network.parameters.get(names.kernel)!;
  const bias = model.network.parameters.get(names.bias)!;
  return [
    { name: HEAD_KERNEL, shape: [...kernel.shape], values: (await kernel.data()) as Float32Array },
    { name: HEAD_BIAS, shape: [...bias.shape], values: (await bias.data()) as Float32Array },
  ];
}

// ---------------------------------------------------------------- evaluation

/** Evaluation batch size: large batches amortise per-op overhead. */
const EVAL_BATCH = 512;

/**
 * Per-class sums of the representation h over a whole set (one batched
 * forward pass through the extractor only, no head), for prototypes computed
 * after training (FedGH).
 */
export async function classRepresentationSums(model: PrivateModel, data: SampleSet, numClasses: number): Promise<ClassSums> {
  const sums = new ClassSums(numClasses, model.representationDim);
  for (const batch of sequentialBatches(data, EVAL_BATCH)) {
    const shard = shardOf(batch);
    const s = tf.tidy(() => batchClassSums(model.representation(model.input(shard.features, shard.size), 'eval'), tf.tensor1d(shard.labels, 'int32'), numClasses));
    sums.add(reduceShardOutputs(shard, 0, [s.dataSync() as Float32Array]).sums[0]!, batch.labels);
    s.dispose();
    await yieldToEventLoop();
  }
  return sums;
}

/**
 * Accuracy and macro-F1 of "nearest prototype" inference (FedProto): predict
 * the known class whose prototype is closest in Euclidean distance to h. Loss
 * is the model head's cross-entropy, the only loss the model itself defines.
 */
export async function evaluateNearestPrototype(model: PrivateModel, data: SampleSet, protos: Float32Array, known: readonly boolean[]): Promise<Evaluation> {
  const classes = known.length;
  const penalty = new Float32Array(classes).map((_, c) => (known[c] ? 0 : 1e30));
  const tally = new EvaluationTally(classes);
  const protoTensor = tf.tensor2d(protos, [classes, model.representationDim]);
  const penaltyTensor = tf.tensor1d(penalty);
  try {
    for (const batch of sequentialBatches(data, EVAL_BATCH)) {
      const shard = shardOf(batch);
      const [predicted, loss] = tf.tidy(() => {
        const x = model.input(shard.features, shard.size);
        const y = tf.tensor1d(shard.labels, 'int32');
        const h = model.representation(x, 'eval');
        // ||h - p||^2 = ||h||^2 - 2 h.p + ||p||^2; ||h||^2 is the same for every class.
        const dist = tf.add(tf.sub(tf.sum(tf.square(protoTensor), 1), tf.mul(tf.matMul(h, protoTensor, false, true), 2)), penaltyTensor);
        const logits = model.head(h, 'eval');
        const logProbs = tf.logSoftmax(logits);
        const ce = tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(y, classes), logProbs), 1)));
        return [tf.argMin(dist, 1), ce];
      });
      tally.add(shard, predicted!.dataSync() as Int32Array, loss!.dataSync()[0]!);
      predicted!.dispose();
      loss!.dispose();
      await yieldToEventLoop();
    }
  } finally {
    protoTensor.dispose();
    penaltyTensor.dispose();
  }
  return tally.result();
}

// ---------------------------------------------------------------- shared zoo model (FML, FedKD)

/**
 * One client's copy of a shared zoo model (FML's meme, FedKD's mentee) with
 * its own optimizer, trained beside the private model and uploaded under
 * `<prefix>/...`. Its values come from the global each round.
 */
export class SharedModelCopy {
  readonly spec: ModelSpec;
  readonly vars: ModelVariables;
  readonly optimizer: SgdMomentum;

  constructor(
    readonly prefix: string,
    setup: FederationSetup,
    sgd: SgdConfig,
    /** One sample of the client's data: the shared model takes the run's input, so it must be that. */
    sampleShape: readonly number[],
  ) {
    this.spec = sharedModelSpecOf(setup);
    if (sampleShape.join('x') !== this.spec.input.join('x')) {
      const what = setup.inputKind === 'text' ? 'texts of the run\'s token count (leave --max-tokens at the coordinator\'s)' : 'samples of the run\'s input';
      throw new Error(`the shared ${this.spec.kind} (${prefix}) takes the run's input [${this.spec.input.join(', ')}], but this client's samples are [${sampleShape.join(', ')}]: it needs ${what}`);
    }
    this.vars = createModelVariables(this.spec, initialParameters(this.spec, 0));
    this.optimizer = new SgdMomentum(sgd, this.vars.byName);
  }

  /** Overwrites the copy with the global `<prefix>/...` tensors; its momentum restarts at zero with it. */
  load(global: readonly NamedTensor[]): void {
    const { prefix } = this;
    for (const t of global) {
      const v = this.vars.byName.get(t.name.slice(prefix.length + 1));
      if (!t.name.startsWith(`${prefix}/`) || !v) throw new Error(`unexpected shared-model tensor "${t.name}"`);
      tf.tidy(() => v.assign(tf.tensor(t.values, [...t.shape], 'float32')));
    }
    this.optimizer.reset();
  }

  /** The copy's parameters under `<prefix>/...`, in parameterSpec order. */
  async read(): Promise<NamedTensor[]> {
    const names = parameterSpec(this.spec).map((p) => p.name);
    return (await readVariables(names, this.vars.byName)).map((t) => ({ ...t, name: `${this.prefix}/${t.name}` }));
  }

  dispose(): void {
    this.optimizer.dispose();
    disposeModelVariables(this.vars);
  }
}
