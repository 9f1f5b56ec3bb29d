/**
 * The reproduction grid run as a library: algorithms x settings x seeds with
 * the in-process simulation, one resumable cell at a time (a cell whose
 * result.json answers its config is skipped), then the report over the
 * stored results. `pfedlora reproduce` builds a GridPlan from its flags,
 * prints the events and exits with the outcome. docs/reproduce.md explains
 * the grid, --quick, the target rule and the ratios.
 */
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { formatPercent } from '@pfedlora/core';
import { ALGORITHM_NAMES, TRANSFORMER_ALGORITHMS, VARIANT_ALGORITHMS, getAlgorithm, isTextDataset, loadDataset, partitionClients, runSimulation, type AlgorithmName, type DatasetSplits, type SimulationConfig } from '@pfedlora/ml';
import { cellDir, formatSettings, gridCells, PAPER_SHAPES, settingId, settingLabel, type Cell, type Setting } from './grid';
import type { RunCosts, TargetRule } from './metrics';
import { buildReport, type Report } from './report';
import { readResultFile, staleReason, writeSimulationOutputs, type StoredResult } from './result-file';
import { writeReport } from './write-report';

/**
 * The paper's methods in its table order. Only those this build registers
 * are run by default, so the grid works while baselines are still being
 * added (see availableAlgorithms).
 */
export const PAPER_ALGORITHMS: readonly string[] = ['pfedlora', 'standalone', 'lg-fedavg', 'fd', 'fedproto', 'fml', 'fedkd', 'fedgh'];

/** Full grid defaults. The paper trains 500 rounds; 50 keeps the grid within days on a CPU (docs/reproduce.md). */
export const FULL_DEFAULTS = {
  settings: PAPER_SHAPES.map((s) => `${s.clients}:${s.participation}`).join(','),
  partitions: 'label-skew,dirichlet',
  seeds: '1,2,3',
  rounds: 50,
  maxSamples: 0,
  out: join('runs', 'reproduce'),
} as const;

/**
 * The quick grid: one setting, one partition, one seed, few rounds on capped
 * client splits of the shipped Fashion-MNIST subset, every available
 * algorithm. Sized to finish in well under 20 minutes on 2 shared cores
 * (docs/reproduce.md has the measurement).
 */
export const QUICK_DEFAULTS = {
  settings: '10:1',
  partitions: 'label-skew',
  seeds: '1',
  rounds: 5,
  maxSamples: 128,
  out: join('runs', 'reproduce-quick'),
} as const;

/**
 * The text grid (`--task text`): transformers (TFM-1..4) on the SpamAssassin
 * mails, non-IID by Dirichlet(1) over ham/spam (0.5 leaves clients of one
 * class), 3 seeds (docs/reproduce.md). Sized for 2 busy CPU cores: the
 * shipped subset, 32 byte tokens (mostly the subject line), 10 rounds of 3
 * local epochs in batches of 16 (a client holds about 110 mails: at the image
 * grid's 1 epoch of 64, a transformer would take 2 steps a round).
 */
export const TEXT_DEFAULTS = {
  settings: '4:1',
  partitions: 'dirichlet',
  alpha: 1,
  seeds: '1,2,3',
  rounds: 10,
  localEpochs: 3,
  batchSize: 16,
  maxSamples: 0,
  maxTokens: 32,
  out: join('runs', 'reproduce-text'),
} as const;

/** The quick text grid: one seed, 3 rounds, capped splits. */
export const TEXT_QUICK_DEFAULTS = { ...TEXT_DEFAULTS, settings: '3:1', seeds: '1', rounds: 3, maxSamples: 64, out: join('runs', 'reproduce-text-quick') } as const;

/** Everything a grid run does. */
export interface GridPlan {
  /** Results (OUT/runs/...) and report folder; a second run over it resumes. */
  readonly out: string;
  /** Noted in the report: the grid is the quick one. */
  readonly quick: boolean;
  /** Report the cells on disk; run none. */
  readonly reportOnly: boolean;
  readonly algorithms: readonly AlgorithmName[];
  readonly seeds: readonly number[];
  readonly settings: readonly Setting[];
  /** Every simulation field except those the grid varies (clients, participation, partition, algorithm, seed). */
  readonly base: SimulationConfig;
  readonly rule: TargetRule;
}

