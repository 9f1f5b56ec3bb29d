/**
 * SGD with momentum, decoupled-from-nothing weight decay and global gradient
 * norm clipping, exactly as torch.optim.SGD + clip_grad_norm_ compute it (the
 * lab's published code uses those):
 *   g <- clip(g) ; g <- g + wd * w ; buf <- m * buf + g ; w <- w - lr * buf
 * Clipping scales all gradients by min(1, maxNorm / (||g|| + 1e-6)) without a
 * device sync, so it costs a few small kernels per step. On wasm, with momentum
 * and weight decay, the rest of a variable's update is one kernel (one pass
 * over its memory, kernels/SgdMomentumStep.ts), with the same bits as the
 * composed ops.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DEFAULT_RUN } from '@pfedlora/core';
import type { NamedTensor } from '@pfedlora/core';
import { SGD_MOMENTUM_STEP, type SgdMomentumStepAttrs } from './kernels/SgdMomentumStep';

export interface SgdConfig {
  readonly learningRate: number;
  readonly momentum: number;
  readonly weightDecay: number;
  /** Global L2 norm bound on the gradients; 0 or Infinity disables clipping. */
  readonly clipNorm: number;
}

/** The lab's SGD (lr 0.01, momentum 0.9, weight decay 1e-3, clip 50): the run spec's defaults. */
export const PAPER_SGD: SgdConfig = { learningRate: DEFAULT_RUN.learningRate, momentum: DEFAULT_RUN.momentum, weightDecay: DEFAULT_RUN.weightDecay, clipNorm: DEFAULT_RUN.clipNorm };

export class SgdMomentum {
  /** Momentum buffers by stable parameter name. */
  private readonly buffers = new Map<string, tf.Variable>();
  /** tfjs variable name (engine-unique, not stable across runs) -> stable parameter name. */
  private readonly keyOfVariable = new Map<string, string>();

  /** `variables` maps stable parameter names (used in checkpoints) to the variables trained. */
  constructor(
    private readonly config: SgdConfig,
    private readonly variables: ReadonlyMap<string, tf.Variable>,
  ) {
    for (const [key, v] of variables) {
      this.keyOfVariable.set(v.name, key);
      // Buffers exist from the start so a client's tensor count is the same before and after every round.
      if (config.momentum !== 0) this.buffers.set(key, tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
    }
  }

  /** Applies one update from gradients keyed by tfjs variable name (what tf.variableGrads returns). */
  step(grads: tf.NamedTensorMap): void {
    const { learningRate, momentum, weightDecay, clipNorm } = this.config;
    const fused = momentum !== 0 && weightDecay !== 0 && tf.getKernel(SGD_MOMENTUM_STEP, tf.getBackend()) !== undefined;
    const attrs: SgdMomentumStepAttrs = { learningRate, momentum, weightDecay };
    tf.tidy(() => {
      const names = Object.keys(grads);
      let scale: tf.Scalar | undefined;
      if (clipNorm > 0 && Number.isFinite(clipNorm)) {
        const squares = names.map((n) => tf.sum(tf.square(grads[n]!)));
        const norm = tf.sqrt(tf.addN(squares));
        scale = tf.minimum(tf.scalar(1), tf.div(tf.scalar(clipNorm), tf.add(norm, 1e-6))) as tf.Scalar;
      }
      for (const name of names) {
        const key = this.keyOfVariable.get(name);
        const w = key === undefined ? undefined : this.variables.get(key);
        if (!w || key === undefined) throw new Error(`optimizer has no variable "${name}"`);
        let g: tf.Tensor = grads[name]!;
        if (fused) {
          const buf = this.buffer(key);
          const [next, nextBuf] = tf.engine().runKernel(SGD_MOMENTUM_STEP, { w, g, buf, ...(scale ? { scale } : {}) }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
          buf.assign(nextBuf!);
          w.assign(next!);
          continue;
        }
        if (scale) g = tf.mul(g, scale);
        if (weightDecay !== 0) g = tf.add(g, tf.mul(w, weightDecay));
        if (momentum !== 0) {
          const buf = this.buffer(key);
          buf.assign(tf.add(tf.mul(buf, momentum), g));
          g = buf;
        }
        w.assign(tf.sub(w, tf.mul(g, learningRate)));
      }
    });
  }

  private buffer(name: string): tf.Variable {
    const buf = this.buffers.get(name);
    if (!buf) throw new Error(`optimizer has no momentum buffer for "${name}" (momentum is ${this.config.momentum})`);
    return buf;
  }

  /** Momentum buffers, for checkpointing a client's personalization. */
  async state(): Promise<NamedTensor[]> {
    const out: NamedTensor[] = [];
    for (const [name, buf] of this.buffers) {
      out.push({ name: `momentum/${name}`, shape: [...buf.shape], values: (await buf.data()) as Float32Array });
    }
    return out;
  }

  loadState(tensors: readonly NamedTensor[]): void {
    for (const t of tensors) {
      const name = t.name.replace(/^momentum\//, '');
      if (!this.variables.has(name)) throw new Error(`optimizer state names unknown variable "${name}"`);
      const buf = this.buffer(name);
      tf.tidy(() => buf.assign(tf.tensor(t.values, [...t.shape], 'float32')));
    }
  }

  /** Forgets the momentum (the adapter starts each round from the new global one). */
  reset(): void {
    for (const buf of this.buffers.values()) tf.tidy(() => buf.assign(tf.zerosLike(buf)));
  }

  dispose(): void {
    for (const buf of this.buffers.values()) buf.dispose();
    this.buffers.clear();
  }
}

/** Mean softmax cross-entropy of logits against integer labels. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const logProbs = tf.logSoftmax(logits);
    const oneHot = tf.oneHot(labels, logits.shape[1]!);
    return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, logProbs), 1))) as tf.Scalar;
  });
}
