/**
 * pfedlora-qv's client half (server.ts has the payload): the client's zoo
 * transformer runs with LoRA on its blocks' query and value kernels,
 *   W_q + (alpha / r) A_q B_q,   W_v + (alpha / r) A_v B_v,
 * A and B from the global group of the model's width at that block.
 *
 * The round is pFedLoRA's two steps: step 1, LoRA frozen (in the graph), train
 * the private transformer for E epochs; step 2, the transformer frozen, train
 * the LoRA factors for E epochs. Unlike the adapter at h, step 2 cannot run on
 * cached representations (the LoRA sits inside the blocks), so each step-2
 * epoch is a forward and a backward through the whole frozen model; it runs
 * E epochs (as many as step 1), not `adapterEpochs`, which counts cheap epochs
 * on cached h. The two steps are kept (rather than one joint step) so that
 * this plug point differs from the adapter at h in where it plugs only.
 *
 * Only zoo transformers (tfm1..tfm4) have the blocks: any other model is
 * refused when the client is created, with a message naming the model.
 */
import * as tf from '@tensorflow/tfjs-core';
import { subtractTensors, type NamedTensor } from '@pfedlora/core';
import { SgdMomentum, crossEntropy } from '../../optimizer';
import { isTransformer, modelSpec, zooNetwork, type KernelDelta } from '../../zoo';
import { TRANSFORMER_SIZES } from '../../transformer-spec';
import type { AlgorithmClient, ClientSetup } from '../algorithm';
import { shardGradients } from '../../parallel/data-parallel';
import { runEpoch } from '../common/client';
import { createPrivateClient, lastEpochLoss } from '../private-client';
import { privateNetworkSeed } from '../../model-source';
import { QV_MODEL_RULE, QV_PROJECTIONS, qvClientSpec, groupPrefix } from './server';

/**
 * The LoRA terms of a transformer of width `width`: block<b>/<query|value>/kernel
 * -> scale * A B, the factors by their payload names (`factor`); other kernels: none.
 */
export function qvKernelDelta(factor: (name: string) => tf.Tensor, width: number, scale: number): KernelDelta {
  return (kernel) => {
    const [block, projection] = kernel.split('/');
    if (!(QV_PROJECTIONS as readonly string[]).includes(projection!)) return undefined;
    const prefix = `${groupPrefix({ width, block: Number(block!.slice('block'.length)) })}/${projection}`;
    return tf.mul(tf.matMul(factor(`${prefix}/down`), factor(`${prefix}/up`)), scale);
  };
}

export function createPFedLoRAQvClient(setup: ClientSetup): AlgorithmClient {
  const { federation, training, model: source } = setup;
  if (source.kind !== 'zoo' || !isTransformer(source.model)) {
    throw new Error(`${QV_MODEL_RULE}, got ${source.kind === 'zoo' ? source.model : `a ${source.kind} model`}`);
  }
  const size = TRANSFORMER_SIZES[source.model];
  // Its own groups' factors, in the global's order: what it uploads (the coordinator expects them from its Join).
  const specs = qvClientSpec(size, federation.rank);
  const lora = new Map(specs.map((s) => [s.name, tf.variable(tf.zeros([...s.shape]), true)]));
  const factor = (name: string) => lora.get(name)!;
  const kernelDelta = qvKernelDelta(factor, size.width, federation.alpha / federation.rank);
  const spec = modelSpec(source.model, source.input ?? federation.input, federation.numClasses, federation.representationDim);
  const client = createPrivateClient(setup, zooNetwork(spec, privateNetworkSeed(setup.seed), kernelDelta));
  const { model, train } = client;
  const loraOptimizer = new SgdMomentum(training, lora);
  const variables = [...lora.values()];
  // Step 2 per sample: a forward and the input gradients back through the frozen model (about two
  // forwards). The merged kernel W + s A B costs 2 w r w per batch, not per sample: left out.
  const step2 = 2 * (model.network.flops.extractorForward + model.network.flops.headForward);

  const load = (tensors: readonly NamedTensor[]) => {
    for (const t of tensors) {
      const v = lora.get(t.name);
      if (v) tf.tidy(() => v.assign(tf.tensor(t.values, [...t.shape], 'float32')));
    }
  };
  const read = async (): Promise<NamedTensor[]> => Promise.all(specs.map(async (s) => ({ name: s.name, shape: [...s.shape], values: (await factor(s.name).data()) as Float32Array })));

  return {
    ...client.members,
    async fit(global, round) {
      const rng = client.batchOrder(round);
      load(global);
      await client.localEpochs(rng);
      loraOptimizer.reset();
      const loss = await lastEpochLoss(training.localEpochs, () =>
        runEpoch(train, model, training.batchSize, rng, (x, y, batch) => {
          const { value, grads } = shardGradients(batch, () => crossEntropy(model.head(model.representation(x, 'train'), 'train'), y), variables);
          loraOptimizer.step(grads);
          return [value];
        }),
      );
      const received = new Map(global.map((t) => [t.name, t]));
      const local = await read();
      const delta = subtractTensors(local, local.map((t) => received.get(t.name)!));
      return client.update(delta, loss, client.localTrainFlops() + train.count * training.localEpochs * step2);
    },
    // The local LoRA is part of the personalized model between rounds.
    privateState: async () => [...(await model.state()), ...(await read())],
    loadPrivateState(tensors) {
      model.loadState(tensors.filter((t) => !t.name.startsWith('qv/')));
      load(tensors.filter((t) => t.name.startsWith('qv/')));
    },
    dispose() {
      loraOptimizer.dispose();
      for (const v of variables) v.dispose();
      model.dispose();
    },
  };
}
