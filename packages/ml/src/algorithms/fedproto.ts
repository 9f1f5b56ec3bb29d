/**
 * FedProto (Tan et al., AAAI 2022, "FedProto: Federated prototype learning
 * across heterogeneous clients"), as the paper and HtFLlib (clientproto.py /
 * serverproto.py) run it: clients exchange per-class mean representations
 * (prototypes) at the 500-d layer every zoo model has, never parameters.
 *
 * Client step: E epochs of SGD on the whole private model with
 *   loss = CE(z, y) + lambda * (1/(B*500)) sum_i [y_i known] ||h_i - p_{y_i}||^2
 * (torch's nn.MSELoss, a mean over batch and dimensions, as both codes use),
 * where p_c is the global prototype of class c and "known" means some client
 * reported class c last round. The representations of every training forward
 * pass (all E epochs) are averaged per class and uploaded with the client's
 * per-class sample counts.
 * Server step: per-class weighted mean p_c = sum_k n_{k,c} h_{k,c} / sum_k n_{k,c}
 * (the paper's weighting; HtFLlib takes the unweighted mean over clients).
 * Evaluation ('prototype', the default, as the paper and HtFLlib infer):
 * predict the known class whose global prototype (the one received this round)
 * is nearest to h; before any prototype is known, the model's own head.
 * 'head' evaluates the model's own head instead: registered as the variant
 * `fedproto-head`, because with few local steps per client the representations
 * of five architectures never settle near prototypes averaged across them and
 * nearest-prototype inference falls below chance (docs/results.md).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensor } from '@pfedlora/core';
import type { Algorithm, AlgorithmClient, ClientSetup, GlobalAggregator } from './algorithm';
import {
  checkGlobal,
  classCounts,
  classMeanAggregator,
  classStatsSpec,
  copyTensors,
  emptyClassStats,
  evaluateNearestPrototype,
  trainTowardClassStats,
  type ClassStatRegulariser,
} from './baseline-kit';
import { createPrivateClient } from './private-client';

export interface FedProtoOptions {
  /** Weight of the prototype regulariser (the paper's and HtFLlib's lambda, default 1). */
  readonly lambda: number;
  /** How the personalized model is evaluated. */
  readonly evaluation: 'prototype' | 'head';
}

export const FEDPROTO_DEFAULTS: FedProtoOptions = { lambda: 1, evaluation: 'prototype' };

/** Payload prefix: `protos/mean` [C, 500], `protos/count` [C]. */
const PREFIX = 'protos';
/** Private-state names of the last global prototypes (they define the evaluation). */
const STATE_PREFIX = 'fedproto/global';

function createFedProtoClient(setup: ClientSetup, options: FedProtoOptions): AlgorithmClient {
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

/** FedProto with explicit hyper-parameters (the registry uses FEDPROTO_DEFAULTS). */
export function createFedProto(overrides: Partial<FedProtoOptions> = {}): Algorithm {
  const options: FedProtoOptions = { ...FEDPROTO_DEFAULTS, ...overrides };
  if (!(options.lambda >= 0)) throw new Error(`fedproto: lambda must be >= 0, got ${options.lambda}`);
  const byHead = options.evaluation === 'head';
  return {
    name: byHead ? 'fedproto-head' : 'fedproto',
    summary: `prototype learning: clients upload per-class mean representations (C x 500 + counts), regularise h toward the global prototypes${byHead ? '; evaluated with the model\'s own head (diagnostic variant)' : ''}`,
    globalSpec: (setup) => classStatsSpec(PREFIX, setup.numClasses, setup.representationDim),
    updateSpec: (setup) => classStatsSpec(PREFIX, setup.numClasses, setup.representationDim),
    initialGlobal: (setup) => emptyClassStats(PREFIX, setup.numClasses, setup.representationDim),
    createAggregator: (global, setup): GlobalAggregator => classMeanAggregator(global, PREFIX, setup.numClasses, setup.representationDim),
    createClient: (setup) => createFedProtoClient(setup, options),
  };
}

export const fedproto: Algorithm = createFedProto();
/** FedProto evaluated with each model's own head instead of the nearest global prototype. */
export const fedprotoHead: Algorithm = createFedProto({ evaluation: 'head' });
