/**
 * FD's client half: E epochs of SGD on the whole private model with
 *   loss = CE(z, y) + lambda * (1/B) sum_i [y_i known] * CE(softmax(g_{y_i}), z_i)
 * toward the global per-class mean logits g; the logits of every training
 * forward pass are averaged per class and uploaded with the per-class counts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { classCounts, classStatsSpec } from '@pfedlora/core';
import type { AlgorithmClient, ClientSetup } from '../algorithm';
import { trainTowardClassStats, type ClassStatRegulariser } from '../common/client';
import { checkGlobal } from '../common/server';
import { createPrivateClient } from '../private-client';
import { FD_PREFIX as PREFIX } from './server';

export interface FdOptions {
  /** Weight of the distillation term (HtFLlib's --lamda, default 1). */
  readonly lambda: number;
}

export const FD_DEFAULTS: FdOptions = { lambda: 1 };

export function createFdClient(setup: ClientSetup, options: FdOptions): AlgorithmClient {
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
