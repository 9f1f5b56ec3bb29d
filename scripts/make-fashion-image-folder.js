#!/usr/bin/env node
/**
 * Writes an image folder (the layout of Keras' image_dataset_from_directory and
 * torchvision's ImageFolder) as PNG files from the Fashion-MNIST subset shipped
 * in packages/ml/data: OUT/train/<class>/*.png and OUT/test/<class>/*.png, one
 * folder per class named like the run's classes (t-shirt, trouser, ...). It is
 * a team's "own images" for the examples and the end-to-end tests. Seeded
 * choice of samples, so the same arguments write the same files.
 *
 *   node scripts/make-fashion-image-folder.js OUT [--train-per-class N] [--test-per-class N]
 *        [--classes t-shirt,trouser,...] [--offset K] [--size 28]
 *
 * Needs the build (npm run build): it reads the subset with @pfedlora/ml and
 * encodes with sharp, the library pfedlora decodes image folders with.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function usage(message) {
  process.stderr.write(`${message}\nusage: node scripts/make-fashion-image-folder.js OUT [--train-per-class N] [--test-per-class N] [--classes a,b] [--offset K] [--size PX]\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { out: undefined, trainPerClass: 60, testPerClass: 20, classes: undefined, offset: 0, size: 28 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    const int = (v, name) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) usage(`${name} expects an integer >= 0, got "${v}"`);
      return n;
    };
    if (a === '--train-per-class') opts.trainPerClass = int(next(), a);
    else if (a === '--test-per-class') opts.testPerClass = int(next(), a);
    else if (a === '--offset') opts.offset = int(next(), a);
    else if (a === '--size') opts.size = int(next(), a);
    else if (a === '--classes') opts.classes = next().split(',').map((c) => c.trim()).filter(Boolean);
    else if (a === '--help' || a === '-h') usage('');
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else if (opts.out === undefined) opts.out = a;
    else usage(`unexpected argument ${a}`);
  }
  if (!opts.out) usage('OUT is required');
  return opts;
}

async function writeSplit(sharp, ds, dir, perClass, offset, classes, size) {
  const pixels = ds.sampleShape[0] * ds.sampleShape[1];
  const seen = new Map();
  let written = 0;
  for (let i = 0; i < ds.count; i++) {
    const name = ds.classNames[ds.labels[i]];
    if (!classes.includes(name)) continue;
    const k = seen.get(name) ?? 0;
    seen.set(name, k + 1);
    // Skip the first `offset` of each class, so two folders made with different offsets share no image.
    if (k < offset || k >= offset + perClass) continue;
    const gray = Buffer.alloc(pixels);
    for (let p = 0; p < pixels; p++) gray[p] = Math.round(ds.features[i * pixels + p] * 255);
    const folder = path.join(dir, name);
    fs.mkdirSync(folder, { recursive: true });
    let image = sharp(gray, { raw: { width: ds.sampleShape[1], height: ds.sampleShape[0], channels: 1 } });
    if (size !== ds.sampleShape[0]) image = image.resize(size, size, { fit: 'fill' });
    await image.png().toFile(path.join(folder, `${String(i).padStart(5, '0')}.png`));
    written++;
  }
  return written;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  let ml;
  try {
    ml = require(path.join(__dirname, '..', 'packages', 'ml', 'dist', 'index.js'));
  } catch (error) {
    usage(`cannot load the build (${error.message}); run 'npm run build' first`);
  }
  const sharp = require('sharp');
  const data = await ml.loadDataset('fashion-mnist', { preferSubset: true });
  const classes = opts.classes ?? data.train.classNames;
  const unknown = classes.filter((c) => !data.train.classNames.includes(c));
  if (unknown.length) usage(`unknown classes ${unknown.join(', ')}; Fashion-MNIST's are ${data.train.classNames.join(', ')}`);
  const train = await writeSplit(sharp, data.train, path.join(opts.out, 'train'), opts.trainPerClass, opts.offset, classes, opts.size);
  const test = await writeSplit(sharp, data.test, path.join(opts.out, 'test'), opts.testPerClass, opts.offset, classes, opts.size);
  process.stdout.write(`wrote ${train} train and ${test} test PNG images of ${classes.length} classes to ${opts.out}\n`);
}

main().catch((error) => {
  process.stderr.write(`make-fashion-image-folder: ${error.stack ?? error}\n`);
  process.exit(1);
});
