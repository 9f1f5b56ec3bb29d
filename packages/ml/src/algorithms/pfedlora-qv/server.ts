/**
 * pFedLoRA with the adapter inside the transformer (issue 18, plug point b),
 * server half, without tfjs: LoRA on the query and value projections of every
 * encoder block, W_q + (alpha / r) A B and W_v likewise (A: [w, r], B: [r, w]).
 * A block's Q/V shape is [w, w], so a LoRA pair can be shared only among
 * blocks of the same width: the payload holds one group per (width, block
 * index) of the zoo's transformer family (TRANSFORMER_SIZES), and each group
 * is averaged only over the clients whose model has that block.
 *
 * The schema depends on the family and the rank alone (no run option, no
 * wire change). A client uploads the delta of its own groups, zeros for the
 * others, and `qv/present` [G]: 1 for a group it has, 0 otherwise. Under the
 * sample-weighted mean (weight n_k) the mean of `present` is
 * sum_{k has g} n_k / sum_k n_k, so
 *   A_g += mean(delta_g) / mean(present_g) = sum_{k has g} n_k delta_kg / sum_{k has g} n_k,
 * and a group nobody has stays as it was. The zero-filled deltas are not a
 * delta under a robust rule (a median over them would count the absent
 * clients), so updateIsDelta is false: the coordinator refuses robust rules,
 * clipping and DP noise for this algorithm.
 */
import { createRng, deriveSeed, sizeOfShape, uniform, type ModelDescriptor, type NamedTensor, type TensorSpec } from '@pfedlora/core';
import { isTransformer, TRANSFORMER_SIZES, type TransformerSize } from '../../transformer-spec';
import type { ClientUpdatePart, FederationSetup, GlobalAggregator, ServerAlgorithm } from '../algorithm';
import { weightedMeanAggregator } from '../common/server';

/** One shared LoRA group: the blocks at `block` (1-based) of the models of width `width`. */
export interface QvGroup {
  readonly width: number;
  readonly block: number;
}

export const QV_PROJECTIONS = ['query', 'value'] as const;
export const QV_PRESENT = 'qv/present';

export const groupPrefix = (g: QvGroup): string => `qv/w${g.width}/block${g.block}`;

/** Every (width, block) of the family, by width then block: the payload's groups. */
export function qvGroups(sizes: readonly TransformerSize[] = Object.values(TRANSFORMER_SIZES)): QvGroup[] {
  const depth = new Map<number, number>();
  for (const s of sizes) depth.set(s.width, Math.max(depth.get(s.width) ?? 0, s.blocks));
  return [...depth.entries()]
    .sort(([a], [b]) => a - b)
    .flatMap(([width, blocks]) => Array.from({ length: blocks }, (_, i) => ({ width, block: i + 1 })));
}

/** The groups a model of this size has: its width, its first `blocks` blocks. */
export const groupsOf = (size: TransformerSize): QvGroup[] => qvGroups().filter((g) => g.width === size.width && g.block <= size.blocks);

/** A group's four factors: down A [w, r] and up B [r, w] for Q and for V. */
export function groupSpec(g: QvGroup, rank: number): TensorSpec[] {
  if (!Number.isInteger(rank) || rank < 1 || rank > g.width) throw new Error(`LoRA rank must be an integer in [1, ${g.width}] (the block width), got ${rank}`);
  return QV_PROJECTIONS.flatMap((p) => [
    { name: `${groupPrefix(g)}/${p}/down`, shape: [g.width, rank] },
    { name: `${groupPrefix(g)}/${p}/up`, shape: [rank, g.width] },
  ]);
}

function globalSpec(setup: FederationSetup): TensorSpec[] {
  return qvGroups().flatMap((g) => groupSpec(g, setup.rank));
}

function updateSpec(setup: FederationSetup): TensorSpec[] {
  return [...globalSpec(setup), { name: QV_PRESENT, shape: [qvGroups().length] }];
}

/** LoRA init, identical on every machine: A uniform in +-1/sqrt(w), B zeros, so a fresh adapter changes nothing. */
function initialGlobal(setup: FederationSetup, seed: number): NamedTensor[] {
  return globalSpec(setup).map((s) => {
    const values = new Float32Array(sizeOfShape(s.shape));
    if (s.name.endsWith('/down')) {
      const rng = createRng(deriveSeed(seed, 'qv', s.name));
      const bound = 1 / Math.sqrt(s.shape[0]!);
      for (let i = 0; i < values.length; i++) values[i] = uniform(rng, -bound, bound);
    }
    return { name: s.name, shape: [...s.shape], values };
  });
}

/** The next global from the weighted means of the uploads: each group moved by its own clients' mean delta. */
export function foldQvMean(global: readonly NamedTensor[], mean: readonly NamedTensor[]): NamedTensor[] {
  const present = mean.find((t) => t.name === QV_PRESENT)!.values;
  const groupIndex = new Map(qvGroups().map((g, i) => [groupPrefix(g), i]));
  return global.map((t, i) => {
    const share = present[groupIndex.get(t.name.slice(0, t.name.lastIndexOf('/', t.name.lastIndexOf('/') - 1)))!]!;
    const delta = mean[i]!.values;
    const values = t.values.slice();
    if (share > 0) for (let j = 0; j < values.length; j++) values[j]! += delta[j]! / share;
    return { name: t.name, shape: [...t.shape], values };
  });
}

/** The rule a client's model must meet: pfedlora-qv puts LoRA inside the blocks of the zoo's transformers. */
export const QV_MODEL_RULE = 'pfedlora-qv puts LoRA on the query and value projections of transformer blocks: it needs a zoo transformer (tfm1..tfm4)';

/** A zoo transformer sends the update; any other model cannot take part. */
function clientUpdate(setup: FederationSetup, model: ModelDescriptor): ClientUpdatePart {
  if (model.family !== 'transformer' || !isTransformer(model.name)) return { refused: QV_MODEL_RULE };
  return { spec: updateSpec(setup) };
}

export const pfedloraQvServer: ServerAlgorithm = {
  name: 'pfedlora-qv',
  summary: 'LoRA on the query/value projections of transformer blocks, each (width, block) averaged among the clients that have it',
  globalSpec,
  updateSpec,
  clientUpdate,
  initialGlobal,
  createAggregator: (global, setup, options): GlobalAggregator => weightedMeanAggregator(global, updateSpec(setup), options, (mean) => foldQvMean(global, mean)),
};
