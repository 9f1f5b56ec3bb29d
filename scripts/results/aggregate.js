#!/usr/bin/env node
/**
 * Aggregates `pfedlora simulate --out DIR` results (DIR/result.json) into the Markdown
 * tables of docs/results.md.
 *
 *   node scripts/results/aggregate.js runs/compare [more dirs...]
 *
 * Every result.json found under the given folders (recursively) is read. Runs are grouped
 * by every config field that differs between them except the seed (for the main grid:
 * the algorithm; for the rank sweep: rank and adapterAlpha); each group reports mean ±
 * sample standard deviation over its seeds. When groups differ only in the algorithm and
 * share seeds, the pFedLoRA - standalone gap is printed per seed.
 * `--rounds N` keeps the first N rounds of each run (equal to a run with --rounds N).
 * `--by-dir` makes one row per run folder instead (runs with equal configs but different
 * code or environment, such as the diagnostic ablations of investigate.sh).
 * No dependencies: plain Node.js >= 18.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const IGNORED = new Set(['seed', 'workers', 'backend', 'dataDir', 'representationLayer']);
// Fields added after results were stored, and the value older results implied (as report/result-file.ts).
const IMPLIED = { representationDim: 500 };
const PFEDLORA_ONLY = new Set(['rank', 'adapterAlpha', 'adapterEpochs', 'adapterShare']);

function findResults(dir, out = []) {
  if (!fs.existsSync(dir)) throw new Error(`no such folder: ${dir}`);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) findResults(p, out);
    else if (entry.name === 'result.json') out.push(p);
  }
  return out;
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const pct = (x) => (100 * x).toFixed(2);
const pm = (xs, f = pct) => (xs.length > 1 ? `${f(mean(xs))} ± ${f(std(xs))}` : f(mean(xs)));
const signed = (x) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(2)}`;
const int = (x) => Math.round(x).toLocaleString('en-US');
const tflops = (x) => `${(x / 1e12).toFixed(2)} T`;

/**
 * Keeps the first n rounds of a run: a simulation's round t does not depend on how many
 * rounds follow it (no schedule), so this is the result of the same run with --rounds n.
 */
function truncate(r, n) {
  r.rounds = r.rounds.slice(0, n);
  const last = r.rounds[n - 1];
  r.final = { meanAccuracy: last.meanAccuracy, round: last.round };
  const sum = (k) => r.rounds.reduce((a, x) => a + x[k], 0);
  r.totals = { bytesUp: sum('bytesUp'), bytesDown: sum('bytesDown'), trainFlops: sum('trainFlops'), seconds: sum('seconds') };
  r.config = { ...r.config, rounds: n };
  // per-client accuracies are those of the last round run, not of round n
  r.clients = r.clients.map((c) => ({ ...c, accuracy: NaN }));
}

/** First round (1-based) whose mean accuracy reaches `target`, or Infinity. */
const firstRound = (acc, target) => {
  const i = acc.findIndex((a) => a >= target);
  return i < 0 ? Infinity : i + 1;
};
const rounds = (xs) => (xs.every(Number.isFinite) ? pm(xs, (x) => x.toFixed(1)) : `${xs.map((x) => (Number.isFinite(x) ? x : 'never')).join(', ')}`);

function loadRuns(dirs, firstRounds) {
  const files = dirs.flatMap((d) => findResults(d));
  if (!files.length) throw new Error(`no result.json under ${dirs.join(', ')}`);
  return files.map((file) => {
    const r = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (firstRounds > 0 && r.rounds.length > firstRounds) truncate(r, firstRounds);
    const acc = r.rounds.map((x) => x.meanAccuracy);
    const tail = acc.slice(-Math.min(5, acc.length));
    const participantRounds = r.rounds.reduce((n, x) => n + x.participants.length, 0);
    return {
      file,
      r,
      seed: r.config.seed,
      final: r.final.meanAccuracy,
      best: Math.max(...acc),
      bestRound: acc.indexOf(Math.max(...acc)) + 1,
      last5: mean(tail),
      allRounds: mean(acc),
      to90: firstRound(acc, 0.9),
      to95: firstRound(acc, 0.95),
      acc,
      upPerClientRound: r.totals.bytesUp / participantRounds,
      flops: r.totals.trainFlops,
      secondsPerRound: r.totals.seconds / r.rounds.length,
    };
  });
}

