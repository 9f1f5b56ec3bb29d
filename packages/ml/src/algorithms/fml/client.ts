/**
 * FML's client half: load the global meme model (its momentum restarts at
 * zero), then E epochs where each batch trains the private model and the meme
 * model at once by deep mutual learning; upload the trained meme model.
 */
import * as tf from '@tensorflow/tfjs-core';
import { modelStages, trainStepFlops } from '../../flops';
import { crossEntropy } from '../../optimizer';
import { head, representation } from '../../zoo';
import type { AlgorithmClient, ClientSetup } from '../algorithm';
import { shardGradients } from '../../parallel/data-parallel';
import { SharedModelCopy, gradsFor, klDivergence, stopGradient, type BatchStep } from '../common/client';
import { checkGlobal, sharedModelSpec } from '../common/server';
import { createPrivateClient } from '../private-client';
import { FML_PREFIX as PREFIX } from './server';

export interface FmlOptions {
  /** Weight of the private model's CE; 1 - alpha goes to its distillation (paper: 0.5). */
  readonly alpha: number;
  /** Weight of the meme model's CE; 1 - beta goes to its distillation (paper: 0.5). */
  readonly beta: number;
}

export const FML_DEFAULTS: FmlOptions = { alpha: 0.5, beta: 0.5 };

export function createFmlClient(setup: ClientSetup, options: FmlOptions): AlgorithmClient {
  const { federation, training } = setup;
  const client = createPrivateClient(setup);
  const { model } = client;
  const meme = new SharedModelCopy(PREFIX, federation, training, setup.train.sampleShape);
  const flopsPerSample = client.flopsPerSample + trainStepFlops(modelStages(meme.spec, true));
  const schema = sharedModelSpec(PREFIX, federation);
  const privateVars = model.variables as tf.Variable[];
  const memeVars = meme.vars.list as tf.Variable[];
  const { alpha, beta } = options;

  const step: BatchStep = (x, y, batch) => {
    let privateLoss: tf.Scalar | undefined;
    const { grads } = shardGradients(batch, () => {
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
