/**
 * The report model: per setting of the grid, the summary of every algorithm
 * (metrics.ts) plus what the renderers need to label it. Pure.
 */
import { settingId, type Setting } from './grid';
import { describeTargetRule, summarizeSetting, PROPOSED, type RunCosts, type SettingSummary, type TargetRule } from './metrics';
import { PALETTE } from './svg';

export interface SettingInput {
  readonly setting: Setting;
  /** How the setting reads in tables, e.g. "N=10, 100%, label skew (2 classes/client)". */
  readonly label: string;
  /** The setting's completed runs (any algorithms and seeds). */
  readonly runs: readonly RunCosts[];
}

export interface ReportInput {
  readonly title: string;
  readonly dataset: string;
  /** Algorithms in the order rows and legends list them. */
  readonly algorithms: readonly string[];
  readonly settings: readonly SettingInput[];
  readonly rule: TargetRule;
  /** Free lines printed under the title (the grid's configuration, how it was run). */
  readonly notes: readonly string[];
}

export interface SettingReport {
  readonly id: string;
  readonly setting: Setting;
  readonly label: string;
  readonly summary: SettingSummary;
}

export interface Report {
  readonly title: string;
  readonly dataset: string;
  readonly algorithms: readonly string[];
  readonly rule: TargetRule;
  readonly ruleText: string;
  readonly notes: readonly string[];
  readonly settings: readonly SettingReport[];
}

export function buildReport(input: ReportInput): Report {
  return {
    title: input.title,
    dataset: input.dataset,
    algorithms: input.algorithms,
    rule: input.rule,
    ruleText: describeTargetRule(input.rule),
    notes: input.notes,
    settings: input.settings.map((s) => ({
      id: settingId(s.setting),
      setting: s.setting,
      label: s.label,
      summary: summarizeSetting(s.runs, input.algorithms, s.setting.clients, input.rule),
    })),
  };
}

/** The names the papers use. */
const DISPLAY: Readonly<Record<string, string>> = {
  pfedlora: 'pFedLoRA',
  standalone: 'Standalone',
  'lg-fedavg': 'LG-FedAvg',
  fd: 'FD',
  fedproto: 'FedProto',
  fml: 'FML',
  fedkd: 'FedKD',
  fedgh: 'FedGH',
  'fedproto-head': 'FedProto (head)',
  'pfedlora-qv': 'pFedLoRA (Q/V LoRA)',
};

export function displayName(algorithm: string): string {
  return DISPLAY[algorithm] ?? algorithm;
}

/** A stable colour per algorithm across every plot of a report: pFedLoRA first, then the others in order. */
export function colorOf(report: Pick<Report, 'algorithms'>, algorithm: string): string {
  if (algorithm === PROPOSED) return PALETTE[0];
  const others = report.algorithms.filter((a) => a !== PROPOSED);
  const i = others.indexOf(algorithm);
  return PALETTE[1 + ((i < 0 ? others.length : i) % (PALETTE.length - 1))]!;
}
