/**
 * pFedLoRA with the adapter inside the transformer (issue 18, plug point b),
 * server half, without tfjs: LoRA on the query and value projections of every
 * encoder block, W_q + (alpha / r) A B and W_v likewise (A: [w, r], B: [r, w]).
 * A block's Q/V shape is [w, w], so a LoRA pair can be shared only among
 * blocks of the same width: the payload holds one group per (width, block
 * index) of the zoo's transformer family (TRANSFORMER_SIZES), and each group
 * is averaged only over the clients whose model has that block.
 *
 * The global's schema depends on the family and the rank alone (no run
 * option). A client uploads the deltas of its own groups only, in the
 * global's order: which groups those are is decided at Join from its model
 * descriptor (clientUpdate: a zoo transformer's width and depth), so the
 * coordinator knows each client's tensor list, and a model without the
 * blocks is refused there. Each group's sum and weight are kept apart:
 *   A_g += sum_{k has g} n_k delta_kg / sum_{k has g} n_k,
 * and a group nobody has stays as it was. The mean is per group, not the
 * run's weighted mean of whole updates, so updateIsDelta is false: the
 * coordinator refuses robust rules, clipping and DP noise for this algorithm.
 */
import { AggregationError, createRng, deriveSeed, FoldingAccumulator, foldRange, sizeOfShape, specOf, uniform, type ModelDescriptor, type NamedTensor, type TensorSpec } from '@pfedlora/core';
import { isTransformer, TRANSFORMER_SIZES, type TransformerSize } from '../../transformer-spec';
import type { ClientUpdatePart, FederationSetup, GlobalAggregator, ServerAlgorithm, UpdateContribution } from '../algorithm';

/** One shared LoRA group: the blocks at `block` (1-based) of the models of width `width`. */
export interface QvGroup {
  readonly width: number;
  readonly block: number;
}

export const QV_PROJECTIONS = ['query', 'value'] as const;

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

/** Every group's tensors: what the run's clients upload between them; each sends its own groups' (qvClientSpec). */
function updateSpec(setup: FederationSetup): TensorSpec[] {
  return globalSpec(setup);
}

/** The upload of a model of this size: its groups' factors, in the global's order. */
export function qvClientSpec(size: TransformerSize, rank: number): TensorSpec[] {
  return groupsOf(size).flatMap((g) => groupSpec(g, rank));
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

/** The group prefix of one of its tensors' names: qv/w64/block2/query/down -> qv/w64/block2. */
export const groupOfTensor = (name: string): string => name.slice(0, name.lastIndexOf('/', name.lastIndexOf('/') - 1));

/**
 * The server step: per group, the sample-weighted sum of the deltas of the
 * clients that sent it and their total weight (float64), then
 * A_g = previous A_g + sum / weight. An update holds whole groups of the
 * global, in its order (a client's qvClientSpec); each distinct set of groups
 * gets its own FoldingAccumulator (the staging and checks every upload gets),
 * all folding into the same sums. Memory: one global's worth of sums.
 */
export class QvGroupMean implements GlobalAggregator {
  private readonly sums: Map<string, Float64Array>;
  private readonly weights = new Map<string, number>();
  private readonly bySpec = new Map<string, FoldingAccumulator>();
  private readonly fullSpec: TensorSpec[];

  constructor(private readonly global: readonly NamedTensor[]) {
    this.fullSpec = specOf(global);
    this.sums = new Map(global.map((t) => [t.name, new Float64Array(t.values.length)]));
  }

  get clients(): number {
    let n = 0;
    for (const acc of this.bySpec.values()) n += acc.clients;
    return n;
  }

  begin(weight: number, spec: readonly TensorSpec[] = this.fullSpec): UpdateContribution {
    return this.accumulatorFor(spec).beginClient(weight);
  }

  add(update: readonly NamedTensor[], weight: number): void {
    this.accumulatorFor(specOf(update)).add(update, weight);
  }

  result(): NamedTensor[] {
    return this.global.map((t) => {
      const weight = this.weights.get(groupOfTensor(t.name)) ?? 0;
      const values = t.values.slice();
      const sum = this.sums.get(t.name)!;
      if (weight > 0) for (let j = 0; j < values.length; j++) values[j] = values[j]! + sum[j]! / weight;
      return { name: t.name, shape: [...t.shape], values };
    });
  }

  /** The accumulator for updates of this tensor list; refused unless it is whole groups of the global, in order. */
  private accumulatorFor(spec: readonly TensorSpec[]): FoldingAccumulator {
    const key = spec.map((s) => s.name).join(',');
    const known = this.bySpec.get(key);
    if (known) return known;
    checkGroupSubset(spec, this.fullSpec);
    const acc = new FoldingAccumulator(spec, (update, weight) => this.fold(update, weight));
    this.bySpec.set(key, acc);
    return acc;
  }

  private fold(update: readonly NamedTensor[], weight: number): void {
    for (const t of update) foldRange(this.sums.get(t.name)!, t.values, weight, false);
    for (const group of new Set(update.map((t) => groupOfTensor(t.name)))) this.weights.set(group, (this.weights.get(group) ?? 0) + weight);
  }
}

/** Throws unless `spec` is whole groups of `full` (every factor of each), in `full`'s order, shapes equal. */
function checkGroupSubset(spec: readonly TensorSpec[], full: readonly TensorSpec[]): void {
  const groups = new Set(spec.map((s) => groupOfTensor(s.name)));
  const expected = full.filter((s) => groups.has(groupOfTensor(s.name)));
  const same = expected.length === spec.length && expected.every((e, i) => e.name === spec[i]!.name && e.shape.join() === spec[i]!.shape.join());
  if (!same || spec.length === 0) {
    throw new AggregationError(`pfedlora-qv update ${spec.map((s) => `${s.name}[${s.shape.join(',')}]`).join(', ') || '(none)'} is not whole groups of the global in its order (expected ${expected.map((s) => s.name).join(', ') || 'at least one group'})`);
  }
}

/** The rule a client's model must meet: pfedlora-qv puts LoRA inside the blocks of the zoo's transformers. */
export const QV_MODEL_RULE = 'pfedlora-qv puts LoRA on the query and value projections of transformer blocks: it needs a zoo transformer (tfm1..tfm4)';

/** A zoo transformer sends the update; any other model cannot take part. */
function clientUpdate(setup: FederationSetup, model: ModelDescriptor): ClientUpdatePart {
  if (model.family !== 'transformer' || !isTransformer(model.name)) return { refused: QV_MODEL_RULE };
  return { spec: qvClientSpec(TRANSFORMER_SIZES[model.name], setup.rank) };
}

export const pfedloraQvServer: ServerAlgorithm = {
  name: 'pfedlora-qv',
  summary: 'LoRA on the query/value projections of transformer blocks, each (width, block) averaged among the clients that have it',
  globalSpec,
  updateSpec,
  clientUpdate,
  initialGlobal,
  createAggregator: (global): GlobalAggregator => new QvGroupMean(global),
};
