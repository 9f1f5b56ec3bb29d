/**
 * `pfedlora reproduce` and its report: (a) the report generator on hand-made
 * results (pure, fast), (b) the command end to end on a tiny grid, resumed,
 * (c) the same on a generated CIFAR-10 binary dataset, (d) the HTML report in
 * a real browser (Debian's chromium driven by playwright-core).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ALGORITHM_NAMES, TRANSFORMER_ALGORITHMS, VARIANT_ALGORITHMS } from '../packages/ml/src/algorithms/algorithm';
import { reproducePlanFromFlags } from '../packages/cli/src/commands/reproduce';
import { CIFAR_LAYOUTS, CIFAR_PIXELS, encodeCifarRecords } from '../packages/ml/src/data/cifar';
import {
  buildReport,
  cellDir,
  costCurve,
  gridCells,
  linePlot,
  meanCurve,
  meanStd,
  parseResultJson,
  parseSettings,
  parseTargetRule,
  pickBestBaseline,
  renderCsv,
  renderHtml,
  renderMarkdown,
  resolveTarget,
  settingId,
  settingPlots,
  staleReason,
  toTarget,
  CSV_HEADER,
  type RoundCost,
  type RunCosts,
  type Setting,
  type TargetRule,
  PAPER_ALGORITHMS,
} from '../packages/report/src';
import { runCli } from './helpers';
import { CHROMIUM, requireSystemPackage } from './system-packages';

const withChromium = requireSystemPackage(CHROMIUM);

const scratch = mkdtempSync(join(tmpdir(), 'pfedlora-report-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// ---------------------------------------------------------------- (a) fixtures

/** A result.json as `simulate --out` writes it, with only the fields that matter here set to chosen values. */
function resultJson(algorithm: string, seed: number, clients: number, acc: readonly (number | null)[], perRound: { up: number; down: number; flops: number }): string {
  const rounds = acc.map((a, i) => ({
    round: i + 1,
    participants: Array.from({ length: clients }, (_, k) => k),
    meanAccuracy: a,
    meanLoss: 1,
    meanTrainLoss: 1,
    bytesUp: perRound.up,
    bytesDown: perRound.down,
    trainFlops: perRound.flops,
    seconds: 0.5,
  }));
  return JSON.stringify({
    config: { dataset: 'fashion-mnist', algorithm, clients, participation: 1, partition: 'label-skew', rounds: acc.length, seed, workers: 0, backend: 'auto' },
    engine: { backend: 'wasm' },
    dataSource: 'fixture',
    adapterBytes: 0,
    clients: [],
    rounds,
    final: { meanAccuracy: acc[acc.length - 1], round: acc.length },
    totals: { bytesUp: perRound.up * acc.length, bytesDown: perRound.down * acc.length, trainFlops: perRound.flops * acc.length, seconds: 2 },
  });
}

const SETTING: Setting = { clients: 4, participation: 1, partition: 'label-skew' };
const PF = { up: 100, down: 100, flops: 1000 };
const FP = { up: 300, down: 500, flops: 3000 };
const SA = { up: 0, down: 0, flops: 900 };

/**
 * Seed-mean curves (by hand): pfedlora 0.55 0.70 0.85 0.92, fedproto 0.45 0.60 0.70 0.80,
 * standalone 0.60 0.75 0.775 0.85. Finals: 0.92 (±0.0283), 0.80, 0.85.
 */
function fixtureRuns(): RunCosts[] {
  const files: Array<[string, number, number[], typeof PF]> = [
    ['pfedlora', 1, [0.5, 0.7, 0.8, 0.9], PF],
    ['pfedlora', 2, [0.6, 0.7, 0.9, 0.94], PF],
    ['fedproto', 1, [0.4, 0.6, 0.7, 0.8], FP],
    ['fedproto', 2, [0.5, 0.6, 0.7, 0.8], FP],
    ['standalone', 1, [0.6, 0.7, 0.75, 0.85], SA],
    ['standalone', 2, [0.6, 0.8, 0.8, 0.85], SA],
  ];
  return files.map(([algorithm, seed, acc, cost]) => {
    const stored = parseResultJson(resultJson(algorithm, seed, SETTING.clients, acc, cost), `${algorithm}-${seed}`);
    return { algorithm, seed, rounds: stored.rounds, finalAccuracy: stored.finalAccuracy };
  });
}

