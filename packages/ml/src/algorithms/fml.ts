/**
 * FML, federated mutual learning (Shen et al. 2020, "Federated mutual
 * learning"), as HtFLlib runs it for heterogeneous models (clientfml.py /
 * serverfml.py): every client trains its private CNN together with a copy of
 * one small shared "meme" model by deep mutual learning, and only the meme
 * model is federated.
 *
 * The meme model is CNN-5, the smallest zoo model, on every client (HtFLlib
 * uses one fixed architecture for it too), so its parameters have the same
 * names and shapes everywhere: `meme/<layer>/kernel|bias`.
 *
 * Client step: load the global meme model (its momentum restarts at zero),
 * then E epochs where each batch trains both models at once:
 *   private: alpha * CE(z_p, y) + (1 - alpha) * KL(softmax(z_m) || softmax(z_p))
 *   meme:    beta  * CE(z_m, y) + (1 - beta)  * KL(softmax(z_p) || softmax(z_m))
 * each distilling toward the other's detached prediction (KL with batchmean,
 * the true KL; HtFLlib's nn.KLDivLoss() default also divides by C). Upload the
 * trained meme parameters. Server step: sample-weighted mean of the meme models
 * (streaming). Evaluation: the private model.
 */
import * as tf from '@tensorflow/tfjs-core';
import { WeightedMeanAccumulator, createRng, deriveSeed, type NamedTensor, type TensorSpec } from '@pfedlora/core';
import { sampleSetOf } from '../batches';
import { modelStages, trainStepFlops } from '../flops';
import { SgdMomentum, crossEntropy } from '../optimizer';
import { PrivateModel } from '../private-model';
import {
  createModelVariables,
  disposeModelVariables,
  head,
  initialParameters,
  modelSpec,
  parameterSpec,
  readVariables,
  representation,
  type ModelKind,
  type ModelSpec,
  type ModelVariables,
} from '../zoo';
import type { Algorithm, AlgorithmClient, ClientSetup, FederationSetup, GlobalAggregator } from './algorithm';
import { checkGlobal, copyTensors, gradsFor, klDivergence, runEpoch, stopGradient, type BatchStep } from './baseline-kit';

export interface FmlOptions {
  /** Weight of the private model's CE; 1 - alpha goes to its distillation (paper: 0.5). */
  readonly alpha: number;
  /** Weight of the meme model's CE; 1 - beta goes to its distillation (paper: 0.5). */
  readonly beta: number;
}

export const FML_DEFAULTS: FmlOptions = { alpha: 0.5, beta: 0.5 };

/** The shared model's architecture: the smallest of the zoo. */
export const SHARED_MODEL_KIND: ModelKind = 'cnn5';

/** A shared zoo model's parameters under `<prefix>/<layer>/...`, in parameterSpec order. */
export function sharedModelSpec(prefix: string, setup: FederationSetup): TensorSpec[] {
  return parameterSpec(modelSpec(SHARED_MODEL_KIND, setup.input, setup.numClasses)).map((p) => ({ name: `${prefix}/${p.name}`, shape: p.shape }));
}

/** Seeded initial parameters of a shared model, identical on every machine. */
export function initialSharedModel(prefix: string, setup: FederationSetup, seed: number): NamedTensor[] {
  const spec = modelSpec(SHARED_MODEL_KIND, setup.input, setup.numClasses);
  return initialParameters(spec, deriveSeed(seed, prefix)).map((t) => ({ ...t, name: `${prefix}/${t.name}` }));
}

/** Overwrites a shared model's variables with `<prefix>/...` tensors. */
export function loadSharedModel(vars: ModelVariables, prefix: string, tensors: readonly NamedTensor[]): void {
  for (const t of tensors) {
    const v = vars.byName.get(t.name.slice(prefix.length + 1));
    if (!t.name.startsWith(`${prefix}/`) || !v) throw new Error(`unexpected shared-model tensor "${t.name}"`);
    tf.tidy(() => v.assign(tf.tensor(t.values, [...t.shape], 'float32')));
  }
}

export async function readSharedModel(vars: ModelVariables, prefix: string): Promise<NamedTensor[]> {
  const names = parameterSpec(vars.spec).map((p) => p.name);
  return (await readVariables(names, vars.byName)).map((t) => ({ ...t, name: `${prefix}/${t.name}` }));
}

/** A shared model's variables on one client (values come from the global each round). */
export function createSharedVariables(setup: FederationSetup): { spec: ModelSpec; vars: ModelVariables } {
  const spec = modelSpec(SHARED_MODEL_KIND, setup.input, setup.numClasses);
  return { spec, vars: createModelVariables(spec, initialParameters(spec, 0)) };
}