function groupRuns(runs, byDir) {
  if (byDir) {
    // One group per run folder name (runs whose configs are equal but whose code or
    // environment differed, e.g. the diagnostic build's PFX_NO_SHARE ablation).
    const groups = new Map(runs.map((run) => [path.basename(path.dirname(run.file)), [run]]));
    return { varying: ['folder'], groups };
  }
  // A field only pFedLoRA reads says nothing about another algorithm's run (and older
  // results lack newer fields): such values do not split groups.
  const value = (run, k) => (PFEDLORA_ONLY.has(k) && run.r.config.algorithm !== 'pfedlora' ? undefined : k in run.r.config ? run.r.config[k] : IMPLIED[k]);
  const keys = [...new Set(runs.flatMap((x) => Object.keys(x.r.config)))].filter((k) => !IGNORED.has(k));
  const varying = keys.filter((k) => new Set(runs.map((x) => value(x, k)).filter((v) => v !== undefined).map((v) => JSON.stringify(v))).size > 1);
  const groups = new Map();
  for (const run of runs) {
    const label =
      varying
        .filter((k) => value(run, k) !== undefined)
        .map((k) => (k === 'algorithm' ? run.r.config[k] : `${k}=${JSON.stringify(value(run, k))}`))
        .join(', ') || run.r.config.algorithm;
    if (!groups.has(label)) groups.set(label, []);
    groups.get(label).push(run);
  }
  for (const g of groups.values()) g.sort((a, b) => a.seed - b.seed);
  // Groups in order of their varying config values (numbers numerically: rank 2 before 16).
  const cmp = (x, y) => {
    for (const k of varying) {
      const [u, v] = [x[0].r.config[k], y[0].r.config[k]];
      if (u === v) continue;
      return typeof u === 'number' && typeof v === 'number' ? u - v : String(u).localeCompare(String(v));
    }
    return 0;
  };
  return { varying, groups: new Map([...groups].sort((x, y) => cmp(x[1], y[1]))) };
}

function summaryTable({ groups }) {
  const lines = [
    '| runs | seeds | final acc. % | best acc. % (round) | mean of last 5 rounds % | mean over all rounds % | rounds to 90% | rounds to 95% | bytes up per client per round | total train FLOPs | s/round |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [label, g] of groups) {
    const bestRounds = g.map((x) => x.bestRound).join(', ');
    lines.push(
      `| ${label} | ${g.map((x) => x.seed).join(', ')} | ${pm(g.map((x) => x.final))} | ${pm(g.map((x) => x.best))} (${bestRounds}) | ${pm(g.map((x) => x.last5))} | ${pm(g.map((x) => x.allRounds))} | ${rounds(g.map((x) => x.to90))} | ${rounds(g.map((x) => x.to95))} | ${int(mean(g.map((x) => x.upPerClientRound)))} | ${tflops(mean(g.map((x) => x.flops)))} | ${mean(g.map((x) => x.secondsPerRound)).toFixed(1)} |`,
    );
  }
  return lines.join('\n');
}

