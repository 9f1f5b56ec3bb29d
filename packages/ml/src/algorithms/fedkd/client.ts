/**
 * FedKD's client half: the private model (mentor), a copy of the shared
 * mentee and a private projection W_h trained together by adaptive mutual
 * distillation; the mentee delta is uploaded as truncated SVD factors
 * (codec.ts) at the round's energy threshold.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRng, deriveSeed, uniform } from '@pfedlora/core';
import { modelStages, trainStepFlops } from '../../flops';
import { SgdMomentum, crossEntropy } from '../../optimizer';
import { head, representation } from '../../zoo';
import type { AlgorithmClient, ClientSetup, FederationSetup } from '../algorithm';
import { SharedModelCopy, gradsFor, klDivergence, stopGradient, type BatchStep } from '../common/client';
import { checkGlobal, sharedModelSpec, sharedModelSpecOf } from '../common/server';
import { createPrivateClient } from '../private-client';
import { encodeMenteeDelta, energyAt, FEDKD_PREFIX, menteeCodecs, type CompressionReport, type FedKdOptions } from './codec';

const PROJECTION = 'projection';
const STATE_PREFIX = 'fedkd/';

/** The hidden-state projection W_h, initialised like nn.Linear(d, d, bias=False). */
function initialProjection(seed: number, d: number): Float32Array {
  const rng = createRng(deriveSeed(seed, 'fedkd-projection'));
  const bound = 1 / Math.sqrt(d);
  const values = new Float32Array(d * d);
  for (let i = 0; i < values.length; i++) values[i] = uniform(rng, -bound, bound);
  return values;
}

/** Per-sample training FLOPs of one FedKD epoch: both CNNs trained, plus W_h's forward, weight gradient and input gradient. */
export function fedkdFlopsPerSample(setup: FederationSetup, privateTrainStepFlops: number): number {
  const projection = 2 * setup.representationDim * setup.representationDim;
  return privateTrainStepFlops + trainStepFlops(modelStages(sharedModelSpecOf(setup), true)) + 3 * projection;
}

export interface FedKdClient extends AlgorithmClient {
  /** Ranks kept in the last upload. */
  readonly lastCompression: CompressionReport | undefined;
}

export function createFedKdClient(setup: ClientSetup, options: FedKdOptions): FedKdClient {
  const { federation, training } = setup;
  const client = createPrivateClient(setup);
  const { model } = client;
  const mentee = new SharedModelCopy(FEDKD_PREFIX, federation, training, setup.train.sampleShape);
  const d = federation.representationDim;
  const projection = tf.tidy(() => tf.variable(tf.tensor2d(initialProjection(setup.seed, d), [d, d]), true));
  const projectionOptimizer = new SgdMomentum(training, new Map([[PROJECTION, projection]]));
  const flopsPerSample = fedkdFlopsPerSample(federation, client.flopsPerSample);
  const schema = sharedModelSpec(FEDKD_PREFIX, federation);
  const codecs = menteeCodecs(federation, options.maxRank);
  const mentorVars = model.variables as tf.Variable[];
  const menteeVars = mentee.vars.list as tf.Variable[];
  let lastCompression: CompressionReport | undefined;

  const step: BatchStep = (x, y) => {
    let mentorLoss: tf.Scalar | undefined;
    const { grads } = tf.variableGrads(() => {
      const ht = model.representation(x, 'train');
      const zt = model.head(ht, 'train');
      const hs = representation(mentee.vars, x);
      const zs = head(mentee.vars, hs);
      const ceT = crossEntropy(zt, y);
      const ceS = crossEntropy(zs, y);
      // Adaptive intensity: both models' losses high -> their predictions are unreliable -> distil less.
      const intensity = tf.div(1, stopGradient(tf.add(ceT, ceS)));
      const projected = tf.matMul(hs, projection);
      const hiddenT = tf.mean(tf.squaredDifference(ht, stopGradient(projected)));
      const hiddenS = tf.mean(tf.squaredDifference(stopGradient(ht), projected));
      const lossT = tf.add(ceT, tf.mul(intensity, tf.add(klDivergence(stopGradient(zs), zt), hiddenT))) as tf.Scalar;
      const lossS = tf.add(ceS, tf.mul(intensity, tf.add(klDivergence(stopGradient(zt), zs), hiddenS)));
      mentorLoss = tf.keep(lossT);
      return tf.add(lossT, lossS) as tf.Scalar;
    }, [...mentorVars, ...menteeVars, projection]);
    model.step(gradsFor(grads, mentorVars));
    mentee.optimizer.step(gradsFor(grads, menteeVars));
    projectionOptimizer.step(gradsFor(grads, [projection]));
    return [mentorLoss!];
  };

  return {
    ...client.members,
    get lastCompression() {
      return lastCompression;
    },
    privateModelBytes: model.byteSize + projection.size * 4,
    async fit(global, round) {
      checkGlobal(global, schema, 'fedkd');
      const rng = client.batchOrder(round);
      mentee.load(global);
      const loss = await client.localEpochs(rng, step);
      const local = await mentee.read();
      const delta = local.map((t, i) => {
        const g = global[i]!.values;
        const values = new Float32Array(t.values.length);
        for (let j = 0; j < values.length; j++) values[j] = t.values[j]! - g[j]!;
        return { name: t.name, shape: t.shape, values };
      });
      const encoded = encodeMenteeDelta(delta, codecs, energyAt(round, options));
      lastCompression = encoded.report;
      // The client's SVDs (~1 GFLOP a round for CNN-5's fc matrices) are not training and not counted.
      return client.update(encoded.tensors, loss, client.localTrainFlops(flopsPerSample));
    },
    async privateState() {
      const w = { name: `${STATE_PREFIX}${PROJECTION}`, shape: [d, d], values: (await projection.data()) as Float32Array };
      const momentum = (await projectionOptimizer.state()).map((t) => ({ ...t, name: `${STATE_PREFIX}${t.name}` }));
      return [...(await model.state()), w, ...momentum];
    },
    loadPrivateState(tensors) {
      model.loadState(tensors.filter((t) => !t.name.startsWith(STATE_PREFIX)));
      for (const t of tensors.filter((t) => t.name.startsWith(STATE_PREFIX))) {
        const name = t.name.slice(STATE_PREFIX.length);
        if (name === PROJECTION) tf.tidy(() => projection.assign(tf.tensor2d(t.values, [d, d], 'float32')));
        else projectionOptimizer.loadState([{ ...t, name }]);
      }
    },
    dispose() {
      projectionOptimizer.dispose();
      projection.dispose();
      mentee.dispose();
      model.dispose();
    },
  };
}

/** FedKD with explicit hyper-parameters (the registry uses FEDKD_DEFAULTS). */
