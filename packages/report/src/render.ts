/**
 * Renderers of a Report: results.csv (one row per setting and algorithm, raw
 * numbers for scripts), report.md and report.html (the paper's table form,
 * plots), and the SVG plots themselves. Pure: strings in, strings out.
 */
import { formatBytes, formatCount } from '@pfedlora/core';
import { PROPOSED, type AlgorithmSummary } from './metrics';
import { colorOf, displayName, type Report, type SettingReport } from './report';
import { escapeXml, linePlot, siLabel, type PlotPoint } from './svg';

export type PlotMetric = 'round' | 'bytes' | 'flops';
export const PLOT_METRICS: readonly PlotMetric[] = ['round', 'bytes', 'flops'];

export interface RenderedPlot {
  readonly metric: PlotMetric;
  /** Relative to the report folder. */
  readonly file: string;
  readonly title: string;
  readonly svg: string;
}

const pct = (x: number) => (Number.isFinite(x) ? (x * 100).toFixed(2) : 'n/a');
const pctAxis = (x: number) => `${Math.round(x * 100)}%`;

function meanStdText(m: AlgorithmSummary['accuracy']): string {
  return m.n > 1 ? `${pct(m.mean)} ± ${pct(m.std)}` : pct(m.mean);
}

function accuracyText(a: AlgorithmSummary): string {
  return meanStdText(a.accuracy);
}

/** '–' when a seed's result file predates macro-F1 (nothing to average). */
function macroF1Text(a: AlgorithmSummary): string {
  return Number.isFinite(a.macroF1.mean) ? meanStdText(a.macroF1) : '–';
}

function signedPoints(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  const v = x * 100;
  return `${v >= 0 ? '+' : ''}${v.toFixed(2)}`;
}

function times(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '–' : `${x.toFixed(2)}x`;
}

/** The cells of one algorithm's row, shared by Markdown and HTML. */
function rowCells(a: AlgorithmSummary): string[] {
  const t = a.toTarget;
  return [
    displayName(a.algorithm) + (a.isBestBaseline ? ' (best baseline)' : ''),
    String(a.seeds.length),
    accuracyText(a),
    a.algorithm === PROPOSED ? '–' : signedPoints(a.pfedloraGain),
    t ? String(t.round) : 'not reached',
    t ? `${formatCount(t.flops)} / ${formatCount(t.flopsPerClient)}` : '–',
    t ? `${formatBytes(t.bytes)} / ${formatBytes(t.bytesPerClient)}` : '–',
    a.algorithm === PROPOSED ? '1.00x' : times(a.computeRatio),
    a.algorithm === PROPOSED ? '1.00x' : times(a.communicationRatio),
    macroF1Text(a),
  ];
}

export const TABLE_HEADER = [
  'algorithm',
  'seeds',
  'accuracy % (mean ± std)',
  'pFedLoRA gain (points)',
  'rounds to target',
  'FLOPs to target (total / per client)',
  'bytes to target (total / per client)',
  'computation ratio (it / pFedLoRA)',
  'communication ratio (it / pFedLoRA)',
  'macro-F1 % (mean ± std)',
];

function headlineText(s: SettingReport): string {
  const h = s.summary.headline;
  const best = s.summary.bestBaseline;
  const proposed = s.summary.algorithms.some((a) => a.algorithm === PROPOSED);
  if (!proposed || best === undefined) return 'pFedLoRA against the best baseline: needs pFedLoRA and at least one baseline.';
  return (
    `pFedLoRA against the best baseline (${displayName(best)}): accuracy ${signedPoints(h.accuracyGain)} points, ` +
    `computation ratio ${times(h.computeRatio)}, communication ratio ${times(h.communicationRatio)} (best baseline / pFedLoRA, costs to target).`
  );
}

function targetText(s: SettingReport, report: Report): string {
  return Number.isFinite(s.summary.target) ? `Target accuracy ${pct(s.summary.target)}% (${report.ruleText}).` : 'No target: no run finished.';
}

export function plotFile(s: SettingReport, metric: PlotMetric): string {
  return `plots/${s.id}-accuracy-vs-${metric}.svg`;
}