function curveTable({ groups }) {
  const rounds = Math.max(...[...groups.values()].flatMap((g) => g.map((x) => x.acc.length)));
  const marks = [...new Set([1, 2, 3, 5, 10, 15, 20, 30, 40, 50, rounds].filter((t) => t <= rounds))].sort((a, b) => a - b);
  const lines = [`| runs | ${marks.map((t) => `round ${t}`).join(' | ')} |`, `|---|${marks.map(() => '---').join('|')}|`];
  for (const [label, g] of groups) {
    const cells = marks.map((t) => {
      const xs = g.filter((x) => x.acc.length >= t).map((x) => x.acc[t - 1]);
      return xs.length ? pm(xs) : '';
    });
    lines.push(`| ${label} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Per-seed gap when two groups differ only by the algorithm. */
function gapTable({ varying, groups }) {
  if (!(varying.length === 1 && varying[0] === 'algorithm')) return '';
  const a = groups.get('pfedlora');
  const b = groups.get('standalone');
  if (!a || !b) return '';
  const seeds = a.map((x) => x.seed).filter((s) => b.some((y) => y.seed === s));
  if (!seeds.length) return '';
  const lines = [
    '| seed | pFedLoRA final % | standalone final % | gap (pp) | pFedLoRA best % | standalone best % | gap (pp) | pFedLoRA last-5 % | standalone last-5 % | gap (pp) | gap, mean over all rounds (pp) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const gaps = { final: [], best: [], last5: [], allRounds: [] };
  for (const s of seeds) {
    const x = a.find((r) => r.seed === s);
    const y = b.find((r) => r.seed === s);
    for (const k of Object.keys(gaps)) gaps[k].push(x[k] - y[k]);
    lines.push(
      `| ${s} | ${pct(x.final)} | ${pct(y.final)} | ${signed(x.final - y.final)} | ${pct(x.best)} | ${pct(y.best)} | ${signed(x.best - y.best)} | ${pct(x.last5)} | ${pct(y.last5)} | ${signed(x.last5 - y.last5)} | ${signed(x.allRounds - y.allRounds)} |`,
    );
  }
  const g = (xs) => `${signed(mean(xs))}${xs.length > 1 ? ` ± ${(100 * std(xs)).toFixed(2)}` : ''}`;
  lines.push(`| mean | | | ${g(gaps.final)} | | | ${g(gaps.best)} | | | ${g(gaps.last5)} | ${g(gaps.allRounds)} |`);
  return lines.join('\n');
}

/** Per-client accuracy (last round), mean over seeds, by client: shows who gains or loses. */
function clientTable({ groups }) {
  const labels = [...groups.keys()];
  const first = [...groups.values()][0][0].r;
  const lines = [`| client | model | ${labels.map((l) => `${l} %`).join(' | ')} |`, `|---|---|${labels.map(() => '---').join('|')}|`];
  for (let k = 0; k < first.clients.length; k++) {
    const cells = labels.map((l) => pm(groups.get(l).map((x) => x.r.clients[k].accuracy)));
    lines.push(`| ${k} | ${first.clients[k].model} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

function sizeTable(runs) {
  const r = runs.find((x) => x.r.config.algorithm === 'pfedlora')?.r ?? runs[0].r;
  const models = new Map();
  for (const c of r.clients) models.set(c.model, c.privateModelBytes);
  const adapter = runs.filter((x) => x.r.config.algorithm === 'pfedlora').map((x) => `${int(x.r.adapterBytes)} (rank ${x.r.config.rank})`);
  const lines = ['| what | bytes |', '|---|---|'];
  for (const a of [...new Set(adapter)]) lines.push(`| adapter payload sent up (and down) per client per round | ${a} |`);
  for (const [m, b] of [...models].sort()) lines.push(`| private ${m.toUpperCase()} parameters (float32, never sent) | ${int(b)} (${(b / 2 ** 20).toFixed(1)} MiB) |`);
  return lines.join('\n');
}

function main() {
  const args = process.argv.slice(2);
  const byDir = args.includes('--by-dir');
  const at = args.indexOf('--rounds');
  const firstRounds = at >= 0 ? Number(args[at + 1]) : 0;
  const dirs = args.filter((a, i) => a !== '--by-dir' && !(at >= 0 && (i === at || i === at + 1)));
  if (!dirs.length || dirs.includes('--help')) {
    console.error('usage: node scripts/results/aggregate.js [--by-dir] DIR [DIR...]   (folders holding */result.json)');
    console.error('  --by-dir: one row per run folder instead of grouping runs by config over seeds');
    console.error('  --rounds N: use only the first N rounds of each run (what --rounds N would have given)');
    process.exit(dirs.length ? 0 : 2);
  }
  const runs = loadRuns(dirs, firstRounds);
  const grouped = groupRuns(runs, byDir);
  const c = runs[0].r.config;
  // "committed subset /any/checkout/packages/ml/data/..." -> relative to the checkout
  const source = runs[0].r.dataSource.replace(/\/\S*\/(packages\/ml\/data\/)/, '$1');
  const out = [
    `Setting: ${c.dataset} (${source}), ${c.clients} clients, ${c.partition}` +
      `${c.partition === 'label-skew' ? ` ${c.classesPerClient} classes each` : ` alpha ${c.dirichletAlpha}`}, ${c.rounds} rounds, ` +
      `E=${c.localEpochs}, batch ${c.batchSize}, lr ${c.learningRate}, engine ${runs[0].r.engine.backend}; ${runs.length} runs. ` +
      'Accuracy: mean personalized test accuracy over the clients; ± is the sample standard deviation over seeds.',
    '',
    summaryTable(grouped),
    '',
    'Mean accuracy (%) per round:',
    '',
    curveTable(grouped),
  ];
  const gaps = gapTable(grouped);
  if (gaps) out.push('', 'Per seed (pp = percentage points, pFedLoRA minus standalone):', '', gaps);
  if (!firstRounds) out.push('', 'Final accuracy per client (mean over seeds):', '', clientTable(grouped));
  out.push('', 'Payload and model sizes:', '', sizeTable(runs));
  console.log(out.join('\n'));
}

try {
  main();
} catch (err) {
  console.error(`aggregate: ${err.message}`);
  process.exit(1);
}
