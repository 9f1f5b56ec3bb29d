#!/usr/bin/env node
/**
 * Writes the fixtures of the Python client's unit tests (clients/python/tests/fixtures/)
 * from the TypeScript implementation, so the Python side is tested against bytes and
 * numbers the TypeScript side produced:
 *   codec-*.pflt + codec.json   PFLT payloads encodeTensors wrote, with their tensors and sha256
 *   rng.json                    mulberry32 draws, deriveSeed values, an initialAdapter, Gamma and
 *                               Dirichlet draws
 *   partition.json              the label-skew and Dirichlet shards of the committed Fashion-MNIST subset
 *                               (sha256 of each shard's train / test index lists, after capSamples)
 * Needs the build (npm run build). Usage: node scripts/make-python-client-fixtures.js [OUT_DIR]
 */
const { createHash } = require('node:crypto');
const { mkdirSync, writeFileSync } = require('node:fs');
const { join, resolve } = require('node:path');
const core = require('../packages/core');
const ml = require('../packages/ml');

async function main() {
  const out = resolve(process.argv[2] ?? join(__dirname, '..', 'clients', 'python', 'tests', 'fixtures'));
  mkdirSync(out, { recursive: true });

  // ---- codec ----
  const f32 = (values) => Float32Array.from(values);
  const cases = {
    adapter: [
      { name: 'adapter/down', shape: [3, 2], values: f32([0.5, -1.25, 3e-8, 1e30, -0, 7]) },
      { name: 'adapter/up', shape: [2, 4], values: f32([1, 2, 3, 4, 5, 6, 7, 8.5]) },
    ],
    scalar: [{ name: 's', shape: [], values: f32([Math.PI]) }],
    empty: [],
    'zero-dim': [{ name: 'none', shape: [4, 0, 2], values: new Float32Array(0) }],
    unicode: [{ name: 'poids/é/层', shape: [1, 1, 1, 1, 1, 1, 1, 2], values: f32([-3.5, 2 ** -140]) }],
  };
  const manifest = {};
  for (const [key, tensors] of Object.entries(cases)) {
    const bytes = core.encodeTensors(tensors);
    writeFileSync(join(out, `codec-${key}.pflt`), bytes);
    manifest[key] = {
      file: `codec-${key}.pflt`,
      sha256: core.sha256Hex(bytes),
      bytes: bytes.length,
      encodedSizeOfSpec: core.encodedSizeOfSpec(tensors),
      tensors: tensors.map((t) => ({ name: t.name, shape: t.shape, values: Array.from(t.values, (v) => (Object.is(v, -0) ? '-0' : v)) })),
    };
  }
  writeFileSync(join(out, 'codec.json'), JSON.stringify(manifest, null, 1) + '\n');

  // ---- rng ----
  const draws = (seed) => {
    const r = core.createRng(seed);
    return Array.from({ length: 8 }, () => r.next());
  };
  const seeds = [
    [5, ['global']],
    [5, ['client', 'client-2']],
    [4294967295, ['client', 'py-0', 'é']],
    [1, ['partition']],
    [123456789, ['batches', 3]],
    [0, []],
  ];
  const adapter = ml.initialAdapter({ rank: 3, alpha: 3, numClasses: 4, representationDim: 5 }, 2024);
  writeFileSync(
    join(out, 'rng.json'),
    JSON.stringify(
      {
        mulberry32: [0, 1, 12345, 4294967295].map((seed) => ({ seed, draws: draws(seed) })),
        deriveSeed: seeds.map(([seed, parts]) => ({ seed, parts, value: core.deriveSeed(seed, ...parts) })),
        initialAdapter: { seed: 2024, d: 5, r: 3, c: 4, down: Array.from(adapter[0].values) },
        gamma: [0.1, 0.5, 1, 2.5].map((shape) => {
          const r = core.createRng(core.deriveSeed(9, 'gamma', String(shape)));
          return { seed: core.deriveSeed(9, 'gamma', String(shape)), shape, draws: Array.from({ length: 6 }, () => core.gamma(r, shape)) };
        }),
        dirichlet: [0.1, 0.5, 2].map((alpha) => {
          const r = core.createRng(core.deriveSeed(9, 'dirichlet', String(alpha)));
          return { seed: core.deriveSeed(9, 'dirichlet', String(alpha)), alpha, k: 5, draws: Array.from({ length: 4 }, () => Array.from(core.dirichlet(r, alpha, 5))) };
        }),
      },
      null,
      1,
    ) + '\n',
  );

  // ---- partition of the committed subset ----
  const data = await ml.loadDataset('fashion-mnist', { dataDir: 'subset' });
  const digest = (idx) => createHash('sha256').update(Array.from(idx).join(',')).digest('hex');
  const shards = [];
  for (const [partition, clients, classesPerClient, dirichletAlpha, partitionSeed, maxSamples] of [
    ['label-skew', 3, 2, 0.5, 1, 160],
    ['label-skew', 3, 2, 0.5, 1, 0],
    ['label-skew', 5, 3, 0.5, 7, 0],
    ['dirichlet', 3, 2, 0.5, 1, 160],
    ['dirichlet', 5, 2, 0.1, 7, 0],
    ['dirichlet', 4, 2, 2, 3, 0],
  ]) {
    const parts = ml.partitionClients(data, { ...ml.DEFAULT_SIMULATION, partition, classesPerClient, dirichletAlpha, clients, seed: partitionSeed });
    parts.forEach((p) => {
      const train = ml.capSamples(p.train, maxSamples);
      shards.push({
        partition,
        clients,
        classesPerClient,
        dirichletAlpha,
        partitionSeed,
        maxSamples,
        index: p.client,
        classes: p.classes,
        train: { count: train.length, sha256: digest(train) },
        test: { count: p.test.length, sha256: digest(p.test) },
      });
    });
  }
  writeFileSync(join(out, 'partition.json'), JSON.stringify({ data: 'packages/ml/data/fashion-mnist-subset', indexDigest: "sha256 of the ascending indices joined with ','", shards }, null, 1) + '\n');
  process.stdout.write(`wrote ${Object.keys(cases).length} codec payloads, rng.json and partition.json to ${out}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
