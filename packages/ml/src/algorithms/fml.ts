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
import { deriveSeed, type NamedTensor, type TensorSpec } from '@pfedlora/core';
import { modelStages, trainStepFlops } from '../flops';
import { SgdMomentum, crossEntropy, type SgdConfig } from '../optimizer';
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
import { checkGlobal, gradsFor, klDivergence, stopGradient, weightedMeanAggregator, type BatchStep } from './baseline-kit';
import { createPrivateClient } from './private-client';

export interface FmlOptions {
  /** Weight of the private model's CE; 1 - alpha goes to its distillation (paper: 0.5). */
  readonly alpha: number;
  /** Weight of the meme model's CE; 1 - beta goes to its distillation (paper: 0.5). */
  readonly beta: number;
}

export const FML_DEFAULTS: FmlOptions = { alpha: 0.5, beta: 0.5 };

/** The shared model's architecture: the smallest of the zoo for the run's input (CNN-5 for images, MLP-1 for tables). */
export function sharedModelKind(setup: Pick<FederationSetup, 'input'>): ModelKind {
  return setup.input.length === 3 ? 'cnn5' : 'mlp1';
}

/** The shared model's spec: the run's input, classes and d (FedKD distils h, so d must match). */
export function sharedModelSpecOf(setup: FederationSetup): ModelSpec {
  return modelSpec(sharedModelKind(setup), setup.input, setup.numClasses, setup.representationDim);
}

/** A shared zoo model's parameters under `<prefix>/<layer>/...`, in parameterSpec order. */
export function sharedModelSpec(prefix: string, setup: FederationSetup): TensorSpec[] {
  return parameterSpec(sharedModelSpecOf(setup)).map((p) => ({ name: `${prefix}/${p.name}`, shape: p.shape }));
}

/** Seeded initial parameters of a shared model, identical on every machine. */
export function initialSharedModel(prefix: string, setup: FederationSetup, seed: number): NamedTensor[] {
  const spec = sharedModelSpecOf(setup);
  return initialParameters(spec, deriveSeed(seed, prefix)).map((t) => ({ ...t, name: `${prefix}/${t.name}` }));
}

/**
 * One client's copy of a shared zoo model (FML's meme, FedKD's mentee) with
 * its own optimizer, trained beside the private model and uploaded under
 * `<prefix>/...`. Its values come from the global each round.
 */
export class SharedModelCopy {
  readonly spec: ModelSpec;
  readonly vars: ModelVariables;
  readonly optimizer: SgdMomentum;

  constructor(
    readonly prefix: string,
    setup: FederationSetup,
    sgd: SgdConfig,
  ) {
    this.spec = sharedModelSpecOf(setup);
    this.vars = createModelVariables(this.spec, initialParameters(this.spec, 0));
    this.optimizer = new SgdMomentum(sgd, this.vars.byName);
  }

  /** Overwrites the copy with the global `<prefix>/...` tensors; its momentum restarts at zero with it. */
  load(global: readonly NamedTensor[]): void {
    const { prefix } = this;
    for (const t of global) {
      const v = this.vars.byName.get(t.name.slice(prefix.length + 1));
      if (!t.name.startsWith(`${prefix}/`) || !v) throw new Error(`unexpected shared-model tensor "${t.name}"`);
      tf.tidy(() => v.assign(tf.tensor(t.values, [...t.shape], 'float32')));
    }
    this.optimizer.reset();
  }

  /** The copy's parameters under `<prefix>/...`, in parameterSpec order. */
  async read(): Promise<NamedTensor[]> {
    const names = parameterSpec(this.spec).map((p) => p.name);
    return (await readVariables(names, this.vars.byName)).map((t) => ({ ...t, name: `${this.prefix}/${t.name}` }));
  }

  dispose(): void {
    this.optimizer.dispose();
    disposeModelVariables(this.vars);
  }
}

const PREFIX = 'meme';

function createFmlClient(setup: ClientSetup, options: FmlOptions): AlgorithmClient {
  const { federation, training } = setup;
  const client = createPrivateClient(setup);
  const { model } = client;
  const meme = new SharedModelCopy(PREFIX, federation, training);
  const flopsPerSample = client.flopsPerSample + trainStepFlops(modelStages(meme.spec, true));
  const schema = sharedModelSpec(PREFIX, federation);
  const privateVars = model.variables as tf.Variable[];
  const memeVars = meme.vars.list as tf.Variable[];
  const { alpha, beta } = options;

  const step: BatchStep = (x, y) => {
    let privateLoss: tf.Scalar | undefined;
    const { grads } = tf.variableGrads(() => {
      const zp = model.head(model.representation(x, 'train'), 'train');
      const zm = head(meme.vars, representation(meme.vars, x));
      const lossP = tf.add(tf.mul(crossEntropy(zp, y), alpha), tf.mul(klDivergence(stopGradient(zm), zp), 1 - alpha)) as tf.Scalar;
      const lossM = tf.add(tf.mul(crossEntropy(zm, y), beta), tf.mul(klDivergence(stopGradient(zp), zm), 1 - beta));
      privateLoss = tf.keep(lossP);
      // One tape for both: with the targets detached, d(lossP + lossM)/d(private) = d lossP/d(private), and likewise for the meme.
      return tf.add(lossP, lossM) as tf.Scalar;
    }, [...privateVars, ...memeVars]);
    model.step(gradsFor(grads, privateVars));
    meme.optimizer.step(gradsFor(grads, memeVars));
    return [privateLoss!];
  };

  return {
    // The meme model is reloaded from the global every round: only the private model persists.
    ...client.members,
    async fit(global, round) {
      checkGlobal(global, schema, 'fml');
      const rng = client.batchOrder(round);
      meme.load(global);
      const loss = await client.localEpochs(rng, step);
      return client.update(await meme.read(), loss, client.localTrainFlops(flopsPerSample));
    },
    dispose() {
      meme.dispose();
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
    createAggregator: (global, setup, options): GlobalAggregator => weightedMeanAggregator(global, sharedModelSpec(PREFIX, setup), options),
    createClient: (setup) => createFmlClient(setup, options),
  };
}

export const fml: Algorithm = createFml();
