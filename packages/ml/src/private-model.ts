/**
 * A client's private model: its network (zoo, MLP, model.json or a user's
 * own), its persistent optimizer state and the training/evaluation loops over
 * its own data. Algorithms compose it with what
 * they share (pFedLoRA: the adapter), passing an extra logit branch when the
 * combined model is trained or evaluated. It never leaves the client.
 */
import * as tf from '@tensorflow/tfjs-core';
import { addClassConfusion, emptyClassConfusion, classConfusion, macroF1, type ClassConfusion, type NamedTensor, type Rng } from '@pfedlora/core';
import { sequentialBatches, shuffledBatches, type SampleSet } from './batches';
import { throwIfCancelled } from './cancellation';
import { gatherShardRows, reduceShardOutputs, shardGradients, shardOf, type BatchShard } from './parallel/data-parallel';
import { SgdMomentum, crossEntropy, type SgdConfig } from './optimizer';
import { readVariables } from './zoo';
import type { ForwardMode, ModelDescriptor, PrivateNetwork } from './network';

/** Extra logits added to the model's own head, computed from the representation h. */
export type LogitBranch = (h: tf.Tensor2D) => tf.Tensor2D;

export interface EpochStats {
  readonly meanLoss: number;
  readonly samples: number;
}

export interface Evaluation {
  readonly accuracy: number;
  /** Mean over the classes present of the per-class F1 (@pfedlora/core eval-metrics: the convention). */
  readonly macroF1: number;
  readonly loss: number;
  readonly samples: number;
}

/**
 * An evaluation summed over batches: per-class confusion counts (accuracy is
 * their true positives over the samples) and the loss. A batch split over
 * replicas adds every replica's counts, so each replica ends with the whole set's.
 */
export class EvaluationTally {
  private readonly confusion: ClassConfusion;
  private lossSum = 0;
  private samples = 0;

  constructor(private readonly numClasses: number) {
    this.confusion = emptyClassConfusion(numClasses);
  }

  /** One batch: this replica's predictions for its shard and the shard's mean loss. */
  add(shard: BatchShard, predicted: Int32Array, meanLoss: number): void {
    const own = classConfusion(predicted, shard.labels, this.numClasses);
    const reduced = reduceShardOutputs(shard, meanLoss, [own.truePositives, own.falsePositives, own.falseNegatives].map((c) => Float32Array.from(c)));
    const [truePositives, falsePositives, falseNegatives] = reduced.sums.map((c) => Int32Array.from(c));
    addClassConfusion(this.confusion, { truePositives: truePositives!, falsePositives: falsePositives!, falseNegatives: falseNegatives! });
    this.lossSum += reduced.loss * shard.whole;
    this.samples += shard.whole;
  }

  result(): Evaluation {
    const n = this.samples;
    const correct = this.confusion.truePositives.reduce((s, v) => s + v, 0);
    return { accuracy: n ? correct / n : 0, macroF1: macroF1(this.confusion), loss: n ? this.lossSum / n : 0, samples: n };
  }
}

/** Evaluation batch size: large batches amortise per-op overhead. */
const EVAL_BATCH = 512;

/**
 * Lets timers and sockets run between batches: a client daemon trains on the
 * same thread that answers gRPC keepalives and sends heartbeats. Inside a
 * cancelled `cancellable` it throws TrainingCancelledError (cancellation.ts).
 */
const yieldToEventLoop = async (): Promise<void> => {
  await new Promise<void>((resolve) => setImmediate(resolve));
  throwIfCancelled();
};

export { yieldToEventLoop };

/** Buffer names are kept apart from parameter and momentum names in a checkpoint. */
const BUFFER_PREFIX = 'buffer/';

export class PrivateModel {
  readonly optimizer: SgdMomentum;
  /** Trainable variables in the network's order (what gradients are taken of). */
  readonly variables: readonly tf.Variable[];

  constructor(
    readonly network: PrivateNetwork,
    sgd: SgdConfig,
  ) {
    this.variables = [...network.parameters.values()];
    this.optimizer = new SgdMomentum(sgd, network.parameters);
  }

  get descriptor(): ModelDescriptor {
    return this.network.descriptor;
  }

  get numClasses(): number {
    return this.network.descriptor.numClasses;
  }

  get representationDim(): number {
    return this.network.descriptor.representationDim;
  }

  get parameterCount(): number {
    return this.network.descriptor.parameterCount;
  }

  /** Bytes of the private model's parameters as float32 (what it would cost to send). */
  get byteSize(): number {
    return this.parameterCount * 4;
  }

  /** A batch of flattened samples as the network's input tensor [n, ...inputShape]. Call inside tf.tidy. */
  input(features: Float32Array, size: number): tf.Tensor {
    return tf.tensor(features, [size, ...this.network.descriptor.inputShape], 'float32');
  }

  /** x -> h. Call inside tf.tidy. */
  representation(x: tf.Tensor, mode: ForwardMode): tf.Tensor2D {
    return this.network.representation(x, mode);
  }

  /** h -> the model's own logits. Call inside tf.tidy. */
  head(h: tf.Tensor2D, mode: ForwardMode): tf.Tensor2D {
    return this.network.head(h, mode);
  }

  /** Applies SGD to the model's parameters, then lets the network fold its batch statistics in. */
  step(grads: tf.NamedTensorMap): void {
    this.optimizer.step(grads);
    this.network.afterTrainStep?.();
  }

