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
 * 'head' evaluates the model's own head instead.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRng, deriveSeed, type NamedTensor } from '@pfedlora/core';
import { sampleSetOf } from '../batches';
import { modelStages, trainStepFlops } from '../flops';
import { crossEntropy } from '../optimizer';
import { PrivateModel } from '../private-model';
import { REPRESENTATION_DIM, head, modelSpec, representation } from '../zoo';
import type { Algorithm, AlgorithmClient, ClientSetup, GlobalAggregator } from './algorithm';
import {
  ClassSums,
  batchClassSums,
  checkGlobal,
  classCounts,
  classMeanAggregator,
  classStatsSpec,
  copyTensors,
  emptyClassStats,
  evaluateNearestPrototype,
  knownClassMask,
  runEpochsWithClassSums,
  type BatchStep,
} from './baseline-kit';

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
  const { federation, training } = setup;
  const C = federation.numClasses;
  const D = REPRESENTATION_DIM;
  const spec = modelSpec(setup.modelKind, federation.input, C);
  const model = new PrivateModel(spec, deriveSeed(setup.seed, 'model'), training);
  const train = sampleSetOf(setup.train);
  const test = sampleSetOf(setup.test);
  const counts = classCounts(setup.train.labels, C);
  const flopsPerSample = trainStepFlops(modelStages(spec, true));
  const schema = classStatsSpec(PREFIX, C, D);
  // The global prototypes received last, kept for nearest-prototype evaluation.
  let lastGlobal: NamedTensor[] = emptyClassStats(PREFIX, C, D);

  return {
    privateModelBytes: model.byteSize,
    async fit(global, round) {
      checkGlobal(global, schema, 'fedproto');
      lastGlobal = copyTensors(global);
      const rng = createRng(deriveSeed(setup.seed, 'batches', round));
      const [mean, count] = global as [NamedTensor, NamedTensor];
      const anyKnown = count.values.some((n) => n > 0);
      const protos = tf.tensor2d(mean.values, [C, D]);
      const known = knownClassMask(count.values);
      const sums = new ClassSums(C, D);
      const step: BatchStep = (x, y, batch) => {
        let batchSums: tf.Tensor | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const h = representation(model.vars, x);
          batchSums = tf.keep(batchClassSums(h, y, C));
          const ce = crossEntropy(head(model.vars, h), y);
          if (!anyKnown || options.lambda === 0) return ce;
          const squared = tf.sum(tf.square(tf.sub(h, tf.gather(protos, y))), 1);
          const mse = tf.div(tf.sum(tf.mul(tf.gather(known, y), squared)), batch.size * D);
          return tf.add(ce, tf.mul(mse, options.lambda)) as tf.Scalar;
        }, model.vars.list as tf.Variable[]);
        model.optimizer.step(grads);
        return [value, batchSums!];
      };
      let loss: number;
      try {
        loss = await runEpochsWithClassSums(train, spec.input, training, rng, step, sums);
      } finally {
        protos.dispose();
        known.dispose();
      }
      return {
        tensors: sums.toPayload(PREFIX, counts),
        numSamples: train.count,
        // The regulariser adds O(500) per sample: negligible next to the CNN.
        trainFlops: flopsPerSample * train.count * training.localEpochs,
        trainLoss: loss,
      };
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
  return {
    name: 'fedproto',
    summary: 'prototype learning: clients upload per-class mean representations (C x 500 + counts), regularise h toward the global prototypes',
    globalSpec: (setup) => classStatsSpec(PREFIX, setup.numClasses, REPRESENTATION_DIM),
    updateSpec: (setup) => classStatsSpec(PREFIX, setup.numClasses, REPRESENTATION_DIM),
    initialGlobal: (setup) => emptyClassStats(PREFIX, setup.numClasses, REPRESENTATION_DIM),
    createAggregator: (global, setup): GlobalAggregator => classMeanAggregator(global, PREFIX, setup.numClasses, REPRESENTATION_DIM),
    createClient: (setup) => createFedProtoClient(setup, options),
  };
}

export const fedproto: Algorithm = createFedProto();
