/**
 * Line plots as hand-written SVG: axes, ticks, one <polyline> per series, an
 * optional dashed target line and a legend. Written by hand so the report has
 * no plotting dependency and the files open anywhere (browser, GitHub,
 * inkscape) with no script and no external request.
 */

export interface PlotPoint {
  readonly x: number;
  readonly y: number;
}

export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly PlotPoint[];
  /** Drawn thicker (the proposed method). */
  readonly emphasis?: boolean;
  /** Shown in the legend when the series has nothing to draw on this plot, e.g. "sends nothing". */
  readonly emptyNote?: string;
}

export interface PlotSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** Costs span orders of magnitude between algorithms, so they get a log axis. */
  readonly xScale: 'linear' | 'log';
  /** Whole-number x ticks only (rounds). */
  readonly xInteger?: boolean;
  readonly series: readonly Series[];
  /** A dashed horizontal line (the target accuracy). */
  readonly target?: number;
  readonly formatX: (x: number) => string;
  readonly formatY: (y: number) => string;
  /** data-* attributes put on the <svg> element (test hooks, styling). */
  readonly data?: Readonly<Record<string, string>>;
}

export const PLOT_WIDTH = 700;
export const PLOT_HEIGHT = 380;
const MARGIN = { left: 64, right: 210, top: 34, bottom: 50 } as const;

/** Colours that stay apart for up to 10 series; pFedLoRA gets the first. */
export const PALETTE = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'] as const;

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const SI = ['', 'k', 'M', 'G', 'T', 'P', 'E'];

/** Axis labels for 1/2/5 x 10^k ticks: "20 k", "1 M", "500 G" (decimal prefixes, matching the decimal ticks). */
export function siLabel(n: number, unit = ''): string {
  if (n === 0) return `0${unit ? ` ${unit}` : ''}`;
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1000 && i < SI.length - 1) {
    v /= 1000;
    i++;
  }
  const text = Number.isInteger(Math.round(v * 1000) / 1000) ? String(Math.round(v)) : String(Math.round(v * 100) / 100);
  return `${text} ${SI[i]}${unit}`.trimEnd();
}

/** Short fixed-point numbers: coordinates need no more than 0.01 px. */
const c = (v: number) => String(Math.round(v * 100) / 100);

/** 1, 2, 5 x 10^k steps giving about `count` ticks over [lo, hi]; `minStep` 1 keeps them whole. */
export function linearTicks(lo: number, hi: number, count = 5, minStep = 0): number[] {
  if (!(hi > lo)) return [lo];
  const raw = Math.max((hi - lo) / count, minStep);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw - 1e-12) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) ticks.push(Math.round(t / step) * step);
  return ticks;
}

/** Powers of ten in [lo, hi]; with fewer than three, the 2x and 5x steps too. */
export function logTicks(lo: number, hi: number): number[] {
  const decades: number[] = [];
  for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++) decades.push(k);
  const inRange = (t: number) => t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9);
  const powers = decades.map((k) => 10 ** k).filter(inRange);
  if (powers.length >= 3) return powers;
  return decades.flatMap((k) => [1, 2, 5].map((m) => m * 10 ** k)).filter(inRange);
}

interface Axis {
  readonly lo: number;
  readonly hi: number;
  readonly ticks: number[];
  map(v: number, from: number, to: number): number;
}

function linearAxis(values: readonly number[], integer: boolean): Axis {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  const ticks = linearTicks(lo, hi, 5, integer ? 1 : 0);
  return { lo, hi, ticks, map: (v, from, to) => from + ((v - lo) / (hi - lo)) * (to - from) };
}

function logAxis(values: readonly number[]): Axis {
  const positive = values.filter((v) => v > 0);
  let lo = 10 ** Math.floor(Math.log10(Math.min(...positive)));
  let hi = 10 ** Math.ceil(Math.log10(Math.max(...positive)));
  if (!(hi > lo)) hi = lo * 10;
  const [l, h] = [Math.log10(lo), Math.log10(hi)];
  return { lo, hi, ticks: logTicks(lo, hi), map: (v, from, to) => from + ((Math.log10(v) - l) / (h - l)) * (to - from) };
}

/** Accuracy axis: snapped to 5% steps around the data (and the target), never outside [0, 1]. */
function accuracyAxis(values: readonly number[]): Axis {
  const step = 0.05;
  let lo = Math.max(0, Math.floor(Math.min(...values) / step + 1e-9) * step);
  let hi = Math.min(1, Math.ceil(Math.max(...values) / step - 1e-9) * step);
  if (!(hi > lo)) {
    lo = Math.max(0, lo - step);
    hi = Math.min(1, hi + step);
  }
  const ticks = linearTicks(lo, hi);
  return { lo, hi, ticks, map: (v, from, to) => from + ((v - lo) / (hi - lo)) * (to - from) };
}

/** Points this plot can place (finite, and positive x on a log axis). */
function drawable(spec: PlotSpec, s: Series): PlotPoint[] {
  return s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (spec.xScale === 'linear' || p.x > 0));
}

/**
 * A line plot: one <polyline data-series=NAME> per series that has points,
 * with point markers when there are few (a one-round run is still visible).
 * Y values are accuracies in [0, 1].
 */
