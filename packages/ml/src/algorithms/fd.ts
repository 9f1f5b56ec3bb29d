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
import type { Algorithm, AlgorithmClient, ClientSetup, GlobalAggregator } from './algorithm';
import {
  checkGlobal,
  classCounts,
  classMeanAggregator,
  classStatsSpec,
  emptyClassStats,
  trainTowardClassStats,
  type ClassStatRegulariser,
} from './baseline-kit';
import { createPrivateClient } from './private-client';

export interface FdOptions {
  /** Weight of the distillation term (HtFLlib's --lamda, default 1). */
  readonly lambda: number;
}

export const FD_DEFAULTS: FdOptions = { lambda: 1 };

/** Payload prefix: `logits/mean` [C, C], `logits/count` [C]. */
const PREFIX = 'logits';

function createFdClient(setup: ClientSetup, options: FdOptions): AlgorithmClient {
  const C = setup.federation.numClasses;
  const client = createPrivateClient(setup);
  const { model } = client;
  const counts = classCounts(setup.train.labels, C);
  const schema = classStatsSpec(PREFIX, C, C);
  // Soft-target cross-entropy toward softmax(g_y): the gradient of KL(softmax(g_y) || softmax(z)).
  const regulariser: ClassStatRegulariser = {
    dim: C,
    lambda: options.lambda,
    statistic: (x) => model.head(model.representation(x, 'train'), 'train'),
    logits: (logits) => logits,
    penalty: (logits, target) => tf.neg(tf.sum(tf.mul(tf.softmax(target), tf.logSoftmax(logits)), 1)) as tf.Tensor1D,
    penaltyDivisor: 1,
  };

  return {
    ...client.members,
    async fit(global, round) {
      checkGlobal(global, schema, 'fd');
      const { loss, sums } = await trainTowardClassStats(client, global, round, regulariser);
      // Distillation adds O(C) per sample to the CE: negligible, as in docs/algorithm.md.
      return client.update(sums.toPayload(PREFIX, counts), loss);
    },
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
