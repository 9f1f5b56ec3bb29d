/**
 * A client's private model: its zoo CNN, its persistent optimizer state and the
 * training/evaluation loops over its own data. Algorithms compose it with what
 * they share (pFedLoRA: the adapter), passing an extra logit branch when the
 * combined model is trained or evaluated. It never leaves the client.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensor, Rng } from '@pfedlora/core';
import { sequentialBatches, shuffledBatches, type SampleSet } from './batches';
import { SgdMomentum, crossEntropy, type SgdConfig } from './optimizer';
import {
  createModelVariables,
  disposeModelVariables,
  head,
  initialParameters,
  parameterCount,
  parameterSpec,
  readVariables,
  representation,
  REPRESENTATION_DIM,
  type ModelSpec,
  type ModelVariables,
} from './zoo';

/** Extra logits added to the model's own head, computed from the representation h. */
export type LogitBranch = (h: tf.Tensor2D) => tf.Tensor2D;

export interface EpochStats {
  readonly meanLoss: number;
  readonly samples: number;
}

export interface Evaluation {
  readonly accuracy: number;
  readonly loss: number;
  readonly samples: number;
}

/** Evaluation batch size: large batches amortise per-op overhead. */
const EVAL_BATCH = 512;

/**
 * Lets timers and sockets run between batches: a client daemon trains on the
 * same thread that answers gRPC keepalives and sends heartbeats.
 */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export { yieldToEventLoop };

export class PrivateModel {
  readonly vars: ModelVariables;
  readonly optimizer: SgdMomentum;

  constructor(
    readonly spec: ModelSpec,
    seed: number,
    sgd: SgdConfig,
  ) {
    this.vars = createModelVariables(spec, initialParameters(spec, seed));
    this.optimizer = new SgdMomentum(sgd, this.vars.byName);
  }

  get parameterCount(): number {
    return parameterCount(this.spec);
  }

  /** Bytes of the private model's parameters as float32 (what it would cost to send). */
  get byteSize(): number {
    return this.parameterCount * 4;
  }

  private imageBatch(features: Float32Array, size: number): tf.Tensor4D {
    const { height, width, channels } = this.spec.input;
    return tf.tensor4d(features, [size, height, width, channels], 'float32');
  }

  /** One epoch of SGD on every parameter of the private model; `branch` is frozen but in the graph. */
  async trainEpoch(data: SampleSet, batchSize: number, rng: Rng, branch?: LogitBranch): Promise<EpochStats> {
    let lossSum = 0;
    for (const batch of shuffledBatches(data, batchSize, rng)) {
      const loss = tf.tidy(() => {
        const x = this.imageBatch(batch.features, batch.size);
        const y = tf.tensor1d(batch.labels, 'int32');
        const { value, grads } = tf.variableGrads(() => {
          const h = representation(this.vars, x);
          const logits = branch ? tf.add(head(this.vars, h), branch(h)) : head(this.vars, h);
          return crossEntropy(logits as tf.Tensor2D, y);
        }, this.vars.list as tf.Variable[]);
        this.optimizer.step(grads);
        return value;
      });
      lossSum += loss.dataSync()[0]! * batch.size;
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
    const width = REPRESENTATION_DIM + this.spec.numClasses;
    const features = new Float32Array(data.count * width);
    let offset = 0;
    for (const batch of sequentialBatches(data, EVAL_BATCH)) {
      const packed = tf.tidy(() => {
        const h = representation(this.vars, this.imageBatch(batch.features, batch.size));
        return tf.concat([h, head(this.vars, h)], 1);
      });
      features.set(packed.dataSync() as Float32Array, offset);
      offset += batch.size * width;
      packed.dispose();
      await yieldToEventLoop();
    }
    return { features, labels: data.labels, count: data.count, sampleSize: width };
  }

  /** Accuracy and mean loss of the (combined) model on `data`. */
  async evaluate(data: SampleSet, branch?: LogitBranch): Promise<Evaluation> {
    let correct = 0;
    let lossSum = 0;
    for (const batch of sequentialBatches(data, EVAL_BATCH)) {
      const [hits, loss] = tf.tidy(() => {
        const x = this.imageBatch(batch.features, batch.size);
        const y = tf.tensor1d(batch.labels, 'int32');
        const h = representation(this.vars, x);
        const logits = (branch ? tf.add(head(this.vars, h), branch(h)) : head(this.vars, h)) as tf.Tensor2D;
        return [tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'int32')), crossEntropy(logits, y)];
      });
      correct += hits.dataSync()[0]!;
      lossSum += loss.dataSync()[0]! * batch.size;
      hits.dispose();
      loss.dispose();
      await yieldToEventLoop();
    }
    const samples = data.count;
    return { accuracy: samples ? correct / samples : 0, loss: samples ? lossSum / samples : 0, samples };
  }

  /** Parameters and optimizer state, for a client checkpoint. */
  async state(): Promise<NamedTensor[]> {
    const names = parameterSpec(this.spec).map((p) => p.name);
    return [...(await readVariables(names, this.vars.byName)), ...(await this.optimizer.state())];
  }

  loadState(tensors: readonly NamedTensor[]): void {
    const momentum = tensors.filter((t) => t.name.startsWith('momentum/'));
    for (const t of tensors) {
      if (t.name.startsWith('momentum/')) continue;
      const v = this.vars.byName.get(t.name);
      if (!v) throw new Error(`checkpoint names unknown parameter "${t.name}" for ${this.spec.kind}`);
      tf.tidy(() => v.assign(tf.tensor(t.values, [...t.shape], 'float32')));
    }
    this.optimizer.loadState(momentum);
  }

  dispose(): void {
    this.optimizer.dispose();
    disposeModelVariables(this.vars);
  }
}
