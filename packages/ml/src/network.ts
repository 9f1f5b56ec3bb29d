/**
 * A client's private network, whatever its source (the built-in zoo, the MLP
 * family, a TensorFlow.js Layers model.json, or a program that embeds the
 * client): named tfjs variables, a forward pass to the representation h of
 * the run's width d, and the network's own head from h to the run's C classes.
 * The trainers, the optimizer, checkpoints, freezing (pFedLoRA step 1 and 2)
 * and FLOP accounting see this interface alone, so a user's network trains
 * exactly like the zoo's.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelDescriptor } from '@pfedlora/core';

export type { ModelDescriptor } from '@pfedlora/core';

/** Analytic forward FLOPs per sample, split where the adapter plugs in. */
export interface NetworkFlops {
  /** Input -> h. */
  readonly extractorForward: number;
  /** h -> logits through the model's own head. */
  readonly headForward: number;
  /** One training step on one sample with every parameter trained. */
  readonly trainStep: number;
}

export type ForwardMode = 'train' | 'eval';

export interface PrivateNetwork {
  readonly descriptor: ModelDescriptor;
  readonly flops: NetworkFlops;
  /**
   * Trainable parameters under stable names (checkpoint keys), in a fixed
   * order: the optimizer's state is keyed by these names too.
   */
  readonly parameters: ReadonlyMap<string, tf.Variable>;
  /**
   * State that is saved and restored with the model but not trained by SGD
   * (BatchNormalization's moving statistics). Empty for most networks.
   */
  readonly buffers: ReadonlyMap<string, tf.Variable>;
  /**
   * x [n, ...inputShape] -> h [n, d]. 'train' enables dropout and batch
   * statistics. Call inside tf.tidy (and inside the gradient closure when training).
   */
  representation(x: tf.Tensor, mode: ForwardMode): tf.Tensor2D;
  /**
   * The head when it is a single dense layer h -> C (kernel [d, C], bias [C]):
   * FedGH shares exactly that. Absent for deeper heads.
   */
  readonly headDense?: { readonly kernel: tf.Variable; readonly bias: tf.Variable };
  /** h [n, d] -> logits [n, C]. Call inside tf.tidy. */
  head(h: tf.Tensor2D, mode: ForwardMode): tf.Tensor2D;
  /**
   * Called once after each optimizer step of a 'train' forward: a network
   * with buffers (moving averages) folds the step's batch statistics in here,
   * outside the gradient tape. Optional.
   */
  afterTrainStep?(): void;
  dispose(): void;
}

/** Sum of the element counts of a network's trainable parameters. */
export function countParameters(parameters: ReadonlyMap<string, tf.Variable>): number {
  let n = 0;
  for (const v of parameters.values()) n += v.size;
  return n;
}

/** A network a program defines with tfjs ops: the variables, the forward to h, the head. */
export interface CustomNetworkSpec {
  /** Shown in logs and the coordinator's ledger. */
  readonly name: string;
  /** Default 'custom'. */
  readonly family?: string;
  /** One input sample: [height, width, channels] or [features]. */
  readonly inputShape: readonly number[];
  /** Trainable variables under stable names (the checkpoint keys). */
  readonly parameters: ReadonlyMap<string, tf.Variable> | Readonly<Record<string, tf.Variable>>;
  /** Saved with the model, not trained (moving averages). */
  readonly buffers?: ReadonlyMap<string, tf.Variable> | Readonly<Record<string, tf.Variable>>;
  /** x [n, ...inputShape] -> h [n, d], with tfjs ops on the variables above. */
  representation(x: tf.Tensor, mode: ForwardMode): tf.Tensor2D;
  /** h [n, d] -> logits [n, C] (no softmax). */
  head(h: tf.Tensor2D, mode: ForwardMode): tf.Tensor2D;
  afterTrainStep?(): void;
  /** Analytic FLOPs per sample for the cost ledger; unknown parts count 0. */
  readonly flops?: Partial<NetworkFlops>;
  /** Frees what the variables do not cover; the variables are disposed for you. */
  dispose?(): void;
}

const asMap = (m: ReadonlyMap<string, tf.Variable> | Readonly<Record<string, tf.Variable>> | undefined): ReadonlyMap<string, tf.Variable> =>
  m === undefined ? new Map() : m instanceof Map ? m : new Map(Object.entries(m as Readonly<Record<string, tf.Variable>>));

/**
 * A PrivateNetwork from a program's own tfjs code (use the `tf` that
 * @pfedlora/ml exports, so the variables live on the engine pfedlora set up). d and C are read from one
 * forward pass on a zero sample, so the descriptor cannot disagree with what
 * the network computes.
 */
export function customNetwork(spec: CustomNetworkSpec): PrivateNetwork {
  const parameters = asMap(spec.parameters);
  const buffers = asMap(spec.buffers);
  const [d, C] = tf.tidy(() => {
    const h = spec.representation(tf.zeros([1, ...spec.inputShape]), 'eval');
    const logits = spec.head(h, 'eval');
    if (h.rank !== 2 || logits.rank !== 2) throw new Error(`network ${spec.name}: representation and head must return [n, d] and [n, C], got [${h.shape.join(', ')}] and [${logits.shape.join(', ')}]`);
    return [h.shape[1]!, logits.shape[1]!];
  });
  const flops: NetworkFlops = { extractorForward: spec.flops?.extractorForward ?? 0, headForward: spec.flops?.headForward ?? 0, trainStep: spec.flops?.trainStep ?? 0 };
  return {
    descriptor: {
      family: spec.family ?? 'custom',
      name: spec.name,
      parameterCount: countParameters(parameters),
      representationDim: d,
      numClasses: C,
      inputShape: [...spec.inputShape],
      trainFlopsPerSample: flops.trainStep,
    },
    flops,
    parameters,
    buffers,
    representation: (x, mode) => spec.representation(x, mode),
    head: (h, mode) => spec.head(h, mode),
    ...(spec.afterTrainStep ? { afterTrainStep: () => spec.afterTrainStep!() } : {}),
    dispose() {
      spec.dispose?.();
      for (const v of [...parameters.values(), ...buffers.values()]) v.dispose();
    },
  };
}
