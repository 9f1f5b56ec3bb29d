/**
 * `pfedlora reproduce`: the flags of the paper's grid (algorithms x settings
 * x seeds) and the lines it prints; running the grid and writing the report
 * (report.md, report.html, results.csv, plots/) is @pfedlora/report's
 * runGrid. docs/reproduce.md explains the grid, --quick, the target rule and
 * the ratios.
 */
import { join } from 'node:path';
import { formatPercent } from '@pfedlora/core';
import { DATASET_NAMES, DEFAULT_SIMULATION, isTextDataset, MAX_MAX_TOKENS, type AlgorithmName, type DatasetName, type PartitionKind, type SimulationConfig } from '@pfedlora/ml';
import {
  availableAlgorithms,
  DEFAULT_TARGET_RULE,
  defaultAlgorithms,
  describeGrid,
  FULL_DEFAULTS,
  GridError,
  headlineLines,
  isAlgorithmName,
  parseSettings,
  parseTargetRule,
  PARTITION_KINDS,
  QUICK_DEFAULTS,
  runGrid,
  settingId,
  TEXT_DEFAULTS,
  TEXT_QUICK_DEFAULTS,
  type Cell,
  type CellOutcome,
  type GridEvents,
  type GridPlan,
  type Report,
  type Setting,
  type TargetRule,
} from '@pfedlora/report';
import { boolFlag, choiceFlag, floatFlag, helpText, intFlag, parseFlags, stringFlag, type FlagSpecs, type ParsedFlags } from '../args';
import { CliError, EXIT, UsageError } from '../errors';
import { createProgressBar } from '../progress';
import { BACKEND_FLAG, backendFlag, HELP_FLAG, SCHEDULE_FLAGS, scheduleFlags } from './shared';

const d = DEFAULT_SIMULATION;

/** What the grid is about: the paper's image task, or the language-model case on text (--task text). */
export const TASKS = ['image', 'text'] as const;
export type Task = (typeof TASKS)[number];

