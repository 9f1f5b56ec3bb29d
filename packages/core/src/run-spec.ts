/**
 * The settings every client of a run trains with, declared once: each field's
 * default, range, flag and meaning. The simulation's and the coordinator's
 * configs extend RunSpec, the wire's RunSettings carries it, and the command
 * line's flags, their help and their reader are generated from RUN_FIELDS,
 * so a new setting is one entry here (plus what reads it).
 */

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

/** A field's value, or the problem with it (for the flags' and the configs' messages). */
export function checkRunField(name: RunFieldName, value: unknown): string | undefined {
  const field: RunField = RUN_FIELDS[name];
  if (field.kind === 'choice') {
    if (typeof value !== 'string' || value === '') return `must be a non-empty string, got ${String(value)}`;
    return field.choices.length && !field.choices.includes(value) ? `must be one of ${field.choices.join(', ')}, got "${value}"` : undefined;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) return `must be a number, got ${String(value)}`;
  if (field.kind === 'int') return Number.isInteger(value) && value >= field.min && value <= field.max ? undefined : `must be an integer in [${field.min}, ${field.max}], got ${value}`;
  return field.check(value) ? undefined : `must be ${field.expected}, got ${value}`;
}

/** Throws naming the first field out of range; rank must also fit in d. */
export function validateRunSpec(spec: RunSpec): void {
  for (const name of RUN_FIELD_NAMES) {
    const problem = checkRunField(name, spec[name]);
    if (problem) throw new Error(`${name} ${problem}`);
  }
  if (spec.rank > spec.representationDim) throw new Error(`rank ${spec.rank} exceeds the representation width d = ${spec.representationDim}`);
}

/** The declared fields of a larger object (a config), nothing else. */
export function pickRunSpec(source: RunSpec): RunSpec {
  return Object.fromEntries(RUN_FIELD_NAMES.map((k) => [k, source[k]])) as unknown as RunSpec;
}
