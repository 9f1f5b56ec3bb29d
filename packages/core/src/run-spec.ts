/**
 * The settings every client of a run trains with, declared once: each field's
 * default, range, flag and meaning. The simulation's and the coordinator's
 * configs extend RunSpec, the wire's RunSettings carries it, and the command
 * line's flags, their help and their reader, and the zod schema every
 * config checks them with, are generated from RUN_FIELDS, so a new setting
 * is one entry here (plus what reads it).
 */
import { z } from 'zod';
import { assertValid, integerIn, numberWhere, oneOf } from './validation';

interface FieldBase {
  /** The command-line flag (`--<flag>`). */
  readonly flag: string;
  /** Placeholder in --help. */
  readonly value: string;
  readonly help: string;
}

export type RunField =
  | (FieldBase & { readonly kind: 'int'; readonly default: number; readonly min: number; readonly max: number })
  | (FieldBase & { readonly kind: 'float'; readonly default: number; readonly check: (n: number) => boolean; readonly expected: string })
  | (FieldBase & { readonly kind: 'choice'; readonly default: string; readonly choices: readonly string[] });

/** The declaration. Choices of `algorithm` and `adapterShare` are checked by @pfedlora/ml, which knows them. */
export const RUN_FIELDS = {
  algorithm: { kind: 'choice', flag: 'algorithm', value: 'NAME', help: 'the federated algorithm (docs/baselines.md)', default: 'pfedlora', choices: [] },
  rounds: { kind: 'int', flag: 'rounds', value: 'R', help: 'communication rounds', default: 10, min: 1, max: 1_000_000 },
  localEpochs: { kind: 'int', flag: 'local-epochs', value: 'E', help: 'local epochs per training step', default: 1, min: 1, max: 10_000 },
  adapterEpochs: { kind: 'int', flag: 'adapter-epochs', value: 'EA', help: 'pFedLoRA step-2 epochs (adapter alone, on cached representations)', default: 10, min: 1, max: 10_000 },
  batchSize: { kind: 'int', flag: 'batch-size', value: 'B', help: 'mini-batch size', default: 64, min: 1, max: 1 << 20 },
  learningRate: { kind: 'float', flag: 'lr', value: 'LR', help: 'SGD learning rate', default: 0.01, check: (n) => n > 0, expected: 'a number > 0' },
  momentum: { kind: 'float', flag: 'momentum', value: 'M', help: 'SGD momentum', default: 0.9, check: (n) => n >= 0 && n < 1, expected: 'a number in [0, 1)' },
  weightDecay: { kind: 'float', flag: 'weight-decay', value: 'WD', help: 'SGD weight decay (L2, as torch.optim.SGD)', default: 1e-3, check: (n) => n >= 0, expected: 'a number >= 0' },
  clipNorm: { kind: 'float', flag: 'grad-clip-norm', value: 'C', help: 'clip each step\'s gradient to this global L2 norm', default: 50, check: (n) => n > 0, expected: 'a number > 0' },
  rank: { kind: 'int', flag: 'rank', value: 'R', help: 'adapter rank r', default: 8, min: 1, max: 65536 },
  adapterAlpha: { kind: 'float', flag: 'adapter-alpha', value: 'A', help: 'adapter scale numerator (branch x alpha/rank)', default: 8, check: (n) => n > 0, expected: 'a number > 0' },
  adapterShare: {
    kind: 'choice',
    flag: 'adapter-share',
    value: 'WHICH',
    help: 'adapter factors the federation averages: all (D and U, the paper) or up (U only; D stays on each client)',
    default: 'all',
    choices: ['all', 'up'],
  },
  representationDim: {
    kind: 'int',
    flag: 'representation-dim',
    value: 'D',
    help: 'width d of the representation h every private model must produce (the adapter contract, docs/models.md)',
    default: 500,
    min: 1,
    max: 65536,
  },
  seed: { kind: 'int', flag: 'seed', value: 'S', help: 'seed for partition, init, sampling and batch order', default: 1, min: 0, max: 2 ** 32 - 1 },
} as const satisfies Record<string, RunField>;

export type RunFieldName = keyof typeof RUN_FIELDS;

