/** Writing a report to disk: every file through core's atomic write, so a reader never sees half of one. */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '@pfedlora/core';
import { renderCsv, renderHtml, renderMarkdown, settingPlots } from './render';
import type { Report } from './report';

/** Writes report.md, report.html, results.csv and plots/*.svg under `out`; returns the paths written. */
export async function writeReport(out: string, report: Report): Promise<string[]> {
  const files: Array<[string, string]> = [
    ['report.md', renderMarkdown(report)],
    ['report.html', renderHtml(report)],
    ['results.csv', renderCsv(report)],
  ];
  for (const s of report.settings) for (const p of settingPlots(report, s)) files.push([p.file, p.svg]);
  for (const [file, text] of files) {
    const path = join(out, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileAtomic(path, text);
  }
  return files.map(([file]) => join(out, file));
}