export const REPRODUCE_FLAGS: FlagSpecs = {
  task: {
    type: 'string',
    value: 'TASK',
    help:
      `image (the paper's grid) or text (transformers on the SpamAssassin mails: ${TEXT_DEFAULTS.settings} clients, ${TEXT_DEFAULTS.partitions} ${TEXT_DEFAULTS.alpha}, seeds ${TEXT_DEFAULTS.seeds}, ` +
      `${TEXT_DEFAULTS.rounds} rounds of ${TEXT_DEFAULTS.localEpochs} epochs in batches of ${TEXT_DEFAULTS.batchSize}, ${TEXT_DEFAULTS.maxTokens} tokens; FML and FedKD share a TFM-1)`,
    default: 'image; text for a text --dataset',
  },
  'max-tokens': { type: 'string', value: 'N', help: 'text: byte tokens per text', default: String(TEXT_DEFAULTS.maxTokens) },
  quick: { type: 'boolean', help: `small grid for a first look: settings ${QUICK_DEFAULTS.settings}, ${QUICK_DEFAULTS.partitions}, seed ${QUICK_DEFAULTS.seeds}, ${QUICK_DEFAULTS.rounds} rounds, --max-samples ${QUICK_DEFAULTS.maxSamples}, shipped Fashion-MNIST subset` },
  out: { type: 'string', value: 'DIR', help: `results and report folder (resumable)`, default: `${FULL_DEFAULTS.out}; --quick: ${QUICK_DEFAULTS.out}` },
  'report-only': { type: 'boolean', help: 'run nothing: write the report from the runs already in OUT (a grid still in progress, or stopped); missing runs are listed' },
  algorithms: { type: 'string', value: 'LIST', help: 'comma list of algorithms', default: 'every one of the paper available here' },
  seeds: { type: 'string', value: 'LIST', help: 'comma list of seeds or ranges, e.g. 1,2,3 or 1-5', default: `${FULL_DEFAULTS.seeds}; --quick: ${QUICK_DEFAULTS.seeds}` },
  settings: { type: 'string', value: 'LIST', help: 'comma list of CLIENTS:PARTICIPATION[:PARTITION], e.g. 10:1,50:0.2:dirichlet', default: `${FULL_DEFAULTS.settings}; --quick: ${QUICK_DEFAULTS.settings}` },
  partitions: { type: 'string', value: 'LIST', help: 'partitions for settings given without one: label-skew, dirichlet, group (whole mailbox sets per client; text only)', default: `${FULL_DEFAULTS.partitions}; --quick: ${QUICK_DEFAULTS.partitions}` },
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

/** Everything a reproduce run does, decided from the flags: the grid, and how to print. */
export interface ReproducePlan extends GridPlan {
  readonly task: Task;
  readonly json: boolean;
}

function parseAlgorithms(text: string | undefined, task: Task): AlgorithmName[] {
  if (text === undefined) return defaultAlgorithms(task === 'text');
  const available = availableAlgorithms();
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

/** --task text's local epochs and batch size where the flags do not say. */
function textSchedule(flags: ParsedFlags): { localEpochs: number; batchSize: number } {
  return { localEpochs: intFlag(flags, 'local-epochs', TEXT_DEFAULTS.localEpochs, 1), batchSize: intFlag(flags, 'batch-size', TEXT_DEFAULTS.batchSize, 1) };
}

export function reproducePlanFromFlags(argv: readonly string[]): { plan: ReproducePlan; help: boolean } {
  const { flags, positionals } = parseFlags(argv, REPRODUCE_FLAGS, 'reproduce');
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}". See 'pfedlora reproduce --help'.`);
  const quick = boolFlag(flags, 'quick');
  const datasetText = stringFlag(flags, 'dataset');
  const task: Task = choiceFlag(flags, 'task', TASKS, datasetText !== undefined && (DATASET_NAMES as readonly string[]).includes(datasetText) && isTextDataset(datasetText as DatasetName) ? 'text' : 'image');
  const textPreset = quick ? TEXT_QUICK_DEFAULTS : TEXT_DEFAULTS;
  const preset = task === 'text' ? textPreset : quick ? QUICK_DEFAULTS : FULL_DEFAULTS;
  const dataset: DatasetName = choiceFlag(flags, 'dataset', DATASET_NAMES, task === 'text' ? 'spam-assassin' : d.dataset);
  if (isTextDataset(dataset) !== (task === 'text')) throw new UsageError(`--task ${task} does not fit --dataset ${dataset} (${isTextDataset(dataset) ? 'a text' : 'an image'} set)`);
  if (task !== 'text' && stringFlag(flags, 'max-tokens') !== undefined) throw new UsageError('--max-tokens applies to --task text');
  const tokens = task === 'text' ? { maxTokens: intFlag(flags, 'max-tokens', textPreset.maxTokens, 1, MAX_MAX_TOKENS) } : {};
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
    ...tokens,
    classesPerClient: intFlag(flags, 'classes-per-client', dataset === 'cifar100' ? 10 : 2, 1),
    dirichletAlpha: floatFlag(flags, 'alpha', task === 'text' ? TEXT_DEFAULTS.alpha : d.dirichletAlpha, (n) => n > 0, 'a number > 0'),
    rounds: intFlag(flags, 'rounds', preset.rounds, 1),
    maxTrainSamples: intFlag(flags, 'max-samples', preset.maxSamples, 0),
    ...scheduleFlags(flags),
    ...(task === 'text' ? textSchedule(flags) : {}),
    backend: backendFlag(flags),
    workers: workers === undefined || workers === 'auto' ? 'auto' : intFlag(flags, 'workers', 0, 0),
  };
  const plan: ReproducePlan = {
    quick,
    task,
    out: stringFlag(flags, 'out', preset.out),
    json: boolFlag(flags, 'json'),
    reportOnly: boolFlag(flags, 'report-only'),
    algorithms: parseAlgorithms(stringFlag(flags, 'algorithms'), task),
    seeds: parseSeeds(stringFlag(flags, 'seeds', preset.seeds)),
    settings,
    base,
    rule,
  };
  return { plan, help: boolFlag(flags, 'help') };
}