/** The run's settings: one value per declared field. */
export type RunSpec = {
  readonly [K in RunFieldName]: (typeof RUN_FIELDS)[K]['kind'] extends 'choice' ? string : number;
};

export const RUN_FIELD_NAMES = Object.keys(RUN_FIELDS) as RunFieldName[];

/** Every field at its default (the paper's SGD, rank 8, d = 500, 10 rounds). */
export const DEFAULT_RUN: RunSpec = Object.fromEntries(RUN_FIELD_NAMES.map((k) => [k, RUN_FIELDS[k].default])) as unknown as RunSpec;

/**
 * A field's schema, from its declaration; `choices` for a choice field whose
 * names this package does not know (the algorithm: @pfedlora/ml knows them).
 */
function fieldSchema(field: RunField, choices?: readonly string[]): z.ZodType<string | number> {
  if (field.kind === 'choice') return oneOf(choices ?? field.choices);
  if (field.kind === 'int') return integerIn(field.min, field.max);
  return numberWhere(field.check, field.expected);
}

/** Each run field's schema, typed as the field's value. */
export type RunSpecShape = { readonly [K in RunFieldName]: z.ZodType<RunSpec[K]> };

/** The run's fields as zod schemas, to spread into a config's schema (with runSpecChecks as its cross-field check). */
export function runSpecShape(choices: Partial<Record<RunFieldName, readonly string[]>> = {}): RunSpecShape {
  // fieldSchema gives a choice field a string schema and the others a number schema, as RunSpec types them.
  return Object.fromEntries(RUN_FIELD_NAMES.map((name) => [name, fieldSchema(RUN_FIELDS[name], choices[name])])) as unknown as RunSpecShape;
}

/** What no single field can say: the rank must fit in d. */
export function runSpecChecks(spec: Pick<RunSpec, 'rank' | 'representationDim'>, ctx: z.RefinementCtx): void {
  if (spec.rank > spec.representationDim) ctx.addIssue({ code: 'custom', message: `rank ${spec.rank} exceeds the representation width d = ${spec.representationDim}` });
}

/** The run's settings: every declared field in its range, and the rank within d. */
export const runSpecSchema = z.object(runSpecShape()).superRefine(runSpecChecks);

/** A field's value, or the problem with it (for the flags' and the configs' messages). */
export function checkRunField(name: RunFieldName, value: unknown): string | undefined {
  const result = fieldSchema(RUN_FIELDS[name]).safeParse(value);
  return result.success ? undefined : result.error.issues[0]!.message;
}

/** Throws naming the first field out of range; rank must also fit in d. */
export function validateRunSpec(spec: RunSpec): void {
  assertValid(runSpecSchema, spec);
}

/** The declared fields of a larger object (a config), nothing else. */
export function pickRunSpec(source: RunSpec): RunSpec {
  return Object.fromEntries(RUN_FIELD_NAMES.map((k) => [k, source[k]])) as unknown as RunSpec;
}

/**
 * What a run's samples are, declared with its input shape in the adapter
 * contract: an image [h, w, c], a table row [features], or text [tokens] (token
 * ids of the byte tokenizer, vocabulary 257, cut or padded to `tokens`). A
 * table row and a text are both one-dimensional, so the shape alone cannot
 * tell them apart; models shared by the whole run (FML's meme, FedKD's
 * mentee) are built for the kind: CNN-5, MLP-1, TFM-1.
 */
export const INPUT_KINDS = ['image', 'table', 'text'] as const;
export type InputKind = (typeof INPUT_KINDS)[number];

/** The declared kind, or (undeclared: an older coordinator or checkpoint) what the shape says: 3 dims an image, else a table. */
export function inputKindOf(shape: readonly number[], declared?: string): InputKind {
  if (declared === undefined || declared === '') return shape.length === 3 ? 'image' : 'table';
  if (!(INPUT_KINDS as readonly string[]).includes(declared)) throw new Error(`input kind "${declared}" is not one of ${INPUT_KINDS.join(', ')}`);
  const kind = declared as InputKind;
  if ((kind === 'image') !== (shape.length === 3)) throw new Error(`input kind ${kind} does not fit the input shape [${shape.join(', ')}] (an image is [height, width, channels]; a table row and a text are one size)`);
  return kind;
}
