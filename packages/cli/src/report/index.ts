/**
 * The reproduction report: grid naming (grid.ts), cost accounting (metrics.ts),
 * the report model (report.ts), its renderers (render.ts, svg.ts), and the one
 * function here that writes them to disk.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { renderCsv, renderHtml, renderMarkdown, settingPlots } from './render';
import type { Report } from './report';

export * from './grid';
export * from './metrics';
export * from './report';
export * from './render';
export * from './result-file';
export { linePlot, escapeXml, PALETTE, type Series, type PlotSpec, type PlotPoint } from './svg';

/** Writes through a temporary name so a reader never sees half a file. */
async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/** Writes report.md, report.html, results.csv and plots/*.svg under `out`; returns the paths written. */
export async function writeReport(out: string, report: Report): Promise<string[]> {
  const files: Array<[string, string]> = [
    ['report.md', renderMarkdown(report)],
    ['report.html', renderHtml(report)],
    ['results.csv', renderCsv(report)],
  ];
  for (const s of report.settings) for (const p of settingPlots(report, s)) files.push([p.file, p.svg]);
  for (const [file, text] of files) await writeAtomic(join(out, file), text);
  return files.map(([file]) => join(out, file));
}
