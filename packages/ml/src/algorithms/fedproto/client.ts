/**
 * FedProto's client half: E epochs of SGD on the whole private model with
 *   loss = CE(z, y) + lambda * (1/(B*500)) sum_i [y_i known] ||h_i - p_{y_i}||^2
 * toward the global prototypes p; the representations of every training
 * forward pass are averaged per class and uploaded with the per-class counts.
 * Evaluation: nearest global prototype ('prototype') or the model's own head.
 */
import * as tf from '@tensorflow/tfjs-core';
import { classCounts, classStatsSpec, emptyClassStats, type NamedTensor } from '@pfedlora/core';
import type { AlgorithmClient, ClientSetup } from '../algorithm';
import { evaluateNearestPrototype, trainTowardClassStats, type ClassStatRegulariser } from '../common/client';
import { checkGlobal, copyTensors } from '../common/server';
import { createPrivateClient } from '../private-client';
import { FEDPROTO_PREFIX as PREFIX } from './server';

export interface FedProtoOptions {
  /** Weight of the prototype regulariser (the paper's and HtFLlib's lambda, default 1). */
  readonly lambda: number;
  /** How the personalized model is evaluated. */
  readonly evaluation: 'prototype' | 'head';
}

export const FEDPROTO_DEFAULTS: FedProtoOptions = { lambda: 1, evaluation: 'prototype' };

/** Private-state names of the last global prototypes (they define the evaluation). */
const STATE_PREFIX = 'fedproto/global';

export function createFedProtoClient(setup: ClientSetup, options: FedProtoOptions): AlgorithmClient {
  const C = setup.federation.numClasses;
  const D = setup.federation.representationDim;
  const client = createPrivateClient(setup);
  const { model, test } = client;
  const counts = classCounts(setup.train.labels, C);
  const schema = classStatsSpec(PREFIX, C, D);
  // The global prototypes received last, kept for nearest-prototype evaluation.
  let lastGlobal: NamedTensor[] = emptyClassStats(PREFIX, C, D);

  // torch's nn.MSELoss: the squared distance, averaged over the batch and the 500 dimensions.
  const regulariser: ClassStatRegulariser = {
    dim: D,
    lambda: options.lambda,
    statistic: (x) => model.representation(x, 'train'),
    logits: (h) => model.head(h, 'train'),
    penalty: (h, target) => tf.sum(tf.square(tf.sub(h, target)), 1) as tf.Tensor1D,
    penaltyDivisor: D,
  };

  return {
    ...client.members,
    async fit(global, round) {
      checkGlobal(global, schema, 'fedproto');
      lastGlobal = copyTensors(global);
      const { loss, sums } = await trainTowardClassStats(client, global, round, regulariser);
      // The regulariser adds O(500) per sample: negligible next to the CNN.
      return client.update(sums.toPayload(PREFIX, counts), loss);
    },
    async evaluate() {
      const [mean, count] = lastGlobal as [NamedTensor, NamedTensor];
      const known = Array.from(count.values, (n) => n > 0);
      if (options.evaluation === 'head' || !known.some(Boolean)) return model.evaluate(test);
      return evaluateNearestPrototype(model, test, mean.values, known);
    },
    privateState: async () => [...(await model.state()), ...lastGlobal.map((t) => ({ ...t, name: t.name.replace(PREFIX, STATE_PREFIX) }))],
    loadPrivateState(tensors) {
      model.loadState(tensors.filter((t) => !t.name.startsWith(`${STATE_PREFIX}/`)));
      const saved = tensors.filter((t) => t.name.startsWith(`${STATE_PREFIX}/`)).map((t) => ({ ...t, name: t.name.replace(STATE_PREFIX, PREFIX) }));
      if (saved.length > 0) {
        checkGlobal(saved, schema, 'fedproto private state');
        lastGlobal = copyTensors(saved);
      }
    },
    dispose: () => model.dispose(),
  };
}
