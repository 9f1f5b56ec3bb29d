/**
 * A simulation's result files: writing them (result.json and rounds.csv, by
 * `simulate --out` and for each cell of a grid), and reading a result.json
 * back, checked: the file may be from an older version, hand-edited, or cut
 * short by a killed run, and the report must say which rather than plot
 * garbage.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { meanLatestAccuracy, type RoundRecord, type SimulationResult } from '@pfedlora/ml';
import type { RoundCost } from './metrics';

/** One line per round: who took part, accuracy, losses, bytes, FLOPs, seconds, macro-F1 (last: columns before it keep their place). */
export function roundsCsv(rounds: readonly RoundRecord[]): string {
  const header = 'round,participants,meanAccuracy,meanLoss,meanTrainLoss,bytesUp,bytesDown,trainFlops,seconds,meanMacroF1';
  const rows = rounds.map((r) =>
    [r.round, r.participants.length, r.meanAccuracy, r.meanLoss, r.meanTrainLoss, r.bytesUp, r.bytesDown, r.trainFlops, r.seconds, r.meanMacroF1].join(','),
  );
  return [header, ...rows].join('\n') + '\n';
}

/** Writes `dir`/result.json (the whole SimulationResult) and `dir`/rounds.csv. */
export async function writeSimulationOutputs(dir: string, result: SimulationResult): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'result.json'), JSON.stringify(result, null, 2) + '\n');
  await writeFile(join(dir, 'rounds.csv'), roundsCsv(result.rounds));
}

/** JSON has no NaN: JSON.stringify writes it as null, so null reads back as NaN. */
const numberOrNaN = z.union([z.number(), z.null()]).transform((v) => (v === null ? NaN : v));

const roundSchema = z.object({
  round: z.number().int().positive(),
  meanAccuracy: numberOrNaN,
  bytesUp: z.number().nonnegative(),
  bytesDown: z.number().nonnegative(),
  trainFlops: z.number().nonnegative(),
  participants: z.array(z.number()).optional(),
});

/** The config fields the grid sets; the rest are kept opaque for the staleness check. */
const configSchema = z
  .object({
    dataset: z.string(),
    algorithm: z.string(),
    clients: z.number().int().positive(),
    participation: z.number(),
    partition: z.string(),
    rounds: z.number().int().positive(),
    seed: z.number().int(),
  })
  .loose();

const resultSchema = z.object({
  config: configSchema,
  dataSource: z.string().optional(),
  engine: z.object({ backend: z.string() }).loose().optional(),
  rounds: z.array(roundSchema),
  // macroF1: absent from files written before it was measured.
  clients: z.array(z.object({ accuracy: numberOrNaN, macroF1: numberOrNaN.optional() }).loose()).optional(),
  final: z.object({ meanAccuracy: numberOrNaN, round: z.number() }),
  totals: z.object({ bytesUp: z.number(), bytesDown: z.number(), trainFlops: z.number(), seconds: z.number() }),
});

/** What the report and the resume check read from a result.json. */
export interface StoredResult {
  readonly config: Readonly<Record<string, unknown>> & {
    readonly dataset: string;
    readonly algorithm: string;
    readonly clients: number;
    readonly participation: number;
    readonly partition: string;
    readonly rounds: number;
    readonly seed: number;
  };
  readonly rounds: readonly RoundCost[];
  /**
   * Mean of every client's latest personalized accuracy (the run's final models; with partial
   * participation not just the last round's sample); the last round's mean in files without clients.
   */
  readonly finalAccuracy: number;
  /** The same mean of every client's latest macro-F1; NaN in files written before macro-F1 was measured. */
  readonly finalMacroF1: number;
  readonly seconds: number;
  /** Where the data was read from (absent in hand-made files). */
  readonly dataSource: string | undefined;
  /** The training engine that ran it. */
  readonly backend: string | undefined;
}

/** Parses the text of a result.json; throws an Error saying what is wrong. */
export function parseResultJson(text: string, where: string): StoredResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`${where}: not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const parsed = resultSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${where}: not a simulation result (${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'})`);
  }
  const r = parsed.data;
  return {
    config: r.config,
    rounds: r.rounds.map(({ round, meanAccuracy, bytesUp, bytesDown, trainFlops }) => ({ round, meanAccuracy, bytesUp, bytesDown, trainFlops })),
    finalAccuracy: r.clients?.length ? meanLatestAccuracy(r.clients.map((c) => c.accuracy)) : r.final.meanAccuracy,
    finalMacroF1: r.clients?.length && r.clients.every((c) => c.macroF1 !== undefined) ? meanLatestAccuracy(r.clients.map((c) => c.macroF1 ?? NaN)) : NaN,
    seconds: r.totals.seconds,
    dataSource: r.dataSource,
    backend: r.engine?.backend,
  };
}

export async function readResultFile(path: string): Promise<StoredResult> {
  return parseResultJson(await readFile(path, 'utf8'), path);
}

/**
 * Config fields that do not change what a run computes (threads, engine, where
 * the data was read from), so a stored result made with other values still
 * counts as done.
 */
const IRRELEVANT = new Set(['workers', 'backend', 'dataDir', 'representationLayer']);

/**
 * Config fields added after results were first stored, and the value a result.json
 * written before them implied: an old grid stays done under a newer build.
 */
const IMPLIED_BY_OLDER_RESULTS: Readonly<Record<string, (config: Readonly<Record<string, unknown>>) => unknown>> = {
  adapterEpochs: (c) => c['localEpochs'], // step 2 ran as many epochs as step 1
  adapterShare: () => 'all', // the whole adapter was federated
  representationDim: () => 500, // the zoo's h, before the adapter contract
};

/**
 * Why a stored result does not answer `wanted` (undefined when it does): a
 * differing config field or missing rounds. `wanted` is the SimulationConfig
 * the grid would run, as a plain record.
 */
export function staleReason(stored: StoredResult, wanted: Readonly<Record<string, unknown>>): string | undefined {
  for (const [key, value] of Object.entries(wanted)) {
    if (IRRELEVANT.has(key)) continue;
    const have = key in stored.config ? stored.config[key] : IMPLIED_BY_OLDER_RESULTS[key]?.(stored.config);
    if (JSON.stringify(have) !== JSON.stringify(value)) return `${key} is ${JSON.stringify(have)}, want ${JSON.stringify(value)}`;
  }
  if (stored.rounds.length !== stored.config.rounds) return `has ${stored.rounds.length} of ${stored.config.rounds} rounds`;
  return undefined;
}