  /** One epoch of SGD on every parameter of the private model; `branch` is frozen but in the graph. */
  async trainEpoch(data: SampleSet, batchSize: number, rng: Rng, branch?: LogitBranch): Promise<EpochStats> {
    let lossSum = 0;
    for (const batch of shuffledBatches(data, batchSize, rng)) {
      const shard = shardOf(batch);
      const loss = tf.tidy(() => {
        const x = this.input(shard.features, shard.size);
        const y = tf.tensor1d(shard.labels, 'int32');
        const { value, grads } = shardGradients(shard, () => {
          const h = this.representation(x, 'train');
          const own = this.head(h, 'train');
          const logits = branch ? tf.add(own, branch(h)) : own;
          return crossEntropy(logits as tf.Tensor2D, y);
        }, this.variables);
        this.step(grads);
        return value;
      });
      lossSum += reduceShardOutputs(shard, loss.dataSync()[0]!).loss * batch.size;
      loss.dispose();
      await yieldToEventLoop();
    }
    return { meanLoss: lossSum / Math.max(1, data.count), samples: data.count };
  }

  /**
   * Representation h and the head's logits for every sample, packed per sample
   * as [h..., logits...]: the frozen model's outputs, computed once so that
   * training a branch on top costs no further passes through the CNN.
   */
  async frozenOutputs(data: SampleSet): Promise<SampleSet> {
    const width = this.representationDim + this.numClasses;
    const features = new Float32Array(data.count * width);
    let offset = 0;
    for (const batch of sequentialBatches(data, EVAL_BATCH)) {
      const shard = shardOf(batch);
      const packed = tf.tidy(() => {
        const h = this.representation(this.input(shard.features, shard.size), 'eval');
        return tf.concat([h, this.head(h, 'eval')], 1);
      });
      features.set(gatherShardRows(shard, packed.dataSync() as Float32Array, width), offset);
      offset += batch.size * width;
      packed.dispose();
      await yieldToEventLoop();
    }
    return { features, labels: data.labels, count: data.count, sampleSize: width };
  }

  /** Accuracy, macro-F1 and mean loss of the (combined) model on `data`. */
  async evaluate(data: SampleSet, branch?: LogitBranch): Promise<Evaluation> {
    const tally = new EvaluationTally(this.numClasses);
    for (const batch of sequentialBatches(data, EVAL_BATCH)) {
      const shard = shardOf(batch);
      const [predicted, loss] = tf.tidy(() => {
        const x = this.input(shard.features, shard.size);
        const y = tf.tensor1d(shard.labels, 'int32');
        const h = this.representation(x, 'eval');
        const own = this.head(h, 'eval');
        const logits = (branch ? tf.add(own, branch(h)) : own) as tf.Tensor2D;
        return [tf.argMax(logits, 1), crossEntropy(logits, y)];
      });
      tally.add(shard, predicted.dataSync() as Int32Array, loss.dataSync()[0]!);
      predicted.dispose();
      loss.dispose();
      await yieldToEventLoop();
    }
    return tally.result();
  }

  /** Parameters, buffers and optimizer state, for a client checkpoint. */
  async state(): Promise<NamedTensor[]> {
    const { parameters, buffers } = this.network;
    const bufferState = (await readVariables([...buffers.keys()], buffers)).map((t) => ({ ...t, name: BUFFER_PREFIX + t.name }));
    return [...(await readVariables([...parameters.keys()], parameters)), ...bufferState, ...(await this.optimizer.state())];
  }

  loadState(tensors: readonly NamedTensor[]): void {
    // A state that does not cover every parameter and buffer belongs to another model: refuse it whole.
    const given = new Set(tensors.map((t) => t.name));
    const missing = [...this.network.parameters.keys(), ...[...this.network.buffers.keys()].map((k) => BUFFER_PREFIX + k)].filter((k) => !given.has(k));
    if (missing.length) throw new Error(`checkpoint lacks ${missing.length} of model ${this.descriptor.name}'s tensors (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''})`);
    this.loadParameters(tensors);
  }

  /**
   * Some parameters, buffers and momentum (e.g. a received head); the rest stay
   * as they are. Every name and shape is checked before anything is assigned.
   */
  loadParameters(tensors: readonly NamedTensor[]): void {
    const { name } = this.descriptor;
    const targets = tensors
      .filter((t) => !t.name.startsWith('momentum/'))
      .map((t) => {
        const isBuffer = t.name.startsWith(BUFFER_PREFIX);
        const v = isBuffer ? this.network.buffers.get(t.name.slice(BUFFER_PREFIX.length)) : this.network.parameters.get(t.name);
        if (!v) throw new Error(`checkpoint names unknown ${isBuffer ? 'buffer' : 'parameter'} "${t.name}" for model ${name}`);
        if (v.shape.join(',') !== t.shape.join(',')) throw new Error(`checkpoint has "${t.name}" of shape [${t.shape.join(', ')}], model ${name} has [${v.shape.join(', ')}]`);
        return { v, t };
      });
    for (const { v, t } of targets) tf.tidy(() => v.assign(tf.tensor(t.values, [...t.shape], 'float32')));
    this.optimizer.loadState(tensors.filter((t) => t.name.startsWith('momentum/')));
  }

  dispose(): void {
    this.optimizer.dispose();
    this.network.dispose();
  }
}