/** The three plots of a setting: accuracy against round, cumulative bytes and cumulative FLOPs. */
export function settingPlots(report: Report, s: SettingReport): RenderedPlot[] {
  const axes: Record<PlotMetric, { label: string; title: string; scale: 'linear' | 'log'; x: (p: AlgorithmSummary['curve'][number]) => number; fmt: (n: number) => string }> = {
    round: { label: 'round', title: 'accuracy vs round', scale: 'linear', x: (p) => p.round, fmt: (n) => String(n) },
    bytes: { label: 'cumulative bytes up + down, all clients', title: 'accuracy vs communication', scale: 'log', x: (p) => p.cumBytes, fmt: (n) => siLabel(n, 'B') },
    flops: { label: 'cumulative training FLOPs, all clients', title: 'accuracy vs computation', scale: 'log', x: (p) => p.cumFlops, fmt: (n) => siLabel(n) },
  };
  return PLOT_METRICS.map((metric) => {
    const axis = axes[metric];
    const title = `${s.label}: ${axis.title}`;
    const svg = linePlot({
      title,
      xLabel: axis.label,
      yLabel: 'mean test accuracy',
      xScale: axis.scale,
      xInteger: metric === 'round',
      target: s.summary.target,
      formatX: axis.fmt,
      formatY: pctAxis,
      data: { setting: s.id, metric },
      series: s.summary.algorithms.map((a) => ({
        name: displayName(a.algorithm),
        color: colorOf(report, a.algorithm),
        emphasis: a.algorithm === PROPOSED,
        emptyNote: metric === 'bytes' ? 'sends nothing' : 'no data',
        points: a.curve.map((p): PlotPoint => ({ x: axis.x(p), y: p.accuracy })),
      })),
    });
    return { metric, file: plotFile(s, metric), title, svg };
  });
}

// ---------------------------------------------------------------- CSV

export const CSV_HEADER = [
  'setting',
  'clients',
  'participation',
  'partition',
  'algorithm',
  'seeds',
  'accuracy_mean',
  'accuracy_std',
  'target',
  'rounds_to_target',
  'flops_to_target',
  'flops_to_target_per_client',
  'bytes_to_target',
  'bytes_to_target_per_client',
  'pfedlora_gain',
  'compute_ratio_vs_pfedlora',
  'communication_ratio_vs_pfedlora',
  'best_baseline',
  'macro_f1_mean',
  'macro_f1_std',
] as const;