function fixtureReport(rule: TargetRule = { kind: 'min' }, algorithms = ['pfedlora', 'standalone', 'fedproto']) {
  return buildReport({
    title: 'fixture',
    dataset: 'fashion-mnist',
    algorithms,
    rule,
    notes: ['hand-made'],
    settings: [{ setting: SETTING, label: 'N=4, 100%, label skew', runs: fixtureRuns() }],
  });
}

/** A strict enough XML well-formedness check for what we generate: balanced tags, quoted attributes, escaped text. */
function checkWellFormedXml(xml: string): void {
  const stack: string[] = [];
  const token = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  let m: RegExpExecArray | null;
  while ((m = token.exec(xml)) !== null) {
    if (m[6] !== undefined) throw new Error(`stray or malformed tag at ${m.index}: ${xml.slice(m.index, m.index + 60)}`);
    if (m[5] !== undefined) {
      if (/&(?!(amp|lt|gt|quot|#\d+);)/.test(m[5])) throw new Error(`unescaped & in text: ${m[5].slice(0, 60)}`);
      continue;
    }
    const [, close, name, , selfClose] = m;
    if (close) {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open ?? 'nothing'}>`);
    } else if (!selfClose) {
      stack.push(name!);
    }
  }
  if (stack.length) throw new Error(`unclosed <${stack.join('>, <')}>`);
}

describe('(a) report generator on hand-made results', () => {
  test('cost curve, mean ± std, and the to-target math', () => {
    const rounds: RoundCost[] = [
      { round: 1, meanAccuracy: 0.3, bytesUp: 10, bytesDown: 20, trainFlops: 100 },
      { round: 2, meanAccuracy: NaN, bytesUp: 10, bytesDown: 20, trainFlops: 100 },
      { round: 3, meanAccuracy: 0.8, bytesUp: 10, bytesDown: 20, trainFlops: 100 },
    ];
    const curve = costCurve(rounds);
    expect(curve.map((p) => [p.cumFlops, p.cumBytes])).toEqual([[100, 30], [200, 60], [300, 90]]);
    expect(toTarget(curve, 0.5, 3)).toEqual({ round: 3, flops: 300, bytes: 90, flopsPerClient: 100, bytesPerClient: 30 });
    expect(toTarget(curve, 0.3, 3)?.round).toBe(1);
    expect(toTarget(curve, 0.81, 3)).toBeUndefined();
    const ms = meanStd([0.9, 0.94]);
    expect(ms.mean).toBeCloseTo(0.92, 12);
    expect(ms.std).toBeCloseTo(Math.SQRT2 * 0.02, 12);
    expect(meanStd([0.5]).std).toBe(0);
    // Seeds of different lengths: the mean curve stops at the shortest.
    const mc = meanCurve([costCurve(rounds), costCurve(rounds.slice(0, 2))]);
    expect(mc).toHaveLength(2);
    expect(mc[0]!.accuracy).toBeCloseTo(0.3, 12);
  });

  test('target rules', () => {
    expect(parseTargetRule('min')).toEqual({ kind: 'min' });
    expect(parseTargetRule('best:0.9')).toEqual({ kind: 'fraction-of-best', fraction: 0.9 });
    expect(parseTargetRule('0.75')).toEqual({ kind: 'absolute', accuracy: 0.75 });
    for (const bad of ['', 'best:', 'best:1.5', '1.2', 'max', '-0.1']) expect(() => parseTargetRule(bad)).toThrow(/expected min, best:F/);
    expect(resolveTarget({ kind: 'min' }, [0.92, NaN, 0.8, 0.85])).toBe(0.8);
    expect(resolveTarget({ kind: 'fraction-of-best', fraction: 0.5 }, [0.92, 0.8])).toBeCloseTo(0.46, 12);
    expect(resolveTarget({ kind: 'absolute', accuracy: 0.7 }, [])).toBe(0.7);
    expect(resolveTarget({ kind: 'min' }, [])).toBeNaN();
  });

  test('best baseline: most accurate non-pFedLoRA method, standalone only as a last resort', () => {
    expect(pickBestBaseline([{ algorithm: 'pfedlora', accuracy: 0.9 }, { algorithm: 'standalone', accuracy: 0.85 }, { algorithm: 'fedproto', accuracy: 0.8 }, { algorithm: 'fd', accuracy: 0.81 }])).toBe('fd');
    expect(pickBestBaseline([{ algorithm: 'pfedlora', accuracy: 0.9 }, { algorithm: 'standalone', accuracy: 0.85 }])).toBe('standalone');
    expect(pickBestBaseline([{ algorithm: 'pfedlora', accuracy: 0.9 }])).toBeUndefined();
    // pFedLoRA's other plug point is pFedLoRA, not a baseline, however accurate.
    expect(pickBestBaseline([{ algorithm: 'pfedlora', accuracy: 0.9 }, { algorithm: 'pfedlora-qv', accuracy: 0.95 }, { algorithm: 'fedgh', accuracy: 0.7 }])).toBe('fedgh');
    expect(pickBestBaseline([{ algorithm: 'pfedlora', accuracy: 0.9 }, { algorithm: 'pfedlora-qv', accuracy: 0.95 }])).toBeUndefined();
  });

  test('table numbers, costs to target and ratios to the best baseline', () => {
    const report = fixtureReport();
    const s = report.settings[0]!;
    expect(s.id).toBe('n4-p100-label-skew');
    expect(s.summary.target).toBeCloseTo(0.8, 12); // lowest mean final (fedproto)
    const by = Object.fromEntries(s.summary.algorithms.map((a) => [a.algorithm, a]));
    expect(s.summary.algorithms.map((a) => a.algorithm)).toEqual(['pfedlora', 'standalone', 'fedproto']);
    expect(by['pfedlora']!.accuracy.mean).toBeCloseTo(0.92, 12);
    expect(by['pfedlora']!.accuracy.std).toBeCloseTo(0.0282843, 6);
    expect(by['pfedlora']!.seeds).toEqual([1, 2]);
    // pFedLoRA mean curve 0.55 0.70 0.85: round 3, 3 x 1000 FLOPs, 3 x 200 bytes, 4 clients.
    expect(by['pfedlora']!.toTarget).toEqual({ round: 3, flops: 3000, bytes: 600, flopsPerClient: 750, bytesPerClient: 150 });
    expect(by['fedproto']!.toTarget).toEqual({ round: 4, flops: 12000, bytes: 3200, flopsPerClient: 3000, bytesPerClient: 800 });
    expect(by['standalone']!.toTarget).toEqual({ round: 4, flops: 3600, bytes: 0, flopsPerClient: 900, bytesPerClient: 0 });
    // Best baseline is fedproto although standalone is more accurate (standalone is a reference, not a federated baseline).
    expect(s.summary.bestBaseline).toBe('fedproto');
    expect(by['fedproto']!.isBestBaseline).toBe(true);
    expect(s.summary.headline.accuracyGain).toBeCloseTo(0.12, 12);
    expect(s.summary.headline.computeRatio).toBeCloseTo(4, 12);
    expect(s.summary.headline.communicationRatio).toBeCloseTo(3200 / 600, 12);
    expect(by['standalone']!.computeRatio).toBeCloseTo(1.2, 12);
    expect(by['standalone']!.communicationRatio).toBe(0);

    // A stricter target that fedproto never reaches: no cost, no ratio.
    const strict = fixtureReport({ kind: 'fraction-of-best', fraction: 0.9 }).settings[0]!.summary; // 0.828
    const sb = Object.fromEntries(strict.algorithms.map((a) => [a.algorithm, a]));
    expect(sb['pfedlora']!.toTarget?.round).toBe(3);
    expect(sb['fedproto']!.toTarget).toBeUndefined();
    expect(strict.headline.computeRatio).toBeUndefined();
    expect(strict.headline.accuracyGain).toBeCloseTo(0.12, 12);
  });

  test('results.csv and report.md carry the same numbers', () => {
    const report = fixtureReport();
    const lines = renderCsv(report).trim().split('\n');
    expect(lines[0]).toBe(CSV_HEADER.join(','));
    expect(lines).toHaveLength(4);
    const rows = lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [CSV_HEADER[i]!, v])));
    const fp = rows.find((r) => r['algorithm'] === 'fedproto')!;
    expect(fp).toMatchObject({ setting: 'n4-p100-label-skew', clients: '4', seeds: '1;2', rounds_to_target: '4', flops_to_target: '12000', bytes_to_target: '3200', flops_to_target_per_client: '3000', compute_ratio_vs_pfedlora: '4', best_baseline: 'true' });
    expect(Number(fp['accuracy_mean'])).toBeCloseTo(0.8, 12);
    expect(Number(fp['communication_ratio_vs_pfedlora'])).toBeCloseTo(5.3333, 4);
    const md = renderMarkdown(report);
    expect(md).toContain('| pFedLoRA | 2 | 92.00 ± 2.83 | – | 3 |');
    expect(md).toContain('| FedProto (best baseline) | 2 | 80.00 ± 0.00 | +12.00 | 4 | 12.00K / 3.00K | 3.1 KiB / 800 B | 4.00x | 5.33x |');
    expect(md).toContain('pFedLoRA against the best baseline (FedProto): accuracy +12.00 points, computation ratio 4.00x, communication ratio 5.33x');
    expect(md).toContain('![N=4, 100%, label skew: accuracy vs round](plots/n4-p100-label-skew-accuracy-vs-round.svg)');
  });

  test('plots are well-formed SVG with one line per algorithm', () => {
    const report = fixtureReport();
    const plots = settingPlots(report, report.settings[0]!);
    expect(plots.map((p) => p.metric)).toEqual(['round', 'bytes', 'flops']);
    for (const p of plots) {
      checkWellFormedXml(p.svg);
      expect(p.svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      const lines = [...p.svg.matchAll(/<polyline data-series="([^"]+)" points="([^"]+)"/g)];
      // Standalone sends nothing: no point of it on a log bytes axis, and the legend says so.
      const expected = p.metric === 'bytes' ? ['pFedLoRA', 'FedProto'] : ['pFedLoRA', 'Standalone', 'FedProto'];
      expect(lines.map((l) => l[1]).sort()).toEqual(expected.sort());
      for (const l of lines) {
        const pts = l[2]!.split(' ').map((xy) => xy.split(',').map(Number));
        expect(pts).toHaveLength(4);
        for (const [x, y] of pts) expect(Number.isFinite(x) && Number.isFinite(y)).toBe(true);
      }
      expect(p.svg).toContain('class="target"');
    }
    expect(plots[1]!.svg).toContain('Standalone (sends nothing)');
    // Escaping: names with markup characters stay text.
    const odd = linePlot({ title: 'a < b & "c"', xLabel: 'x', yLabel: 'y', xScale: 'linear', series: [{ name: '<x>', color: '#000', points: [{ x: 1, y: 0.5 }] }], formatX: String, formatY: String });
    checkWellFormedXml(odd);
    expect(odd).toContain('a &lt; b &amp; &quot;c&quot;');
  });

  test('the HTML page is self-contained', () => {
    const html = renderHtml(fixtureReport());
    expect(html).not.toMatch(/(src|href)="(?!data:)/);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(html).not.toMatch(/<script/);
    expect((html.match(/<svg /g) ?? []).length).toBe(3);
    expect(html).toContain('data-algorithm="fedproto" class="best-baseline"');
  });

  test('macro-F1: from the clients of a result.json; a file older than it gives NaN, and the report shows – there, not a crash', () => {
    expect(parseResultJson(resultJson('fd', 3, 2, [0.5, 0.6], PF), 'old').finalMacroF1).toBeNaN();
    const newer = JSON.parse(resultJson('fd', 3, 2, [0.5, 0.6], PF)) as { clients: unknown[] };
    newer.clients = [0.5, 0.3, null].map((macroF1, client) => ({ client, accuracy: 0.6, macroF1 }));
    expect(parseResultJson(JSON.stringify(newer), 'new').finalMacroF1).toBeCloseTo(0.4, 12);
    // The fixture's files predate macro-F1: – in its column and table, empty in the CSV.
    const old = renderMarkdown(fixtureReport());
    expect(old).toContain('| FedProto (best baseline) | 2 | 80.00 ± 0.00 | +12.00 | 4 | 12.00K / 3.00K | 3.1 KiB / 800 B | 4.00x | 5.33x | – |');
    expect(old).toContain('| FedProto | – |');
    expect(renderCsv(fixtureReport()).trim().split('\n')[1]!.endsWith(',,')).toBe(true);
    // With macro-F1 in every seed's file: mean ± std over seeds.
    const runs = fixtureRuns().map((r) => ({ ...r, finalMacroF1: r.algorithm === 'pfedlora' ? 0.5 + r.seed / 10 : 0.5 }));
    const report = buildReport({ title: 'f1', dataset: 'fashion-mnist', algorithms: ['pfedlora', 'standalone', 'fedproto'], rule: { kind: 'min' }, notes: [], settings: [{ setting: SETTING, label: 'N=4', runs }] });
    const pf = report.settings[0]!.summary.algorithms.find((a) => a.algorithm === 'pfedlora')!;
    expect(pf.macroF1.mean).toBeCloseTo(0.65, 12);
    expect(renderMarkdown(report)).toContain('| pFedLoRA | 65.00 ± 7.07 |');
  });

  test('result.json reading: NaN as null, staleness, bad files', () => {
    const stored = parseResultJson(resultJson('fd', 3, 2, [0.5, null], PF), 'x');
    expect(stored.rounds[1]!.meanAccuracy).toBeNaN();
    expect(stored.finalAccuracy).toBeNaN();
    // Partial participation: the final accuracy is every client's latest, not the last round's sample.
    const partial = JSON.parse(resultJson('fd', 3, 4, [0.5, 0.9], PF)) as { clients: unknown[] };
    partial.clients = [0.7, 0.5, null, 0.3].map((accuracy, client) => ({ client, model: 'cnn1', accuracy }));
    const fromClients = parseResultJson(JSON.stringify(partial), 'partial');
    expect(fromClients.finalAccuracy).toBeCloseTo(0.5, 12); // (0.7 + 0.5 + 0.3) / 3, the never-evaluated client left out
    expect(fromClients.rounds[1]!.meanAccuracy).toBe(0.9);
    expect(staleReason(stored, { algorithm: 'fd', seed: 3, rounds: 2, workers: 4, backend: 'wasm' })).toBeUndefined();
    expect(staleReason(stored, { algorithm: 'fd', seed: 3, rounds: 5 })).toMatch(/rounds is 2, want 5/);
    // A result stored before a field existed answers for the value it implied, and only that.
    const older = parseResultJson(resultJson('fd', 3, 2, [0.5, 0.6], PF), 'old');
    delete (older.config as Record<string, unknown>)['adapterShare'];
    expect(staleReason(older, { algorithm: 'fd', rounds: 2, adapterShare: 'all' })).toBeUndefined();
    expect(staleReason(older, { algorithm: 'fd', rounds: 2, adapterShare: 'up' })).toMatch(/adapterShare is "all", want "up"/);
    const cut = JSON.parse(resultJson('fd', 3, 2, [0.5, 0.6], PF)) as { rounds: unknown[] };
    cut.rounds.pop();
    expect(staleReason(parseResultJson(JSON.stringify(cut), 'y'), { rounds: 2 })).toMatch(/has 1 of 2 rounds/);
    expect(() => parseResultJson('{"config": 1', 'z.json')).toThrow(/z.json: not JSON/);
    expect(() => parseResultJson('{"config": {}}', 'w.json')).toThrow(/w.json: not a simulation result \(config.dataset/);
  });

  test('grid: setting names, parsing, cell folders and order', () => {
    expect(parseSettings('10:1,50:0.2', ['label-skew', 'dirichlet']).map(settingId)).toEqual([
      'n10-p100-label-skew',
      'n10-p100-dirichlet',
      'n50-p20-label-skew',
      'n50-p20-dirichlet',
    ]);
    expect(parseSettings('100:0.1:dirichlet,100:0.1:dirichlet', ['label-skew']).map(settingId)).toEqual(['n100-p10-dirichlet']);
    expect(settingId({ clients: 7, participation: 0.125, partition: 'label-skew' })).toBe('n7-p12_5-label-skew');
    for (const bad of ['10', '10:0', '10:1.5', 'x:1', '10:1:iid', '']) expect(() => parseSettings(bad, ['label-skew'])).toThrow();
    const cells = gridCells(parseSettings('2:1', ['label-skew']), ['a', 'b'], [1, 2]);
    expect(cells.map((c) => `${c.algorithm}${c.seed}`)).toEqual(['a1', 'b1', 'a2', 'b2']);
    expect(cellDir('/o', cells[1]!)).toBe(join('/o', 'runs', 'n2-p100-label-skew', 'b', 'seed-1'));
  });

  test('algorithms: the default grid is the paper\'s, diagnostic variants run only when named', () => {
    const byDefault = reproducePlanFromFlags([]).plan.algorithms;
    expect(byDefault.slice(0, PAPER_ALGORITHMS.length)).toEqual(PAPER_ALGORITHMS);
    expect(VARIANT_ALGORITHMS).toContain('fedproto-head');
    for (const variant of VARIANT_ALGORITHMS) expect(byDefault).not.toContain(variant);
    // LoRA inside transformer blocks has no place on images: the text grid runs it.
    expect(TRANSFORMER_ALGORITHMS).toContain('pfedlora-qv');
    for (const a of TRANSFORMER_ALGORITHMS) expect(byDefault).not.toContain(a);
    expect(reproducePlanFromFlags(['--algorithms', 'fedproto,fedproto-head']).plan.algorithms).toEqual(['fedproto', 'fedproto-head']);
  });

  test('--task text: transformers on the SpamAssassin mails, every baseline (FML and FedKD share a TFM-1)', () => {
    const { plan } = reproducePlanFromFlags(['--task', 'text']);
    const b = plan.base;
    expect([plan.task, b.dataset, b.maxTokens, b.partition, b.dirichletAlpha, b.localEpochs, b.batchSize, b.rounds, plan.seeds, plan.out]).toEqual([
      'text', 'spam-assassin', 32, 'label-skew', 1, 3, 16, 10, [1, 2, 3], join('runs', 'reproduce-text'),
    ]);
    expect(plan.settings.map(settingId)).toEqual(['n4-p100-dirichlet']);
    expect(plan.algorithms).toContain('fml');
    expect(plan.algorithms).toContain('fedkd');
    expect(plan.algorithms.slice(0, 2)).toEqual(['pfedlora', 'standalone']);
    expect(plan.algorithms).toContain('pfedlora-qv');
    // A text --dataset implies the task; flags still win over the preset.
    const own = reproducePlanFromFlags(['--dataset', 'spam-assassin', '--max-tokens', '64', '--local-epochs', '1', '--algorithms', 'pfedlora,fml']).plan;
    expect([own.task, own.base.maxTokens, own.base.localEpochs, own.algorithms]).toEqual(['text', 64, 1, ['pfedlora', 'fml']]);
    expect(reproducePlanFromFlags(['--task', 'text', '--quick']).plan.base.rounds).toBe(3);
    expect(() => reproducePlanFromFlags(['--task', 'text', '--dataset', 'cifar10'])).toThrow('--task text does not fit --dataset cifar10 (an image set)');
    expect(() => reproducePlanFromFlags(['--max-tokens', '32'])).toThrow('--max-tokens applies to --task text');
  });
});

// ---------------------------------------------------------------- (b), (c) the command end to end

/** Two algorithms that exist in this build: pFedLoRA and the cheapest other one listed. */
const TWO_ALGORITHMS = ['pfedlora', ALGORITHM_NAMES.includes('standalone') ? 'standalone' : ALGORITHM_NAMES.find((a) => a !== 'pfedlora')!];
const TINY = ['--algorithms', TWO_ALGORITHMS.join(','), '--seeds', '1', '--settings', '2:1:label-skew', '--max-samples', '64', '--workers', '0'];

function resultMtimes(out: string): number[] {
  return TWO_ALGORITHMS.map((a) => statSync(join(out, 'runs', 'n2-p100-label-skew', a, 'seed-1', 'result.json')).mtimeMs);
}

/** Runs the tiny grid twice into `out`: the first run trains both cells, the second skips them. */
async function runTwiceAndCheck(out: string, extra: readonly string[]): Promise<void> {
  const first = await runCli(['reproduce', ...TINY, ...extra, '--out', out], { timeoutMs: 150_000 });
  if (first.code !== 0) throw new Error(`reproduce exited ${first.code}:\n${first.stdout}\n${first.stderr}`);
  expect(first.stdout.match(/ ran in /g)).toHaveLength(2);
  for (const f of ['report.md', 'report.html', 'results.csv', 'plots/n2-p100-label-skew-accuracy-vs-round.svg', 'plots/n2-p100-label-skew-accuracy-vs-bytes.svg', 'plots/n2-p100-label-skew-accuracy-vs-flops.svg']) {
    expect(existsSync(join(out, f))).toBe(true);
  }
  const csv = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
  expect(csv.slice(1).map((l) => l.split(',')[4])).toEqual(TWO_ALGORITHMS);
  const before = resultMtimes(out);

  const second = await runCli(['reproduce', ...TINY, ...extra, '--out', out, '--json'], { timeoutMs: 60_000 });
  expect(second.code).toBe(0);
  expect(second.stderr.match(/skipped \(done\)/g)).toHaveLength(2);
  const summary = JSON.parse(second.stdout) as { cells: Array<{ status: string }>; settings: Array<{ id: string; algorithms: Array<{ algorithm: string }> }> };
  expect(summary.cells.map((c) => c.status)).toEqual(['skipped', 'skipped']);
  expect(summary.settings[0]!.algorithms.map((a) => a.algorithm)).toEqual(TWO_ALGORITHMS);
  expect(resultMtimes(out)).toEqual(before);
}

const fashionOut = join(scratch, 'fashion');

/** What the page script of (d) reads back from the rendered report. */
interface View {
  readonly rows: Array<string | null>;
  readonly summaryRows: number;
  readonly plots: Array<{
    readonly metric: string | null;
    readonly width: number;
    readonly height: number;
    readonly lines: Array<{ readonly series: string | null; readonly width: number; readonly height: number; readonly points: number }>;
  }>;
}

describe('(b)-(d) pfedlora reproduce end to end', () => {
  test('(b) a tiny grid on the shipped Fashion-MNIST subset runs, reports, and resumes', async () => {
    await runTwiceAndCheck(fashionOut, ['--rounds', '2', '--data-dir', 'subset']);
    const json = JSON.parse(readFileSync(join(fashionOut, 'runs', 'n2-p100-label-skew', 'pfedlora', 'seed-1', 'result.json'), 'utf8')) as { config: { rounds: number; maxTrainSamples: number } };
    expect(json.config).toMatchObject({ rounds: 2, maxTrainSamples: 64 });
  }, 200_000);

  test('(b) --report-only reports a partial grid from what is on disk and runs nothing', async () => {
    // The grid of (b) plus a seed that was never run: one cell per algorithm missing.
    const partial = await runCli(['reproduce', ...TINY.map((a) => (a === '1' ? '1,2' : a)), '--rounds', '2', '--data-dir', 'subset', '--out', fashionOut, '--report-only', '--json'], { timeoutMs: 60_000 });
    expect(partial.code).toBe(0);
    const summary = JSON.parse(partial.stdout) as { cells: Array<{ seed: number; status: string }> };
    expect(summary.cells.map((c) => `${c.seed}:${c.status}`).sort()).toEqual(['1:skipped', '1:skipped', '2:missing', '2:missing']);
    expect(partial.stderr).not.toMatch(/ ran in /);
    expect(readFileSync(join(fashionOut, 'report.md'), 'utf8')).toMatch(/2 not run yet: this report covers a partial grid/);
    expect(existsSync(join(fashionOut, 'runs', 'n2-p100-label-skew', 'pfedlora', 'seed-2'))).toBe(false);
  }, 90_000);

  test('(b) bad grid flags exit 2 naming the flag', async () => {
    const settings = await runCli(['reproduce', '--settings', '10:1.5']);
    expect(settings.code).toBe(2);
    expect(settings.stderr).toMatch(/--settings: bad setting "10:1.5"/);
    const algorithms = await runCli(['reproduce', '--algorithms', 'pfedlora,nope']);
    expect(algorithms.code).toBe(2);
    expect(algorithms.stderr).toMatch(/--algorithms: unknown "nope"; available here: pfedlora/);
  });

  test('(c) the same on a generated CIFAR-10 binary dataset', async () => {
    const dir = join(scratch, 'cifar-10-batches-bin');
    mkdirSync(dir, { recursive: true });
    const layout = CIFAR_LAYOUTS.cifar10;
    // 5 x 60 train + 100 test records; each class has its own mean colour so there is something to learn.
    let id = 0;
    for (const file of [...layout.trainFiles, ...layout.testFiles]) {
      const count = file.startsWith('test') ? 100 : 60;
      const labels = Array.from({ length: count }, (_, i) => (id + i) % 10);
      const pixels = new Uint8Array(count * CIFAR_PIXELS);
      for (let r = 0; r < count; r++) for (let p = 0; p < CIFAR_PIXELS; p++) pixels[r * CIFAR_PIXELS + p] = (labels[r]! * 25 + ((p * 7 + r * 13) % 40)) & 0xff;
      writeFileSync(join(dir, file), encodeCifarRecords('cifar10', labels, pixels));
      id += count;
    }
    const out = join(scratch, 'cifar');
    await runTwiceAndCheck(out, ['--rounds', '1', '--dataset', 'cifar10', '--data-dir', scratch]);
    const json = JSON.parse(readFileSync(join(out, 'runs', 'n2-p100-label-skew', 'pfedlora', 'seed-1', 'result.json'), 'utf8')) as { config: { dataset: string }; dataSource: string };
    expect(json.config.dataset).toBe('cifar10');
    expect(json.dataSource).toContain(dir);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('# pfedlora reproduce: cifar10');
  }, 200_000);

  // Debian's chromium: skipped where it is not installed (a line names it), a failure under .ci/run.
  withChromium('(d) report.html in a real browser: loads offline, table rows, plots drawn', async () => {
    const html = join(fashionOut, 'report.html');
    if (!existsSync(html)) throw new Error(`${html} is missing: test (b) must pass first`);
    const executablePath = '/usr/bin/chromium';
    // Loaded here, not at the top, so (a)-(c) run even where playwright-core is not installed.
    const { chromium } = await import('playwright-core');
    const userDataDir = mkdtempSync(join(tmpdir(), 'pfedlora-chromium-'));
    let context: Awaited<ReturnType<typeof chromium.launchPersistentContext>>;
    try {
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath,
        headless: true,
        timeout: 60_000,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
    } catch (error) {
      throw new Error(`could not launch ${executablePath}: ${error instanceof Error ? error.message : String(error)}`);
    }
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const consoleErrors: string[] = [];
      const failed: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') consoleErrors.push(m.text());
      });
      page.on('pageerror', (e) => consoleErrors.push(String(e)));
      page.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText ?? ''}`));
      page.on('request', (r) => requests.push(r.url()));
      const url = pathToFileURL(html).href;
      const response = await page.goto(url, { waitUntil: 'load' });
      expect(response === null || response.ok()).toBe(true);
      await page.waitForTimeout(200);
      expect(consoleErrors).toEqual([]);
      expect(failed).toEqual([]);
      expect(requests.filter((r) => r !== url && !r.startsWith('data:'))).toEqual([]);

      // Page scripts are strings: this project compiles without the DOM typings, and the shape is typed by View.
      const view = await page.evaluate<View>(`(() => {
        const rows = [...document.querySelectorAll('table.results tbody tr')].map((tr) => tr.getAttribute('data-algorithm'));
        const summaryRows = document.querySelectorAll('#summary tbody tr').length;
        const plots = [...document.querySelectorAll('svg.plot')].map((svg) => {
          const box = svg.getBoundingClientRect();
          const lines = [...svg.querySelectorAll('polyline')].map((p) => {
            const b = p.getBBox();
            return { series: p.getAttribute('data-series'), width: b.width, height: b.height, points: p.points.numberOfItems };
          });
          return { metric: svg.getAttribute('data-metric'), width: box.width, height: box.height, lines };
        });
        return { rows, summaryRows, plots };
      })()`);
      expect(view.rows).toEqual(TWO_ALGORITHMS);
      expect(view.summaryRows).toBe(TWO_ALGORITHMS.length + 3);
      expect(view.plots.map((p) => p.metric)).toEqual(['round', 'bytes', 'flops']);
      for (const p of view.plots) {
        expect(p.width).toBeGreaterThan(100);
        expect(p.height).toBeGreaterThan(100);
        // Every algorithm has a line, except on the bytes axis one that sends nothing (standalone).
        const expected = p.metric === 'bytes' ? TWO_ALGORITHMS.filter((a) => a !== 'standalone').length : TWO_ALGORITHMS.length;
        expect(p.lines).toHaveLength(expected);
        for (const l of p.lines) {
          expect(l.points).toBe(2);
          expect(l.width + l.height).toBeGreaterThan(0);
        }
      }
      // The SVG files on disk parse as XML in the browser's own parser.
      const svgs = readdirSync(join(fashionOut, 'plots')).map((f) => readFileSync(join(fashionOut, 'plots', f), 'utf8'));
      const parseErrors = await page.evaluate<number[]>(
        `(${JSON.stringify(svgs)}).map((t) => new DOMParser().parseFromString(t, 'image/svg+xml').getElementsByTagName('parsererror').length)`,
      );
      expect(parseErrors).toEqual([0, 0, 0]);
    } finally {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
