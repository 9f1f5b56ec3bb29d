/**
 * Analytic FLOP counts from layer shapes, the same counter for every algorithm
 * (docs/algorithm.md, "Cost accounting"). One multiply-add is 2 FLOPs; biases,
 * activations, pooling and the loss are ignored (under 1% for the zoo).
 * Backward of a layer costs one forward for its weight gradient if it is
 * trained, plus one forward for its input gradient if anything before it is
 * trained (the first layer never needs an input gradient).
 */
import { encoderBlockFlops } from './transformer-spec';
import type { LayerSpec, ModelSpec } from './zoo-spec';

/**
 * Forward FLOPs of one layer on one sample. An embedding is a lookup and a
 * pool a mean (0); an encoder block counts its projections, attention and MLP
 * (transformer-spec.ts). Attention's score and mix products have no weights
 * but two differentiable operands each, so their backward is still twice
 * their forward, the rule trainStepFlops applies to every layer.
 */
export function layerForwardFlops(layer: LayerSpec): number {
  switch (layer.kind) {
    case 'conv':
      return 2 * layer.kernel * layer.kernel * layer.inChannels * layer.outChannels * layer.outHeight * layer.outWidth;
    case 'dense':
      return 2 * layer.inUnits * layer.outUnits;
    case 'encoder':
      return encoderBlockFlops(layer.tokens, layer.width, layer.mlp);
    case 'embedding':
    case 'pool':
      return 0;
  }
}

/** A stage of a network for counting: its forward cost and whether it is trained. */
export interface CostStage {
  readonly forward: number;
  readonly trained: boolean;
}

/** FLOPs of one training step on one sample through `stages` in input-to-output order. */
export function trainStepFlops(stages: readonly CostStage[]): number {
  let total = 0;
  let anyTrainedBefore = false;
  for (const stage of stages) {
    total += stage.forward;
    if (stage.trained) total += stage.forward;
    if (anyTrainedBefore) total += stage.forward;
    anyTrainedBefore ||= stage.trained;
  }
  return total;
}

/** Forward FLOPs of one sample through the representation extractor (all layers but the head). */
export function extractorForwardFlops(spec: ModelSpec): number {
  return spec.layers.slice(0, -1).reduce((n, l) => n + layerForwardFlops(l), 0);
}

export function headForwardFlops(spec: ModelSpec): number {
  return layerForwardFlops(spec.layers[spec.layers.length - 1]!);
}

/** Forward FLOPs of the low-rank adapter branch h -> (h D) U. */
export function adapterForwardFlops(representationDim: number, rank: number, numClasses: number): number {
  return 2 * representationDim * rank + 2 * rank * numClasses;
}

/** Per-sample stages of a zoo model, each layer trained or not. */
export function modelStages(spec: ModelSpec, trained: boolean): CostStage[] {
  return spec.layers.map((l) => ({ forward: layerForwardFlops(l), trained }));
}