function csvField(v: string | number | boolean | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const text = String(v);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One row per (setting, algorithm); accuracies as fractions, costs in FLOPs and bytes; empty where unknown. */
export function renderCsv(report: Report): string {
  const lines = [CSV_HEADER.join(',')];
  for (const s of report.settings) {
    for (const a of s.summary.algorithms) {
      const t = a.toTarget;
      lines.push(
        [
          s.id,
          s.setting.clients,
          s.setting.participation,
          s.setting.partition,
          a.algorithm,
          a.seeds.join(';'),
          a.accuracy.mean,
          a.accuracy.std,
          s.summary.target,
          t?.round,
          t?.flops,
          t?.flopsPerClient,
          t?.bytes,
          t?.bytesPerClient,
          a.pfedloraGain,
          a.computeRatio,
          a.communicationRatio,
          a.isBestBaseline,
          a.macroF1.mean,
          a.macroF1.std,
        ]
          .map(csvField)
          .join(','),
      );
    }
  }
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------- Markdown

function mdTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const esc = (t: string) => t.replace(/\|/g, '\\|');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

/** Algorithms down, settings across: `cell` of each algorithm's summary in each setting ('–' where it did not run). */
function algorithmRows(report: Report, title: string, cell: (a: AlgorithmSummary) => string): { header: string[]; rows: string[][] } {
  const header = [title, ...report.settings.map((s) => s.label)];
  const rows = report.algorithms.map((alg) => [
    displayName(alg),
    ...report.settings.map((s) => {
      const a = s.summary.algorithms.find((x) => x.algorithm === alg);
      return a ? cell(a) : '–';
    }),
  ]);
  return { header, rows };
}

/** The paper's table: algorithms down, settings across, then pFedLoRA's three numbers against the best baseline. */
function summaryRows(report: Report): { header: string[]; rows: string[][] } {
  const { header, rows } = algorithmRows(report, 'accuracy %, mean ± std over seeds', (a) => accuracyText(a) + (a.isBestBaseline ? ' *' : ''));
  rows.push(['pFedLoRA gain over best baseline (points)', ...report.settings.map((s) => signedPoints(s.summary.headline.accuracyGain))]);
  rows.push(['computation ratio (best baseline / pFedLoRA)', ...report.settings.map((s) => times(s.summary.headline.computeRatio))]);
  rows.push(['communication ratio (best baseline / pFedLoRA)', ...report.settings.map((s) => times(s.summary.headline.communicationRatio))]);
  return { header, rows };
}

/** Macro-F1 beside the summary: algorithms down, settings across (on an imbalanced task, the fairer number). */
function macroF1Rows(report: Report): { header: string[]; rows: string[][] } {
  return algorithmRows(report, 'macro-F1 %, mean ± std over seeds', macroF1Text);
}

const MACRO_F1_NOTE =
  "Macro-F1: per client, the mean over the classes present in its test split or its predictions of 2TP / (2TP + FP + FN); then averaged like accuracy. '–' where a run's result file predates it.";

export function renderMarkdown(report: Report): string {
  const out: string[] = [`# ${report.title}`, ''];
  for (const n of report.notes) out.push(`- ${n}`);
  out.push(
    `- Accuracy: the mean personalized test accuracy of every client's model as the run leaves it (each client's latest evaluation; with full participation, the last round's mean), mean ± sample std over seeds. ` +
      `Costs to target are read off the seed-mean curve (per round, the mean over that round's participants): the first round whose mean accuracy reaches the target, and the training FLOPs and payload bytes (up + down) of all clients until then; per client = total / N.`,
    `- Target per setting: ${report.ruleText}. Best baseline: the most accurate algorithm other than pFedLoRA and its Q/V plug point (standalone only if it is the only one). Ratios are the algorithm's cost / pFedLoRA's.`,
    '',
    '## Summary',
    '',
  );
  const { header, rows } = summaryRows(report);
  out.push(mdTable(header, rows), '', '`*` best baseline of the setting.', '');
  const f1 = macroF1Rows(report);
  out.push(mdTable(f1.header, f1.rows), '', MACRO_F1_NOTE, '');
  for (const s of report.settings) {
    out.push(`## ${s.label}`, '', targetText(s, report), '', headlineText(s), '');
    out.push(mdTable(TABLE_HEADER, s.summary.algorithms.map(rowCells)), '');
    for (const p of settingPlots(report, s)) out.push(`![${p.title}](${p.file})`, '');
  }
  return out.join('\n');
}

// ---------------------------------------------------------------- HTML

const CSS = `
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1d1d1f; background: #fafafa; }
main { max-width: 1500px; margin: 0 auto; padding: 24px; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
ul.notes { font-size: 0.9rem; color: #444; }
table { border-collapse: collapse; margin: 12px 0; background: #fff; font-size: 0.9rem; }
th, td { border: 1px solid #d0d0d0; padding: 4px 8px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f0f0f0; }
tr.proposed td { font-weight: 600; }
tr.best-baseline td { background: #f3f8ff; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; }
.plots svg { border: 1px solid #ddd; background: #fff; max-width: 100%; height: auto; }
p.headline { font-weight: 600; }
`;

const h = escapeXml;

function htmlTable(header: readonly string[], rows: readonly { cells: readonly string[]; attrs: string }[], attrs: string): string {
  return [
    `<table ${attrs}>`,
    `<thead><tr>${header.map((c) => `<th>${h(c)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map((r) => `<tr ${r.attrs}>${r.cells.map((c) => `<td>${h(c)}</td>`).join('')}</tr>`),
    '</tbody>',
    '</table>',
  ].join('\n');
}

/**
 * One self-contained page: inline CSS and SVG, no script, no external
 * resource (an empty data: icon stops the browser from asking for
 * /favicon.ico), so it opens from file:// or an e-mail attachment.
 */
export function renderHtml(report: Report): string {
  const out: string[] = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${h(report.title)}</title>`,
    '<link rel="icon" href="data:,">',
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    '<main>',
    `<h1>${h(report.title)}</h1>`,
    '<ul class="notes">',
    ...report.notes.map((n) => `<li>${h(n)}</li>`),
    `<li>Accuracy: the mean personalized test accuracy of every client's model as the run leaves it (each client's latest evaluation; with full participation, the last round's mean), mean ± sample std over seeds. Costs to target are read off the seed-mean curve (per round, the mean over that round's participants): the first round whose mean accuracy reaches the target, and the training FLOPs and payload bytes (up + down) of all clients until then; per client = total / N.</li>`,
    `<li>Target per setting: ${h(report.ruleText)}. Best baseline: the most accurate algorithm other than pFedLoRA and its Q/V plug point (standalone only if it is the only one). Ratios are the algorithm's cost / pFedLoRA's.</li>`,
    '</ul>',
    '<h2>Summary</h2>',
  ];
  const { header, rows } = summaryRows(report);
  out.push(htmlTable(header, rows.map((cells) => ({ cells, attrs: '' })), 'id="summary"'));
  const f1 = macroF1Rows(report);
  out.push(htmlTable(f1.header, f1.rows.map((cells) => ({ cells, attrs: '' })), 'id="summary-macro-f1"'), `<p>${h(MACRO_F1_NOTE)}</p>`);
  for (const s of report.settings) {
    out.push(`<section class="setting" id="setting-${h(s.id)}" data-setting="${h(s.id)}">`);
    out.push(`<h2>${h(s.label)}</h2>`, `<p>${h(targetText(s, report))}</p>`, `<p class="headline">${h(headlineText(s))}</p>`);
    out.push(
      htmlTable(
        TABLE_HEADER,
        s.summary.algorithms.map((a) => {
          const cls = [a.algorithm === PROPOSED ? 'proposed' : '', a.isBestBaseline ? 'best-baseline' : ''].filter(Boolean).join(' ');
          return { cells: rowCells(a), attrs: `data-algorithm="${h(a.algorithm)}"${cls ? ` class="${cls}"` : ''}` };
        }),
        `class="results" data-setting="${h(s.id)}"`,
      ),
    );
    out.push('<div class="plots">', ...settingPlots(report, s).map((p) => p.svg), '</div>', '</section>');
  }
  out.push('</main>', '</body>', '</html>', '');
  return out.join('\n');
}
