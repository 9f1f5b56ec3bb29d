/**
 * The part of an algorithm client that every algorithm here builds the same
 * way around one PrivateModel: the seeded private model, the client's train
 * and test splits, the round's batch order, the local epochs, the
 * ClientUpdate, and the AlgorithmClient members that touch the private model
 * alone. An algorithm adds its own fit and overrides the members that hold
 * more than the model (FedProto's last prototypes, FML's meme model, ...).
 */
import { createRng, deriveSeed, type NamedTensor, type Rng } from '@pfedlora/core';
import { sampleSetOf, type Batch, type SampleSet } from '../batches';
import { createNetwork, privateNetworkSeed } from '../model-source';
import type { PrivateNetwork } from '../network';
import { PrivateModel } from '../private-model';
import type { AlgorithmClient, ClientSetup, ClientUpdate } from './algorithm';
import { runEpoch, type BatchStep } from './common/client';

/** The AlgorithmClient members that concern the private model and nothing else. */
export type PrivateModelMembers = Pick<AlgorithmClient, 'privateModelBytes' | 'evaluate' | 'privateState' | 'loadPrivateState' | 'dispose'>;

export interface PrivateClient {
  readonly model: PrivateModel;
  readonly train: SampleSet;
  readonly test: SampleSet;
  /** Training FLOPs per sample of one cross-entropy epoch of the private model alone. */
  readonly flopsPerSample: number;
  /** Spread first into the client; an algorithm overrides what it keeps beside the model. */
  readonly members: PrivateModelMembers;
  /**
   * The round's batch order. It depends on (seed, round) only, so a round
   * trained again from a restored private state (after a coordinator
   * restart) repeats exactly.
   */
  batchOrder(round: number): Rng;
  /**
   * `training.localEpochs` epochs over the train split in `rng`'s order: of
   * `step` (with `onBatch` seeing its extras, see runEpoch), or without one of
   * the private model's own cross-entropy step. Returns the last epoch's mean
   * loss, the loss a round reports (0 for no epoch).
   */
  localEpochs(rng: Rng, step?: BatchStep, onBatch?: (extras: Float32Array[], batch: Batch) => void): Promise<number>;
  /** FLOPs of the round's local epochs at `flopsPerSample` (default: the private model's). */
  localTrainFlops(flopsPerSample?: number): number;
  /** The round's update, weighted by the train split's size; `trainFlops` defaults to localTrainFlops(). */
  update(tensors: NamedTensor[], trainLoss: number, trainFlops?: number): ClientUpdate;
}

/** Runs `epochs` epochs and returns the last one's mean loss (0 for no epoch). */
export async function lastEpochLoss(epochs: number, epoch: () => Promise<number>): Promise<number> {
  let loss = 0;
  for (let e = 0; e < epochs; e++) loss = await epoch();
  return loss;
}

/** `network`: one the algorithm built itself (pfedlora-qv's transformer with LoRA inside); default: the setup's model. */
export function createPrivateClient(setup: ClientSetup, network?: PrivateNetwork): PrivateClient {
  const { federation, training } = setup;
  const model = new PrivateModel(network ?? createNetwork(setup.model, federation, privateNetworkSeed(setup.seed)), training);
  const train = sampleSetOf(setup.train);
  const test = sampleSetOf(setup.test);
  const flopsPerSample = model.network.flops.trainStep;
  const localTrainFlops = (perSample = flopsPerSample) => perSample * train.count * training.localEpochs;
  return {
    model,
    train,
    test,
    flopsPerSample,
    members: {
      privateModelBytes: model.byteSize,
      evaluate: () => model.evaluate(test),
      privateState: () => model.state(),
      loadPrivateState: (tensors) => model.loadState(tensors),
      dispose: () => model.dispose(),
    },
    batchOrder: (round) => createRng(deriveSeed(setup.seed, 'batches', round)),
    localEpochs: (rng, step, onBatch) =>
      lastEpochLoss(training.localEpochs, async () =>
        step ? runEpoch(train, model, training.batchSize, rng, step, onBatch) : (await model.trainEpoch(train, training.batchSize, rng)).meanLoss,
      ),
    localTrainFlops,
    update: (tensors, trainLoss, trainFlops = localTrainFlops()) => ({ tensors, numSamples: train.count, trainFlops, trainLoss }),
  };
}
