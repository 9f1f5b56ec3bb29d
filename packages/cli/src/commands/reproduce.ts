/**
 * `pfedlora reproduce`: runs the paper's grid (algorithms x settings x seeds)
 * with the in-process simulation, one resumable cell at a time, then writes
 * the report (report.md, report.html, results.csv, plots/). docs/reproduce.md
 * explains the grid, --quick, the target rule and the ratios.
 */
import { rename, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  ALGORITHM_NAMES,
  VARIANT_ALGORITHMS,
  DATASET_NAMES,
  DEFAULT_SIMULATION,
  getAlgorithm,
  loadDataset,
  runSimulation,
  type AlgorithmName,
  type DatasetName,
  type PartitionKind,
  type SimulationConfig,
} from '@pfedlora/ml';
import { boolFlag, choiceFlag, floatFlag, helpText, intFlag, parseFlags, stringFlag, type FlagSpecs } from '../args';
import { CliError, EXIT, UsageError } from '../errors';
import { formatPercent } from '../format';
import { createProgressBar } from '../progress';
import {
  buildReport,
  cellDir,
  DEFAULT_TARGET_RULE,
  formatSettings,
  gridCells,
  PAPER_SHAPES,
  parseSettings,
  parseTargetRule,
  PARTITION_KINDS,
  readResultFile,
  settingId,
  settingLabel,
  staleReason,
  writeReport,
  type Cell,
  type Report,
  type RunCosts,
  type Setting,
  type StoredResult,
  type TargetRule,
} from '../report';
import { BACKEND_FLAG, backendFlag, HELP_FLAG, SCHEDULE_FLAGS, scheduleFlags } from './shared';
import { writeSimulationOutputs } from './simulate';

const d = DEFAULT_SIMULATION;

/**
 * The paper's methods in its table order. Only those this build registers
 * are run by default, so the command works while baselines are still being
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
 * --quick: one setting, one partition, one seed, few rounds on capped client
 * splits of the shipped Fashion-MNIST subset, every available algorithm.
 * Sized to finish in well under 20 minutes on 2 shared cores (docs/reproduce.md
 * has the measurement). Any flag given explicitly still wins.
 */
export const QUICK_DEFAULTS = {
  settings: '10:1',
  partitions: 'label-skew',
  seeds: '1',
  rounds: 5,
  maxSamples: 128,
  out: join('runs', 'reproduce-quick'),
} as const;

export const REPRODUCE_FLAGS: FlagSpecs = {
  quick: { type: 'boolean', help: `small grid for a first look: settings ${QUICK_DEFAULTS.settings}, ${QUICK_DEFAULTS.partitions}, seed ${QUICK_DEFAULTS.seeds}, ${QUICK_DEFAULTS.rounds} rounds, --max-samples ${QUICK_DEFAULTS.maxSamples}, shipped Fashion-MNIST subset` },
  out: { type: 'string', value: 'DIR', help: `results and report folder (resumable)`, default: `${FULL_DEFAULTS.out}; --quick: ${QUICK_DEFAULTS.out}` },
  'report-only': { type: 'boolean', help: 'run nothing: write the report from the runs already in OUT (a grid still in progress, or stopped); missing runs are listed' },
  algorithms: { type: 'string', value: 'LIST', help: 'comma list of algorithms', default: 'every one of the paper available here' },
  seeds: { type: 'string', value: 'LIST', help: 'comma list of seeds or ranges, e.g. 1,2,3 or 1-5', default: `${FULL_DEFAULTS.seeds}; --quick: ${QUICK_DEFAULTS.seeds}` },
  settings: { type: 'string', value: 'LIST', help: 'comma list of CLIENTS:PARTICIPATION[:PARTITION], e.g. 10:1,50:0.2:dirichlet', default: `${FULL_DEFAULTS.settings}; --quick: ${QUICK_DEFAULTS.settings}` },
  partitions: { type: 'string', value: 'LIST', help: 'partitions for settings given without one: label-skew, dirichlet', default: `${FULL_DEFAULTS.partitions}; --quick: ${QUICK_DEFAULTS.partitions}` },
  dataset: { type: 'string', value: 'NAME', help: `dataset: ${DATASET_NAMES.join(', ')}`, default: d.dataset },
  'data-dir': { type: 'string', value: 'DIR', help: 'dataset folder (CIFAR: the extracted official binary files; "subset": the shipped Fashion-MNIST subset)' },
  'classes-per-client': { type: 'string', value: 'N', help: 'label skew: classes per client', default: '10 for cifar100, else 2' },
  alpha: { type: 'string', value: 'A', help: 'Dirichlet concentration', default: String(d.dirichletAlpha) },
  rounds: { type: 'string', value: 'R', help: 'communication rounds per run', default: `${FULL_DEFAULTS.rounds}; --quick: ${QUICK_DEFAULTS.rounds}` },
  'max-samples': { type: 'string', value: 'N', help: "cap each client's train split (0: no cap)", default: `${FULL_DEFAULTS.maxSamples}; --quick: ${QUICK_DEFAULTS.maxSamples}` },
  ...SCHEDULE_FLAGS,
  target: { type: 'string', value: 'SPEC', help: 'target accuracy per setting: min (lowest mean final accuracy of the algorithms), best:F (F x the highest), or an accuracy like 0.8', default: 'min' },
  ...BACKEND_FLAG,
  workers: { type: 'string', value: 'N', help: 'worker threads per run (0: this thread; auto: one per core)', default: 'auto' },
  json: { type: 'boolean', help: 'print one JSON object (cells and report summary) instead of progress lines' },
  ...HELP_FLAG,
};

