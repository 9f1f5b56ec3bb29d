/**
 * FD, federated distillation (Jeong et al. 2018, "Communication-efficient
 * on-device machine learning: federated distillation and augmentation"), as
 * HtFLlib implements it for heterogeneous models (clientfd.py / serverfd.py):
 * clients exchange per-class mean logits instead of parameters.
 *
 * Client step: E epochs of SGD on the whole private model with
 *   loss = CE(z, y) + lambda * (1/B) sum_i [y_i known] * CE(softmax(g_{y_i}), z_i)
 * where g_c is the global mean logit vector of class c and "known" means some
 * client reported class c last round (soft-target cross-entropy: the same
 * gradient as KL(softmax(g) || softmax(z))). The logits of every training
 * forward pass (all E epochs, as HtFLlib collects them) are averaged per class
 * and uploaded with the client's per-class sample counts n_{k,c}.
 * Server step: per-class weighted mean, g_c = sum_k n_{k,c} z_{k,c} / sum_k n_{k,c}
 * (ClassMeanAccumulator; HtFLlib takes the unweighted mean over clients).
 * Evaluation: the private model's own head after local training.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRng, deriveSeed } from '@pfedlora/core';
import { sampleSetOf } from '../batches';
import { modelStages, trainStepFlops } from '../flops';
import { crossEntropy } from '../optimizer';
import { PrivateModel } from '../private-model';
import { head, modelSpec, representation } from '../zoo';
import type { Algorithm, AlgorithmClient, ClientSetup, GlobalAggregator } from './algorithm';
import {
  ClassSums,
  batchClassSums,
  checkGlobal,
  classCounts,
  classMeanAggregator,
  classStatsSpec,
  emptyClassStats,
  knownClassMask,
  runEpochsWithClassSums,
  type BatchStep,
} from './baseline-kit';

export interface FdOptions {
  /** Weight of the distillation term (HtFLlib's --lamda, default 1). */
  readonly lambda: number;
}

export const FD_DEFAULTS: FdOptions = { lambda: 1 };

/** Payload prefix: `logits/mean` [C, C], `logits/count` [C]. */
const PREFIX = 'logits';

function createFdClient(setup: ClientSetup, options: FdOptions): AlgorithmClient {
  const { federation, training } = setup;
  const C = federation.numClasses;
  const spec = modelSpec(setup.modelKind, federation.input, C);
  const model = new PrivateModel(spec, deriveSeed(setup.seed, 'model'), training);
  const train = sampleSetOf(setup.train);
  const test = sampleSetOf(setup.test);
  const counts = classCounts(setup.train.labels, C);
  const flopsPerSample = trainStepFlops(modelStages(spec, true));
  const schema = classStatsSpec(PREFIX, C, C);

  return {
    privateModelBytes: model.byteSize,
    async fit(global, round) {
      checkGlobal(global, schema, 'fd');
      const rng = createRng(deriveSeed(setup.seed, 'batches', round));
      const [mean, count] = global as [(typeof global)[0], (typeof global)[0]];
      const anyKnown = count.values.some((n) => n > 0);
      const globalLogits = tf.tensor2d(mean.values, [C, C]);
      const known = knownClassMask(count.values);
      const sums = new ClassSums(C, C);
      const step: BatchStep = (x, y, batch) => {
        let batchSums: tf.Tensor | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const logits = head(model.vars, representation(model.vars, x));
          batchSums = tf.keep(batchClassSums(logits, y, C));
          const ce = crossEntropy(logits, y);
          if (!anyKnown || options.lambda === 0) return ce;
          const target = tf.softmax(tf.gather(globalLogits, y));
          const soft = tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(logits)), 1));
          const distill = tf.div(tf.sum(tf.mul(tf.gather(known, y), soft)), batch.size);
          return tf.add(ce, tf.mul(distill, options.lambda)) as tf.Scalar;
        }, model.vars.list as tf.Variable[]);
        model.optimizer.step(grads);
        return [value, batchSums!];
      };
      let loss: number;
      try {
        loss = await runEpochsWithClassSums(train, spec.input, training, rng, step, sums);
      } finally {
        globalLogits.dispose();
        known.dispose();
      }
      return {
        tensors: sums.toPayload(PREFIX, counts),
        numSamples: train.count,
        // Distillation adds O(C) per sample to the CE: negligible, as in docs/algorithm.md.
        trainFlops: flopsPerSample * train.count * training.localEpochs,
        trainLoss: loss,
      };
    },
    evaluate: () => model.evaluate(test),
    privateState: () => model.state(),
    loadPrivateState: (tensors) => model.loadState(tensors),
    dispose: () => model.dispose(),
  };
}

/** FD with explicit hyper-parameters (the registry uses FD_DEFAULTS). */
export function createFd(overrides: Partial<FdOptions> = {}): Algorithm {
  const options: FdOptions = { ...FD_DEFAULTS, ...overrides };
  if (!(options.lambda >= 0)) throw new Error(`fd: lambda must be >= 0, got ${options.lambda}`);
  return {
    name: 'fd',
    summary: 'federated distillation: clients upload per-class mean logits (C x C + counts), distil toward the per-class global mean',
    globalSpec: (setup) => classStatsSpec(PREFIX, setup.numClasses, setup.numClasses),
    updateSpec: (setup) => classStatsSpec(PREFIX, setup.numClasses, setup.numClasses),
    initialGlobal: (setup) => emptyClassStats(PREFIX, setup.numClasses, setup.numClasses),
    createAggregator: (global, setup): GlobalAggregator => classMeanAggregator(global, PREFIX, setup.numClasses, setup.numClasses),
    createClient: (setup) => createFdClient(setup, options),
  };
}

export const fd: Algorithm = createFd();
