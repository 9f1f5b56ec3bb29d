#!/usr/bin/env node
/**
 * Where a training step's time goes, per kernel (tf.profile), on the wasm
 * backend: one client training step (PrivateModel.trainEpoch on one batch of
 * synthetic data, as `pfedlora bench train` times it) of a zoo model, repeated
 * after one untimed step; each kernel's total per step is the minimum over the
 * runs. --ml picks the build (another checkout's packages/ml/dist, to compare
 * builds in alternating processes).
 *
 *   node scripts/profile-train-step.js --model tfm3 --tokens 128 --batch 64 --runs 6
 *   node scripts/profile-train-step.js --model cnn1 --input 28x28x1 --ml /tmp/main/packages/ml/dist
 *
 * Build first (npm run build). Prints a Markdown table (--by-shape: one row per
 * kernel and input shapes); --json prints one object. Nested kernels (an op such
 * as fusedMatMul__op around _FusedMatMul) are counted in both rows.
 */
const { parseArgs } = require('node:util');
const { resolve } = require('node:path');
const { createRng } = require('@pfedlora/core');

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: 'tfm3' },
    tokens: { type: 'string', default: '128' },
    input: { type: 'string', default: '28x28x1' },
    batch: { type: 'string', default: '64' },
    runs: { type: 'string', default: '6' },
    ml: { type: 'string', default: 'packages/ml/dist' },
    'by-shape': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});

async function main() {
  const ml = require(resolve(a.ml, 'index.js'));
  const batch = Number(a.batch);
  const text = ml.isTransformer(a.model);
  const input = text ? [Number(a.tokens)] : ml.parseInputShape(a.input);
  await ml.initEngine('wasm');
  const model = new ml.PrivateModel(ml.zooNetwork(ml.modelSpec(a.model, input, 10, 500), 1), ml.PAPER_SGD);
  const sampleSize = input.reduce((x, y) => x * y, 1);
  // Text: byte token ids 1..256 without padding (as bench train); images: values in [0, 1).
  const features = Float32Array.from({ length: batch * sampleSize }, (_, i) => (text ? 1 + (((i * 2654435761) >>> 0) % 256) : ((i * 7919) % 1000) / 1000));
  const data = { features, labels: Int32Array.from({ length: batch }, (_, i) => i % 10), count: batch, sampleSize };
  const kernels = new Map();
  const steps = [];
  const runs = Number(a.runs);
  for (let run = -1; run < runs; run++) {
    const start = process.hrtime.bigint();
    const info = await ml.tf.profile(() => model.trainEpoch(data, batch, createRng(run + 2)));
    if (run < 0) continue; // warm-up
    steps.push(Number(process.hrtime.bigint() - start) / 1e6);
    const sums = new Map();
    for (const k of info.kernels) {
      const key = a['by-shape'] ? `${k.name} ${k.inputShapes.map((shape) => `[${shape}]`).join(' ')}` : k.name;
      const s = sums.get(key) ?? { ms: 0, calls: 0 };
      s.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      s.calls++;
      sums.set(key, s);
    }
    for (const [name, s] of sums) {
      const prev = kernels.get(name);
      kernels.set(name, prev === undefined ? s : { ms: Math.min(prev.ms, s.ms), calls: s.calls });
    }
  }
  const list = [...kernels].map(([name, s]) => ({ name, ms: s.ms, calls: s.calls })).sort((x, y) => y.ms - x.ms);
  const stepMs = Math.min(...steps);
  if (a.json) {
    process.stdout.write(JSON.stringify({ model: a.model, input, batch, runs, ml: a.ml, stepMs, kernels: list }) + '\n');
    return;
  }
  console.log(`${a.model} input ${input.join('x')} batch ${batch}, wasm, ${a.ml}: step ${stepMs.toFixed(1)} ms (minimum of ${runs}, profiled)\n`);
  console.log('| kernel | ms per step (min) | calls |\n|---|---|---|');
  for (const k of list) console.log(`| ${k.name} | ${k.ms.toFixed(2)} | ${k.calls} |`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