const PREFIX = 'meme';

function createFmlClient(setup: ClientSetup, options: FmlOptions): AlgorithmClient {
  const { federation, training } = setup;
  const spec = modelSpec(setup.modelKind, federation.input, federation.numClasses);
  const model = new PrivateModel(spec, deriveSeed(setup.seed, 'model'), training);
  const shared = createSharedVariables(federation);
  const meme = shared.vars;
  const memeOptimizer = new SgdMomentum(training, meme.byName);
  const train = sampleSetOf(setup.train);
  const test = sampleSetOf(setup.test);
  const flopsPerSample = trainStepFlops(modelStages(spec, true)) + trainStepFlops(modelStages(shared.spec, true));
  const schema = sharedModelSpec(PREFIX, federation);
  const privateVars = model.vars.list as tf.Variable[];
  const memeVars = meme.list as tf.Variable[];
  const { alpha, beta } = options;

  const step: BatchStep = (x, y) => {
    let privateLoss: tf.Scalar | undefined;
    const { grads } = tf.variableGrads(() => {
      const zp = head(model.vars, representation(model.vars, x));
      const zm = head(meme, representation(meme, x));
      const lossP = tf.add(tf.mul(crossEntropy(zp, y), alpha), tf.mul(klDivergence(stopGradient(zm), zp), 1 - alpha)) as tf.Scalar;
      const lossM = tf.add(tf.mul(crossEntropy(zm, y), beta), tf.mul(klDivergence(stopGradient(zp), zm), 1 - beta));
      privateLoss = tf.keep(lossP);
      // One tape for both: with the targets detached, d(lossP + lossM)/d(private) = d lossP/d(private), and likewise for the meme.
      return tf.add(lossP, lossM) as tf.Scalar;
    }, [...privateVars, ...memeVars]);
    model.optimizer.step(gradsFor(grads, privateVars));
    memeOptimizer.step(gradsFor(grads, memeVars));
    return [privateLoss!];
  };

  return {
    privateModelBytes: model.byteSize,
    async fit(global, round) {
      checkGlobal(global, schema, 'fml');
      const rng = createRng(deriveSeed(setup.seed, 'batches', round));
      loadSharedModel(meme, PREFIX, global);
      // The meme model restarts from the global one each round, so does its momentum.
      memeOptimizer.reset();
      let loss = 0;
      for (let e = 0; e < training.localEpochs; e++) loss = await runEpoch(train, spec.input, training.batchSize, rng, step);
      return {
        tensors: await readSharedModel(meme, PREFIX),
        numSamples: train.count,
        trainFlops: flopsPerSample * train.count * training.localEpochs,
        trainLoss: loss,
      };
    },
    evaluate: () => model.evaluate(test),
    // The meme model is reloaded from the global every round: only the private model persists.
    privateState: () => model.state(),
    loadPrivateState: (tensors) => model.loadState(tensors),
    dispose() {
      memeOptimizer.dispose();
      disposeModelVariables(meme);
      model.dispose();
    },
  };
}

/** FML with explicit hyper-parameters (the registry uses FML_DEFAULTS). */
export function createFml(overrides: Partial<FmlOptions> = {}): Algorithm {
  const options: FmlOptions = { ...FML_DEFAULTS, ...overrides };
  for (const key of ['alpha', 'beta'] as const) {
    if (!(options[key] >= 0 && options[key] <= 1)) throw new Error(`fml: ${key} must be in [0, 1], got ${options[key]}`);
  }
  return {
    name: 'fml',
    summary: 'federated mutual learning: a shared CNN-5 meme model trained by mutual distillation with the private CNN; clients upload it',
    globalSpec: (setup) => sharedModelSpec(PREFIX, setup),
    updateSpec: (setup) => sharedModelSpec(PREFIX, setup),
    initialGlobal: (setup, seed) => initialSharedModel(PREFIX, setup, seed),
    createAggregator(global, setup, aggregatorOptions): GlobalAggregator {
      const mean = new WeightedMeanAccumulator(sharedModelSpec(PREFIX, setup), { pool: aggregatorOptions?.pool });
      return {
        begin: (weight) => mean.beginClient(weight),
        add: (update, weight) => mean.add(update, weight),
        get clients() {
          return mean.clients;
        },
        result: () => (mean.clients === 0 ? copyTensors(global) : mean.result()),
        release: () => mean.release(),
      };
    },
    createClient: (setup) => createFmlClient(setup, options),
  };
}

export const fml: Algorithm = createFml();