export const REPRODUCE_HELP = helpText(
  'pfedlora reproduce [--quick] [--out DIR] [--algorithms LIST] [--seeds LIST] [--settings LIST] [options]',
  'Runs algorithms x settings x seeds with the in-process simulation and writes a report: OUT/report.md,\n' +
    'OUT/report.html (self-contained), OUT/results.csv and OUT/plots/*.svg. Each run is kept in\n' +
    'OUT/runs/<setting>/<algorithm>/seed-<s>/ and skipped next time when complete, so an interrupted grid resumes.',
  REPRODUCE_FLAGS,
);

/** Everything a reproduce run does, decided from the flags. */
export interface ReproducePlan {
  readonly quick: boolean;
  readonly out: string;
  readonly json: boolean;
  /** Report the cells on disk; run none. */
  readonly reportOnly: boolean;
  readonly algorithms: readonly AlgorithmName[];
  readonly seeds: readonly number[];
  readonly settings: readonly Setting[];
  /** Every simulation field except those the grid varies (clients, participation, partition, algorithm, seed). */
  readonly base: SimulationConfig;
  readonly rule: TargetRule;
}

function isAlgorithmName(name: string): name is AlgorithmName {
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

function parseAlgorithms(text: string | undefined): AlgorithmName[] {
  const available = availableAlgorithms();
  if (text === undefined) {
    // The paper's order first, then anything else registered here (a new baseline shows up without
    // editing this file), except diagnostic variants, which run only when named.
    const paper = PAPER_ALGORITHMS.filter(isAlgorithmName).filter((a) => available.includes(a));
    return [...paper, ...available.filter((a) => !paper.includes(a) && !VARIANT_ALGORITHMS.includes(a))];
  }
  const names = [...new Set(text.split(',').map((t) => t.trim()).filter((t) => t !== ''))];
  if (names.length === 0) throw new UsageError(`--algorithms expects a comma list of ${available.join(', ')}`);
  const unknown = names.filter((n) => !isAlgorithmName(n) || !available.includes(n));
  if (unknown.length) throw new UsageError(`--algorithms: unknown ${unknown.map((u) => `"${u}"`).join(', ')}; available here: ${available.join(', ')}`);
  return names.filter(isAlgorithmName);
}

/** "1,2,5-7" -> [1, 2, 5, 6, 7], duplicates dropped, order kept. */
export function parseSeeds(text: string): number[] {
  const out: number[] = [];
  const bad = () => new UsageError(`--seeds expects a comma list of integers >= 0 or ranges like 1-3, got "${text}"`);
  for (const token of text.split(',').map((t) => t.trim())) {
    const range = /^(\d+)-(\d+)$/.exec(token);
    if (range) {
      const [lo, hi] = [Number(range[1]), Number(range[2])];
      if (hi < lo || hi - lo > 1000) throw bad();
      for (let s = lo; s <= hi; s++) out.push(s);
    } else if (/^\d+$/.test(token)) {
      out.push(Number(token));
    } else {
      throw bad();
    }
  }
  if (out.some((s) => s > 2 ** 32 - 1)) throw bad();
  return [...new Set(out)];
}

function parsePartitions(text: string): PartitionKind[] {
  const names = text.split(',').map((t) => t.trim()).filter((t) => t !== '');
  const bad = names.filter((n) => !(PARTITION_KINDS as readonly string[]).includes(n));
  if (names.length === 0 || bad.length) throw new UsageError(`--partitions expects a comma list of ${PARTITION_KINDS.join(', ')}, got "${text}"`);
  return [...new Set(names)] as PartitionKind[];
}

export function reproducePlanFromFlags(argv: readonly string[]): { plan: ReproducePlan; help: boolean } {
  const { flags, positionals } = parseFlags(argv, REPRODUCE_FLAGS, 'reproduce');
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}". See 'pfedlora reproduce --help'.`);
  const quick = boolFlag(flags, 'quick');
  const preset = quick ? QUICK_DEFAULTS : FULL_DEFAULTS;
  const dataset: DatasetName = choiceFlag(flags, 'dataset', DATASET_NAMES, d.dataset);
  // --quick on Fashion-MNIST reads the shipped subset: the same data on every
  // machine, and 5x smaller test splits (evaluation is most of a quick round).
  const dataDir = stringFlag(flags, 'data-dir') ?? (quick && dataset === 'fashion-mnist' ? 'subset' : undefined);
  const partitions = parsePartitions(stringFlag(flags, 'partitions', preset.partitions));
  let settings: Setting[];
  try {
    settings = parseSettings(stringFlag(flags, 'settings', preset.settings), partitions);
  } catch (error) {
    throw new UsageError(`--settings: ${error instanceof Error ? error.message : String(error)}`);
  }
  let rule: TargetRule = DEFAULT_TARGET_RULE;
  const targetText = stringFlag(flags, 'target');
  if (targetText !== undefined) {
    try {
      rule = parseTargetRule(targetText);
    } catch (error) {
      throw new UsageError(`--target: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const workers = stringFlag(flags, 'workers');
  const base: SimulationConfig = {
    ...d,
    dataset,
    ...(dataDir === undefined ? {} : { dataDir }),
    classesPerClient: intFlag(flags, 'classes-per-client', dataset === 'cifar100' ? 10 : 2, 1),
    dirichletAlpha: floatFlag(flags, 'alpha', d.dirichletAlpha, (n) => n > 0, 'a number > 0'),
    rounds: intFlag(flags, 'rounds', preset.rounds, 1),
    maxTrainSamples: intFlag(flags, 'max-samples', preset.maxSamples, 0),
    ...scheduleFlags(flags),
    backend: backendFlag(flags),
    workers: workers === undefined || workers === 'auto' ? 'auto' : intFlag(flags, 'workers', 0, 0),
  };
  const plan: ReproducePlan = {
    quick,
    out: stringFlag(flags, 'out', preset.out),
    json: boolFlag(flags, 'json'),
    reportOnly: boolFlag(flags, 'report-only'),
    algorithms: parseAlgorithms(stringFlag(flags, 'algorithms')),
    seeds: parseSeeds(stringFlag(flags, 'seeds', preset.seeds)),
    settings,
    base,
    rule,
  };
  return { plan, help: boolFlag(flags, 'help') };
}

/** The simulation a cell runs. */
export function cellConfig(plan: Pick<ReproducePlan, 'base'>, cell: Cell): SimulationConfig {
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
  /** Why a stored result was not reused, or why the run failed. */
  readonly note: string | undefined;
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
 * and stop instead of printing the error per cell.
 */
async function checkData(plan: ReproducePlan, cells: readonly Cell[]): Promise<void> {
  let pending = false;
  for (const cell of cells) {
    if (!('result' in (await storedCell(cellDir(plan.out, cell), cellConfig(plan, cell))))) {
      pending = true;
      break;
    }
  }
  if (!pending) return;
  const { dataset, dataDir } = plan.base;
  let numClasses: number;
  try {
    numClasses = (await loadDataset(dataset, dataDir === undefined ? {} : { dataDir })).train.numClasses;
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error), EXIT.failure);
  }
  if (plan.settings.some((s) => s.partition === 'label-skew') && plan.base.classesPerClient > numClasses) {
    throw new UsageError(`--classes-per-client ${plan.base.classesPerClient} exceeds the ${numClasses} classes of ${dataset}`);
  }
}

function describeGrid(plan: ReproducePlan): string {
  const b = plan.base;
  return (
    `${plan.algorithms.length} algorithms x ${plan.settings.length} settings x ${plan.seeds.length} seeds on ${b.dataset}` +
    `${b.dataDir !== undefined ? ` (${b.dataDir})` : ''}: ${b.rounds} rounds, ${b.localEpochs} local epoch(s), batch ${b.batchSize}, ` +
    `max ${b.maxTrainSamples || 'all'} train samples per client`
  );
}

/** The lines under the report's title: what was run, so the report stands alone. */
function reportNotes(plan: ReproducePlan, outcomes: readonly CellOutcome[], sources: ReadonlySet<string>, backends: ReadonlySet<string>): string[] {
  const b = plan.base;
  const count = (s: CellStatus) => outcomes.filter((o) => o.status === s).length;
  return [
    `Grid: ${plan.algorithms.join(', ')} x settings ${formatSettings(plan.settings)} x seeds ${plan.seeds.join(', ')}${plan.quick ? ' (--quick)' : ''}.`,
    `Dataset ${b.dataset} from ${[...sources].join(', ') || 'n/a'}; label skew ${b.classesPerClient} classes/client, Dirichlet alpha ${b.dirichletAlpha}; ` +
      `${b.rounds} rounds, ${b.localEpochs} local epoch(s), batch ${b.batchSize}, lr ${b.learningRate}, adapter rank ${b.rank}, ${b.adapterEpochs} adapter epoch(s); ` +
      `train split capped at ${b.maxTrainSamples || 'no'} samples per client; engine ${[...backends].join(', ') || 'n/a'}.`,
    `Cells: ${outcomes.length} (${count('ran')} run now, ${count('skipped')} already done, ${count('failed')} failed` +
      `${count('missing') ? `, ${count('missing')} not run yet: this report covers a partial grid` : ''}).`,
  ];
}

/** Builds the report from the stored results of the plan's cells (the grid as asked, nothing else in OUT). */
export function reportFromResults(plan: ReproducePlan, results: ReadonlyMap<string, StoredResult>, notes: readonly string[]): Report {
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
          if (stored) runs.push({ algorithm, seed, rounds: stored.rounds, finalAccuracy: stored.finalAccuracy });
        }
      }
      return { setting, label: settingLabel(setting, b), runs };
    }),
  });
}

function cellKey(cell: Cell): string {
  return `${settingId(cell.setting)}/${cell.algorithm}/${cell.seed}`;
}

export async function reproduce(argv: readonly string[], stdout: NodeJS.WritableStream = process.stdout): Promise<number> {
  const { plan, help } = reproducePlanFromFlags(argv);
  if (help) {
    stdout.write(REPRODUCE_HELP);
    return EXIT.ok;
  }
  // Progress lines go to stderr under --json so stdout stays one JSON object.
  const log = (line: string) => (plan.json ? process.stderr : stdout).write(line + '\n');
  const cells = gridCells(plan.settings, plan.algorithms, plan.seeds);
  log(`pfedlora reproduce: ${describeGrid(plan)}; ${cells.length} runs; results in ${plan.out}`);

  if (!plan.reportOnly) await checkData(plan, cells);

  const bar = createProgressBar();
  const results = new Map<string, StoredResult>();
  const outcomes: CellOutcome[] = [];
  const width = String(cells.length).length;
  const algWidth = Math.max(...plan.algorithms.map((a) => a.length));
  const started = Date.now();
  for (const [i, cell] of cells.entries()) {
    const dir = cellDir(plan.out, cell);
    const config = cellConfig(plan, cell);
    const prefix = `[${String(i + 1).padStart(width)}/${cells.length}] ${settingId(cell.setting)}  ${cell.algorithm.padEnd(algWidth)}  seed ${cell.seed}`;
    const stored = await storedCell(dir, config);
    if ('result' in stored) {
      results.set(cellKey(cell), stored.result);
      outcomes.push({ setting: settingId(cell.setting), algorithm: cell.algorithm, seed: cell.seed, status: 'skipped', dir, seconds: stored.result.seconds, finalAccuracy: stored.result.finalAccuracy, note: undefined });
      log(`${prefix}  skipped (done)  final ${formatPercent(stored.result.finalAccuracy)}`);
      continue;
    }
    if (plan.reportOnly) {
      outcomes.push({ setting: settingId(cell.setting), algorithm: cell.algorithm, seed: cell.seed, status: 'missing', dir, seconds: undefined, finalAccuracy: undefined, note: stored.reason });
      log(`${prefix}  missing${stored.reason ? ` (${stored.reason})` : ''}`);
      continue;
    }
    const t0 = Date.now();
    try {
      const result = await runCell(config, dir, (f, label) => bar.update(f, `${prefix}: ${label}`));
      bar.done();
      results.set(cellKey(cell), result);
      const seconds = (Date.now() - t0) / 1000;
      outcomes.push({ setting: settingId(cell.setting), algorithm: cell.algorithm, seed: cell.seed, status: 'ran', dir, seconds, finalAccuracy: result.finalAccuracy, note: stored.reason });
      log(`${prefix}  ran in ${seconds.toFixed(1)} s  final ${formatPercent(result.finalAccuracy)}${stored.reason ? `  (rerun: ${stored.reason})` : ''}`);
    } catch (error) {
      bar.done();
      const message = error instanceof Error ? error.message : String(error);
      outcomes.push({ setting: settingId(cell.setting), algorithm: cell.algorithm, seed: cell.seed, status: 'failed', dir, seconds: undefined, finalAccuracy: undefined, note: message });
      log(`${prefix}  FAILED: ${message}`);
    }
  }

  const sources = new Set([...results.values()].map((r) => r.dataSource).filter((s): s is string => s !== undefined));
  const backends = new Set([...results.values()].map((r) => r.backend).filter((s): s is string => s !== undefined));
  const report = reportFromResults(plan, results, reportNotes(plan, outcomes, sources, backends));
  const files = await writeReport(plan.out, report);
  const failed = outcomes.filter((o) => o.status === 'failed');
  const elapsed = (Date.now() - started) / 1000;

  if (plan.json) {
    stdout.write(JSON.stringify({ out: plan.out, quick: plan.quick, seconds: elapsed, cells: outcomes, settings: report.settings.map(jsonSetting), files }) + '\n');
  } else {
    for (const s of report.settings) {
      const h = s.summary.headline;
      const best = s.summary.bestBaseline;
      const gain = h.accuracyGain === undefined ? 'n/a' : `${h.accuracyGain >= 0 ? '+' : ''}${(h.accuracyGain * 100).toFixed(2)} pts`;
      const ratio = (x: number | undefined) => (x === undefined ? 'n/a' : `${x.toFixed(2)}x`);
      log(
        `${s.id}: target ${formatPercent(s.summary.target)}; pFedLoRA vs best baseline ${best ?? 'n/a'}: accuracy ${gain}, ` +
          `computation ${ratio(h.computeRatio)}, communication ${ratio(h.communicationRatio)}`,
      );
    }
    log(`wrote ${join(plan.out, 'report.md')}, ${join(plan.out, 'report.html')}, ${join(plan.out, 'results.csv')} and ${files.length - 3} plots in ${elapsed.toFixed(1)} s`);
  }
  if (failed.length) {
    throw new CliError(`${failed.length} of ${cells.length} runs failed (first: ${failed[0]!.setting} ${failed[0]!.algorithm} seed ${failed[0]!.seed}: ${failed[0]!.note ?? ''}); the report covers the runs that finished`, EXIT.failure);
  }
  return EXIT.ok;
}

/** The report summary for --json, without the per-round curves (they are in each result.json). */
function jsonSetting(s: Report['settings'][number]): Record<string, unknown> {
  return {
    id: s.id,
    label: s.label,
    setting: s.setting,
    target: s.summary.target,
    bestBaseline: s.summary.bestBaseline ?? null,
    headline: s.summary.headline,
    algorithms: s.summary.algorithms.map(({ curve: _curve, ...rest }) => rest),
  };
}