export function linePlot(spec: PlotSpec): string {
  const plotted = spec.series.map((s) => ({ s, pts: drawable(spec, s) }));
  const xs = plotted.flatMap((p) => p.pts.map((q) => q.x));
  const ys = plotted.flatMap((p) => p.pts.map((q) => q.y));
  if (spec.target !== undefined && Number.isFinite(spec.target)) ys.push(spec.target);
  const x = xs.length === 0 ? linearAxis([0, 1], false) : spec.xScale === 'log' ? logAxis(xs) : linearAxis(xs, spec.xInteger ?? false);
  const y = accuracyAxis(ys.length ? ys : [0, 1]);
  const left = MARGIN.left;
  const right = PLOT_WIDTH - MARGIN.right;
  const top = MARGIN.top;
  const bottom = PLOT_HEIGHT - MARGIN.bottom;
  const px = (v: number) => x.map(v, left, right);
  const py = (v: number) => y.map(v, bottom, top);

  const data = Object.entries(spec.data ?? {})
    .map(([k, v]) => ` data-${k}="${escapeXml(v)}"`)
    .join('');
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="${PLOT_WIDTH}" height="${PLOT_HEIGHT}" viewBox="0 0 ${PLOT_WIDTH} ${PLOT_HEIGHT}" role="img" aria-label="${escapeXml(spec.title)}"${data}>`,
  );
  out.push(`<title>${escapeXml(spec.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${PLOT_WIDTH}" height="${PLOT_HEIGHT}" fill="#ffffff"/>`);
  out.push(`<text x="${c(left)}" y="20" font-family="sans-serif" font-size="14" font-weight="bold">${escapeXml(spec.title)}</text>`);

  // Grid and ticks.
  out.push(`<g class="grid" stroke="#e4e4e4" stroke-width="1">`);
  for (const t of x.ticks) out.push(`<line x1="${c(px(t))}" y1="${c(top)}" x2="${c(px(t))}" y2="${c(bottom)}"/>`);
  for (const t of y.ticks) out.push(`<line x1="${c(left)}" y1="${c(py(t))}" x2="${c(right)}" y2="${c(py(t))}"/>`);
  out.push(`</g>`);
  out.push(`<g class="axes" stroke="#333333" stroke-width="1" fill="none">`);
  out.push(`<line x1="${c(left)}" y1="${c(bottom)}" x2="${c(right)}" y2="${c(bottom)}"/>`);
  out.push(`<line x1="${c(left)}" y1="${c(top)}" x2="${c(left)}" y2="${c(bottom)}"/>`);
  out.push(`</g>`);
  out.push(`<g class="ticks" font-family="sans-serif" font-size="11" fill="#333333">`);
  for (const t of x.ticks) out.push(`<text x="${c(px(t))}" y="${c(bottom + 16)}" text-anchor="middle">${escapeXml(spec.formatX(t))}</text>`);
  for (const t of y.ticks) out.push(`<text x="${c(left - 6)}" y="${c(py(t) + 4)}" text-anchor="end">${escapeXml(spec.formatY(t))}</text>`);
  out.push(`</g>`);
  out.push(
    `<text x="${c((left + right) / 2)}" y="${c(PLOT_HEIGHT - 10)}" text-anchor="middle" font-family="sans-serif" font-size="12">${escapeXml(spec.xLabel)}${spec.xScale === 'log' ? ' (log scale)' : ''}</text>`,
  );
  out.push(
    `<text transform="translate(16 ${c((top + bottom) / 2)}) rotate(-90)" text-anchor="middle" font-family="sans-serif" font-size="12">${escapeXml(spec.yLabel)}</text>`,
  );

  if (spec.target !== undefined && Number.isFinite(spec.target)) {
    out.push(
      `<line class="target" x1="${c(left)}" y1="${c(py(spec.target))}" x2="${c(right)}" y2="${c(py(spec.target))}" stroke="#555555" stroke-width="1" stroke-dasharray="5 4"><title>target ${escapeXml(spec.formatY(spec.target))}</title></line>`,
    );
  }

  // Series: the emphasised one last so it is drawn on top.
  const order = [...plotted].sort((a, b) => Number(a.s.emphasis ?? false) - Number(b.s.emphasis ?? false));
  out.push(`<g class="series" fill="none">`);
  for (const { s, pts } of order) {
    if (pts.length === 0) continue;
    const width = s.emphasis ? 2.5 : 1.5;
    const coords = pts.map((p) => `${c(px(p.x))},${c(py(p.y))}`).join(' ');
    out.push(
      `<polyline data-series="${escapeXml(s.name)}" points="${coords}" stroke="${s.color}" stroke-width="${width}" stroke-linejoin="round" stroke-linecap="round"/>`,
    );
    if (pts.length <= 40) {
      for (const p of pts) out.push(`<circle cx="${c(px(p.x))}" cy="${c(py(p.y))}" r="${s.emphasis ? 3 : 2.5}" fill="${s.color}"/>`);
    }
  }
  out.push(`</g>`);

  // Legend, in the order given.
  out.push(`<g class="legend" font-family="sans-serif" font-size="12" fill="#222222">`);
  plotted.forEach(({ s, pts }, i) => {
    const ly = top + 8 + i * 20;
    const lx = right + 16;
    const note = pts.length === 0 ? ` (${s.emptyNote ?? 'no data'})` : '';
    out.push(`<line x1="${lx}" y1="${c(ly)}" x2="${lx + 22}" y2="${c(ly)}" stroke="${s.color}" stroke-width="${s.emphasis ? 2.5 : 1.5}"/>`);
    out.push(`<text x="${lx + 28}" y="${c(ly + 4)}">${escapeXml(s.name + note)}</text>`);
  });
  out.push(`</g>`);
  out.push(`</svg>`);
  return out.join('\n') + '\n';
}