export async function reproduce(argv: readonly string[], stdout: NodeJS.WritableStream = process.stdout): Promise<number> {
  const { plan, help } = reproducePlanFromFlags(argv);
  if (help) {
    stdout.write(REPRODUCE_HELP);
    return EXIT.ok;
  }
  // Progress lines go to stderr under --json so stdout stays one JSON object.
  const log = (line: string) => (plan.json ? process.stderr : stdout).write(line + '\n');
  const bar = createProgressBar();
  let prefix: (index: number, cell: Cell) => string = () => '';
  const events: GridEvents = {
    onStart: (cells) => {
      log(`pfedlora reproduce: ${describeGrid(plan)}; ${cells.length} runs; results in ${plan.out}`);
      const width = String(cells.length).length;
      const algWidth = Math.max(...plan.algorithms.map((a) => a.length));
      prefix = (i, cell) => `[${String(i + 1).padStart(width)}/${cells.length}] ${settingId(cell.setting)}  ${cell.algorithm.padEnd(algWidth)}  seed ${cell.seed}`;
    },
    onProgress: (i, cell, fraction, label) => bar.update(fraction, `${prefix(i, cell)}: ${label}`),
    onCell: (i, cell, o) => {
      if (o.status === 'ran' || o.status === 'failed') bar.done();
      if (o.status === 'skipped') log(`${prefix(i, cell)}  skipped (done)  final ${finalText(o)}`);
      else if (o.status === 'missing') log(`${prefix(i, cell)}  missing${o.note ? ` (${o.note})` : ''}`);
      else if (o.status === 'ran') log(`${prefix(i, cell)}  ran in ${(o.seconds ?? 0).toFixed(1)} s  final ${finalText(o)}${o.note ? `  (rerun: ${o.note})` : ''}`);
      else log(`${prefix(i, cell)}  FAILED: ${o.note ?? ''}`);
    },
  };
  const { outcomes, report, files, seconds } = await runGrid(plan, events).catch((error: unknown) => {
    // The data cannot serve the grid: a plan that does not fit it is a usage error, data that does not load a failure.
    if (error instanceof GridError) throw error.usage ? new UsageError(error.message) : new CliError(error.message, EXIT.failure);
    throw error;
  });
  const failed = outcomes.filter((o) => o.status === 'failed');

  if (plan.json) {
    stdout.write(JSON.stringify({ out: plan.out, quick: plan.quick, seconds, cells: outcomes, settings: report.settings.map(jsonSetting), files }) + '\n');
  } else {
    for (const line of headlineLines(report)) log(line);
    log(`wrote ${join(plan.out, 'report.md')}, ${join(plan.out, 'report.html')}, ${join(plan.out, 'results.csv')} and ${files.length - 3} plots in ${seconds.toFixed(1)} s`);
  }
  if (failed.length) {
    throw new CliError(`${failed.length} of ${outcomes.length} runs failed (first: ${failed[0]!.setting} ${failed[0]!.algorithm} seed ${failed[0]!.seed}: ${failed[0]!.note ?? ''}); the report covers the runs that finished`, EXIT.failure);
  }
  return EXIT.ok;
}

/** A cell's final accuracy and macro-F1 ('n/a' where unknown, e.g. a stored result older than macro-F1). */
function finalText(o: CellOutcome): string {
  return `${formatPercent(o.finalAccuracy ?? NaN)}, macro-F1 ${formatPercent(o.finalMacroF1 ?? NaN)}`;
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