export function isAlgorithmName(name: string): name is AlgorithmName {
  return (ALGORITHM_NAMES as readonly string[]).includes(name);
}

/**
 * Names that are listed and actually resolve: ALGORITHM_NAMES may already name
 * a baseline whose module is not registered yet (or the other way round while
 * someone is adding one), and the grid must not fail half way for it.
 */
export function availableAlgorithms(): AlgorithmName[] {
  return ALGORITHM_NAMES.filter((name) => {
    try {
      getAlgorithm(name);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * The default grid's algorithms: the paper's order first, then anything else
 * registered here (a new baseline shows up without editing this file),
 * except diagnostic variants, which run only when named, and, outside the
 * text grid, algorithms that need transformers (pfedlora-qv).
 */
export function defaultAlgorithms(text = false): AlgorithmName[] {
  const available = availableAlgorithms();
  const paper = PAPER_ALGORITHMS.filter(isAlgorithmName).filter((a) => available.includes(a));
  const all = [...paper, ...available.filter((a) => !paper.includes(a) && !VARIANT_ALGORITHMS.includes(a))];
  return text ? all : all.filter((a) => !TRANSFORMER_ALGORITHMS.includes(a));
}

/** The simulation a cell runs. */
export function cellConfig(plan: Pick<GridPlan, 'base'>, cell: Cell): SimulationConfig {
  const { clients, participation, partition } = cell.setting;
  return { ...plan.base, clients, participation, partition, algorithm: cell.algorithm as AlgorithmName, seed: cell.seed };
}

export type CellStatus = 'ran' | 'skipped' | 'failed' | 'missing';

export interface CellOutcome {
  readonly setting: string;
  readonly algorithm: string;
  readonly seed: number;
  readonly status: CellStatus;
  readonly dir: string;
  /** Training time of the run (for skipped cells, of the stored run). */
  readonly seconds: number | undefined;
  readonly finalAccuracy: number | undefined;
  /** NaN when a stored result predates macro-F1. */
  readonly finalMacroF1: number | undefined;
  /** Why a stored result was not reused, or why the run failed. */
  readonly note: string | undefined;
}

/** The grid cannot run at all: its data does not load (`usage` false), or the plan does not fit the data (`usage` true). */
export class GridError extends Error {
  override readonly name = 'GridError';
  constructor(
    message: string,
    readonly usage: boolean,
  ) {
    super(message);
  }
}

/** What a grid run reports as it goes (progress for a person; the result says it all at the end). */
export interface GridEvents {
  /** Before the first cell. */
  readonly onStart?: (cells: readonly Cell[]) => void;
  /** A cell still running: `fraction` of it done, `label` says where (round, client). */
  readonly onProgress?: (index: number, cell: Cell, fraction: number, label: string) => void;
  /** A cell done (run, skipped, failed or missing). */
  readonly onCell?: (index: number, cell: Cell, outcome: CellOutcome) => void;
}

export interface GridResult {
  readonly outcomes: readonly CellOutcome[];
  readonly report: Report;
  /** The report's files (report.md, report.html, results.csv, then the plots). */
  readonly files: readonly string[];
  readonly seconds: number;
}

/** The stored result of a cell if it answers the config; otherwise why not (missing, unreadable, stale). */
async function storedCell(dir: string, wanted: SimulationConfig): Promise<{ result: StoredResult } | { reason: string | undefined }> {
  const file = join(dir, 'result.json');
  if (!existsSync(file)) return { reason: undefined };
  try {
    const stored = await readResultFile(file);
    const stale = staleReason(stored, { ...wanted });
    return stale === undefined ? { result: stored } : { reason: `stored result is stale: ${stale}` };
  } catch (error) {
    return { reason: `stored result unreadable: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/**
 * Runs one cell and stores it. The outputs go to a sibling `.partial` folder
 * first and are renamed into place, so a run killed half way never leaves a
 * result.json that looks complete.
 */
async function runCell(config: SimulationConfig, dir: string, onProgress: (fraction: number, label: string) => void): Promise<StoredResult> {
  const result = await runSimulation(config, {
    onProgress: (p) => onProgress((p.round - 1 + p.done / p.of) / p.rounds, `round ${p.round}/${p.rounds} client ${p.done}/${p.of}`),
  });
  const partial = `${dir}.partial`;
  await rm(partial, { recursive: true, force: true });
  await writeSimulationOutputs(partial, result);
  await rm(dir, { recursive: true, force: true });
  await rename(partial, dir);
  return readResultFile(join(dir, 'result.json'));
}

/**
 * Loads the dataset once before the grid when some cell still has to run: a
 * missing or broken data folder fails every cell the same way, so say it once
 * and stop instead of failing every cell.
 */
async function checkData(plan: GridPlan, cells: readonly Cell[]): Promise<void> {
  let pending = false;
  for (const cell of cells) {
    if (!('result' in (await storedCell(cellDir(plan.out, cell), cellConfig(plan, cell))))) {
      pending = true;
      break;
    }
  }
  if (!pending) return;
  const { dataset, dataDir, maxTokens } = plan.base;
  let data: DatasetSplits;
  try {
    data = await loadDataset(dataset, { ...(dataDir === undefined ? {} : { dataDir }), ...(maxTokens === undefined ? {} : { maxTokens }) });
  } catch (error) {
    throw new GridError(error instanceof Error ? error.message : String(error), false);
  }
  const numClasses = data.train.numClasses;
  if (plan.settings.some((s) => s.partition === 'label-skew') && plan.base.classesPerClient > numClasses) {
    throw new GridError(`--classes-per-client ${plan.base.classesPerClient} exceeds the ${numClasses} classes of ${dataset}`, true);
  }
  // A group partition fits the data or not whatever the seed: say so before any run (no groups, too many clients).
  for (const cell of cells.filter((c) => c.setting.partition === 'group')) {
    try {
      partitionClients(data, cellConfig(plan, cell));
    } catch (error) {
      throw new GridError(`setting ${settingId(cell.setting)}: ${error instanceof Error ? error.message : String(error)}`, true);
    }
  }
}

/** One line on what the grid runs, e.g. for a log. */
export function describeGrid(plan: GridPlan): string {
  const b = plan.base;
  return (
    `${plan.algorithms.length} algorithms x ${plan.settings.length} settings x ${plan.seeds.length} seeds on ${b.dataset}` +
    `${b.dataDir !== undefined ? ` (${b.dataDir})` : ''}${b.maxTokens !== undefined ? `, ${b.maxTokens} byte tokens` : ''}: ${b.rounds} rounds, ${b.localEpochs} local epoch(s), batch ${b.batchSize}, ` +
    `max ${b.maxTrainSamples || 'all'} train samples per client`
  );
}

/** The lines under the report's title: what was run, so the report stands alone. */
function reportNotes(plan: GridPlan, outcomes: readonly CellOutcome[], sources: ReadonlySet<string>, backends: ReadonlySet<string>): string[] {
  const b = plan.base;
  const count = (s: CellStatus) => outcomes.filter((o) => o.status === s).length;
  return [
    `Grid: ${plan.algorithms.join(', ')} x settings ${formatSettings(plan.settings)} x seeds ${plan.seeds.join(', ')}${plan.quick ? ' (--quick)' : ''}.`,
    `Dataset ${b.dataset} from ${[...sources].join(', ') || 'n/a'}${isTextDataset(b.dataset) ? ' (models: transformers TFM-((k mod 4)+1))' : ''}; label skew ${b.classesPerClient} classes/client, Dirichlet alpha ${b.dirichletAlpha}; ` +
      `${b.rounds} rounds, ${b.localEpochs} local epoch(s), batch ${b.batchSize}, lr ${b.learningRate}, adapter rank ${b.rank}, ${b.adapterEpochs} adapter epoch(s); ` +
      `train split capped at ${b.maxTrainSamples || 'no'} samples per client; engine ${[...backends].join(', ') || 'n/a'}.`,
    `Cells: ${outcomes.length} (${count('ran')} run now, ${count('skipped')} already done, ${count('failed')} failed` +
      `${count('missing') ? `, ${count('missing')} not run yet: this report covers a partial grid` : ''}).`,
  ];
}

/** A cell's key in the results map reportFromResults reads. */
export function cellKey(cell: Cell): string {
  return `${settingId(cell.setting)}/${cell.algorithm}/${cell.seed}`;
}

/** Builds the report from the stored results of the plan's cells (the grid as asked, nothing else in OUT). */
export function reportFromResults(plan: Pick<GridPlan, 'base' | 'algorithms' | 'seeds' | 'settings' | 'rule'>, results: ReadonlyMap<string, StoredResult>, notes: readonly string[]): Report {
  const b = plan.base;
  return buildReport({
    title: `pfedlora reproduce: ${b.dataset}`,
    dataset: b.dataset,
    algorithms: plan.algorithms,
    rule: plan.rule,
    notes,
    settings: plan.settings.map((setting) => {
      const runs: RunCosts[] = [];
      for (const algorithm of plan.algorithms) {
        for (const seed of plan.seeds) {
          const stored = results.get(cellKey({ setting, algorithm, seed }));
          if (stored) runs.push({ algorithm, seed, rounds: stored.rounds, finalAccuracy: stored.finalAccuracy, finalMacroF1: stored.finalMacroF1 });
        }
      }
      return { setting, label: settingLabel(setting, b), runs };
    }),
  });
}

/**
 * Runs the grid's cells in order (or, with reportOnly, only reads them) and
 * writes the report over every stored result. A failed cell does not stop the
 * grid: it is an outcome, and the report covers the cells that finished.
 * Throws GridError before any cell when the data cannot serve the grid.
 */
export async function runGrid(plan: GridPlan, events: GridEvents = {}): Promise<GridResult> {
  const cells = gridCells(plan.settings, plan.algorithms, plan.seeds);
  events.onStart?.(cells);
  if (!plan.reportOnly) await checkData(plan, cells);

  const results = new Map<string, StoredResult>();
  const outcomes: CellOutcome[] = [];
  const started = Date.now();
  for (const [i, cell] of cells.entries()) {
    const dir = cellDir(plan.out, cell);
    const config = cellConfig(plan, cell);
    const base = { setting: settingId(cell.setting), algorithm: cell.algorithm, seed: cell.seed, dir };
    const stored = await storedCell(dir, config);
    let outcome: CellOutcome;
    if ('result' in stored) {
      results.set(cellKey(cell), stored.result);
      outcome = { ...base, status: 'skipped', seconds: stored.result.seconds, finalAccuracy: stored.result.finalAccuracy, finalMacroF1: stored.result.finalMacroF1, note: undefined };
    } else if (plan.reportOnly) {
      outcome = { ...base, status: 'missing', seconds: undefined, finalAccuracy: undefined, finalMacroF1: undefined, note: stored.reason };
    } else {
      const t0 = Date.now();
      try {
        const result = await runCell(config, dir, (fraction, label) => events.onProgress?.(i, cell, fraction, label));
        results.set(cellKey(cell), result);
        outcome = { ...base, status: 'ran', seconds: (Date.now() - t0) / 1000, finalAccuracy: result.finalAccuracy, finalMacroF1: result.finalMacroF1, note: stored.reason };
      } catch (error) {
        outcome = { ...base, status: 'failed', seconds: undefined, finalAccuracy: undefined, finalMacroF1: undefined, note: error instanceof Error ? error.message : String(error) };
      }
    }
    outcomes.push(outcome);
    events.onCell?.(i, cell, outcome);
  }

  const sources = new Set([...results.values()].map((r) => r.dataSource).filter((s): s is string => s !== undefined));
  const backends = new Set([...results.values()].map((r) => r.backend).filter((s): s is string => s !== undefined));
  const report = reportFromResults(plan, results, reportNotes(plan, outcomes, sources, backends));
  const files = await writeReport(plan.out, report);
  return { outcomes, report, files, seconds: (Date.now() - started) / 1000 };
}

/** One line per setting: the target and pFedLoRA against the best baseline (what `pfedlora reproduce` prints at the end). */
export function headlineLines(report: Report): string[] {
  return report.settings.map((s) => {
    const h = s.summary.headline;
    const best = s.summary.bestBaseline;
    const gain = h.accuracyGain === undefined ? 'n/a' : `${h.accuracyGain >= 0 ? '+' : ''}${(h.accuracyGain * 100).toFixed(2)} pts`;
    const ratio = (x: number | undefined) => (x === undefined ? 'n/a' : `${x.toFixed(2)}x`);
    return (
      `${s.id}: target ${formatPercent(s.summary.target)}; pFedLoRA vs best baseline ${best ?? 'n/a'}: accuracy ${gain}, ` +
      `computation ${ratio(h.computeRatio)}, communication ${ratio(h.communicationRatio)}`
    );
  });
}
