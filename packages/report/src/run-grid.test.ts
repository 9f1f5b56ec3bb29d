/**
 * The grid and its report as a library, without the CLI: a one-cell grid on
 * the shipped Fashion-MNIST subset runs, stores its result and writes the
 * report; run again it is skipped; a report-only run over a wider grid lists
 * the cells not run yet; and a result file read back renders the same report.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SIMULATION } from '@pfedlora/ml';
import { cellDir, cellKey, DEFAULT_TARGET_RULE, readResultFile, renderMarkdown, reportFromResults, runGrid, settingId, type CellOutcome, type GridPlan } from './index';

jest.setTimeout(120_000);

describe('runGrid', () => {
  const out = mkdtempSync(join(tmpdir(), 'pfedlora-grid-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  const setting = { clients: 2, participation: 1, partition: 'label-skew' } as const;
  const plan: GridPlan = {
    out,
    quick: false,
    reportOnly: false,
    algorithms: ['pfedlora'],
    seeds: [1],
    settings: [setting],
    base: { ...DEFAULT_SIMULATION, dataDir: 'subset', rounds: 1, maxTrainSamples: 32, workers: 0 },
    rule: DEFAULT_TARGET_RULE,
  };

  test('a group setting the data cannot serve is a usage error before any run: no groups, or more clients than groups', async () => {
    const group = { clients: 2, participation: 1, partition: 'group' } as const;
    const noGroups = runGrid({ ...plan, out: join(out, 'group'), settings: [group] });
    await expect(noGroups).rejects.toMatchObject({ name: 'GridError', usage: true, message: expect.stringMatching(/^setting n2-p100-group: --partition group: .* has no groups/) });
    const text = { ...plan, out: join(out, 'group-text'), base: { ...plan.base, dataset: 'spam-assassin' as const, dataDir: undefined, maxTokens: 8 } };
    await expect(runGrid({ ...text, settings: [{ ...group, clients: 4 }] })).rejects.toThrow('setting n4-p100-group: partition: group: 4 clients but the data has 3 groups');
    expect(existsSync(join(out, 'group-text', 'runs'))).toBe(false);
  });

  test('runs a cell, reports it, skips it the second time, and reports a partial grid', async () => {
    const seen: CellOutcome[] = [];
    const progress: number[] = [];
    const first = await runGrid(plan, { onCell: (_i, _c, o) => seen.push(o), onProgress: (_i, _c, f) => progress.push(f) });
    expect(first.outcomes.map((o) => o.status)).toEqual(['ran']);
    expect(seen).toEqual(first.outcomes);
    expect(progress.length).toBeGreaterThan(0);
    expect(Math.max(...progress)).toBeLessThanOrEqual(1);
    const cell = { setting, algorithm: 'pfedlora', seed: 1 };
    expect(existsSync(join(cellDir(out, cell), 'result.json'))).toBe(true);
    expect(first.files.slice(0, 3)).toEqual(['report.md', 'report.html', 'results.csv'].map((f) => join(out, f)));
    for (const f of first.files) expect(existsSync(f)).toBe(true);
    expect(first.report.settings.map((s) => s.id)).toEqual([settingId(setting)]);

    const second = await runGrid(plan);
    expect(second.outcomes.map((o) => o.status)).toEqual(['skipped']);
    expect(second.outcomes[0]!.finalAccuracy).toBe(first.outcomes[0]!.finalAccuracy);

    const partial = await runGrid({ ...plan, seeds: [1, 2], reportOnly: true });
    expect(partial.outcomes.map((o) => `${o.seed}:${o.status}`)).toEqual(['1:skipped', '2:missing']);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/1 not run yet: this report covers a partial grid/);

    // The same report from the result file alone (what a program reading results would do).
    const stored = await readResultFile(join(cellDir(out, cell), 'result.json'));
    const report = reportFromResults(plan, new Map([[cellKey(cell), stored]]), second.report.notes);
    expect(renderMarkdown(report)).toBe(renderMarkdown(second.report));
  });
});
