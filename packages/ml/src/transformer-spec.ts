/**
 * The zoo's transformer family for text: small pre-norm encoders over byte
 * tokens (data/tokenizer.ts) that differ in depth, width, heads and MLP size
 * and all end in the run's representation h of width d, like the CNNs and
 * MLPs. Named tfm1..tfm4 ("tf" would read as TensorFlow, which the code calls
 * `tf` everywhere).
 *
 * Layers: token + position embeddings; `blocks` pre-norm encoder blocks
 * (x + MHA(LN(x)), then x + MLP(LN(x)) with GELU); a final layer norm and a
 * mean over the real (non-padding) tokens; fc2: width -> d (ReLU) = h; fc3:
 * the head d -> C. tfm3 and tfm4 share the width 64, so their per-block
 * query/value projections have the same shape.
 *
 * tf-free (the shapes and FLOPs only); transformer.ts runs it on tfjs.
 */
import { BYTE_VOCAB_SIZE } from './data/tokenizer';
import type { InputShape, LayerSpec } from './zoo-spec';

export const TRANSFORMER_KINDS = ['tfm1', 'tfm2', 'tfm3', 'tfm4'] as const;
export type TransformerKind = (typeof TRANSFORMER_KINDS)[number];

export interface TransformerSize {
  readonly blocks: number;
  /** Width of the token vectors (the residual stream). */
  readonly width: number;
  readonly heads: number;
  /** Hidden width of each block's MLP. */
  readonly mlp: number;
}

export const TRANSFORMER_SIZES: Record<TransformerKind, TransformerSize> = {
  tfm1: { blocks: 1, width: 32, heads: 2, mlp: 64 },
  tfm2: { blocks: 2, width: 48, heads: 4, mlp: 96 },
  tfm3: { blocks: 3, width: 64, heads: 4, mlp: 128 },
  tfm4: { blocks: 4, width: 64, heads: 8, mlp: 256 },
};

export const isTransformer = (kind: string): kind is TransformerKind => (TRANSFORMER_KINDS as readonly string[]).includes(kind);

/** A transformer's input [tokens]: one token id per position (0 is padding). */
export function sequenceLength(input: InputShape, kind: string): number {
  if (input.length !== 1 || !Number.isInteger(input[0]) || input[0]! < 1) {
    throw new Error(`input of ${kind} must be a token sequence [tokens], got [${input.join(', ')}] (text data: --data-format jsonl or --dataset spam-assassin)`);
  }
  return input[0]!;
}

/** The layers of a transformer up to h (fc2); the zoo appends the head fc3. */
export function transformerLayers(kind: TransformerKind, input: InputShape, representationDim: number): LayerSpec[] {
  const tokens = sequenceLength(input, kind);
  const { blocks, width, heads, mlp } = TRANSFORMER_SIZES[kind];
  const layers: LayerSpec[] = [{ kind: 'embedding', name: 'embed', vocab: BYTE_VOCAB_SIZE, tokens, width }];
  for (let b = 1; b <= blocks; b++) layers.push({ kind: 'encoder', name: `block${b}`, tokens, width, heads, mlp });
  layers.push({ kind: 'pool', name: 'pool', tokens, width });
  layers.push({ kind: 'dense', name: 'fc2', inUnits: width, outUnits: representationDim, relu: true });
  return layers;
}

/**
 * Forward FLOPs of one encoder block on one sequence (a multiply-add is 2):
 * the query, key, value and output projections 4 * 2 T w^2, the scores
 * Q K^T and the mix P V 2 * 2 T^2 w over all heads, the MLP 2 * 2 T w m.
 * Layer norms, softmax, GELU and the residual adds are element-wise and
 * left out, as activations are everywhere in flops.ts.
 */
export function encoderBlockFlops(tokens: number, width: number, mlp: number): number {
  return 8 * tokens * width * width + 4 * tokens * tokens * width + 4 * tokens * width * mlp;
}
