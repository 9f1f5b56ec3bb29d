#!/usr/bin/env node
/**
 * A client embedded in a team's own Node program: its own network, written
 * with tfjs ops (customNetwork), and its own data, read by its own code and
 * handed over in memory. Everything else (joining, the adapter, training in
 * turn, uploads, reconnects, checkpoints) is pfedlora's runClient.
 *
 *   node examples/embedded-client/index.js --coordinator HOST:PORT [--client-id ID]
 *        [--csv FILE] [--label-column weather] [--ignore-columns date] [--state-dir DIR]
 *
 * The run's contract decides d and the classes; this program builds its
 * network for them in `create`. docs/models.md walks through it.
 */
'use strict';
const { readFileSync } = require('node:fs');
const path = require('node:path');
const root = path.join(__dirname, '..', '..', 'packages');
// In a project of your own: require('@pfedlora/client') and require('@pfedlora/ml').
const { runClient } = require(path.join(root, 'client', 'dist', 'index.js'));
const { tf, customNetwork } = require(path.join(root, 'ml', 'dist', 'index.js'));

function parseArgs(argv) {
  const opts = {
    coordinator: '127.0.0.1:7070',
    clientId: 'embedded-0',
    csv: path.join(__dirname, '..', '..', 'node_modules', 'vega-datasets', 'data', 'seattle-weather.csv'),
    labelColumn: 'weather',
    ignoreColumns: ['date'],
    stateDir: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i];
    if (a === '--coordinator') opts.coordinator = v();
    else if (a === '--client-id') opts.clientId = v();
    else if (a === '--csv') opts.csv = v();
    else if (a === '--label-column') opts.labelColumn = v();
    else if (a === '--ignore-columns') opts.ignoreColumns = v().split(',');
    else if (a === '--state-dir') opts.stateDir = v();
    else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

/** The team's own loader: a simple CSV (no quoting), standardized, every 5th row for testing. */
function readTable(file, labelColumn, ignoreColumns) {
  const [header, ...rows] = readFileSync(file, 'utf8').trim().split(/\r?\n/).map((l) => l.split(','));
  const label = header.indexOf(labelColumn);
  const features = header.map((_, j) => j).filter((j) => j !== label && !ignoreColumns.includes(header[j]));
  const classNames = [...new Set(rows.map((r) => r[label]))].sort();
  const x = rows.map((r) => features.map((j) => Number(r[j])));
  const mean = features.map((_, f) => x.reduce((s, r) => s + r[f], 0) / x.length);
  const std = features.map((_, f) => Math.sqrt(x.reduce((s, r) => s + (r[f] - mean[f]) ** 2, 0) / x.length) || 1);
  const split = (keep) => {
    const idx = rows.map((_, i) => i).filter(keep);
    return {
      name: path.basename(file),
      features: Float32Array.from(idx.flatMap((i) => x[i].map((v, f) => (v - mean[f]) / std[f]))),
      labels: Int32Array.from(idx.map((i) => classNames.indexOf(rows[i][label]))),
      count: idx.length,
      sampleShape: [features.length],
      numClasses: classNames.length,
      classNames,
    };
  };
  return { train: split((i) => i % 5 !== 0), test: split((i) => i % 5 === 0), inputs: features.length };
}

/** The team's network: two tanh layers to h, and a linear head, for the run's d and C. */
function teamNetwork(inputs, { representationDim: d, numClasses: C }, seed) {
  const init = (shape, s) => tf.variable(tf.randomUniform(shape, -1 / Math.sqrt(shape[0]), 1 / Math.sqrt(shape[0]), 'float32', seed + s));
  const p = { w1: init([inputs, 32], 1), b1: tf.variable(tf.zeros([32])), w2: init([32, d], 2), b2: tf.variable(tf.zeros([d])), wh: init([d, C], 3), bh: tf.variable(tf.zeros([C])) };
  return customNetwork({
    name: 'team-tanh-mlp',
    inputShape: [inputs],
    parameters: p,
    representation: (x) => tf.tanh(tf.add(tf.matMul(tf.tanh(tf.add(tf.matMul(x, p.w1), p.b1)), p.w2), p.b2)),
    head: (h) => tf.add(tf.matMul(h, p.wh), p.bh),
    // Analytic FLOPs per sample for the coordinator's cost ledger (2 per multiply-add; backward ~2x forward).
    flops: { extractorForward: 2 * (inputs * 32 + 32 * d), headForward: 2 * d * C, trainStep: 3 * 2 * (inputs * 32 + 32 * d + d * C) },
  });
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const { train, test, inputs } = readTable(opts.csv, opts.labelColumn, opts.ignoreColumns);
  const result = await runClient({
    coordinator: opts.coordinator,
    clientId: opts.clientId,
    insecure: true, // loopback only; give `tls: { certFile, keyFile, caFile }` across machines
    backend: 'wasm',
    model: { kind: 'program', name: 'team-tanh-mlp', create: (federation, seed) => teamNetwork(inputs, federation, seed) },
    data: { format: 'program', name: `${path.basename(opts.csv)} (team loader)`, train, test },
    ...(opts.stateDir ? { stateDir: opts.stateDir } : {}),
  });
  process.stderr.write(`embedded client ${opts.clientId}: ${result.reason} after ${result.roundsTrained} rounds\n`);
}

main().catch((error) => {
  process.stderr.write(`embedded client: ${error.message}\n`);
  process.exit(error.name === 'ClientRefusedError' ? 4 : 1);
});
