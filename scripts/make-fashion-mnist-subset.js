#!/usr/bin/env node
/**
 * Makes the small Fashion-MNIST subset committed at packages/ml/data/fashion-mnist-subset/
 * so that a machine without the full set (Debian package dataset-fashion-mnist) still
 * runs the default job. Stratified (the same count per class) and seeded, so rerunning it
 * reproduces the same bytes.
 *
 *   node scripts/make-fashion-mnist-subset.js [SRC_DIR] [--train-per-class N]
 *        [--test-per-class N] [--seed S] [--out DIR]
 *
 * Plain Node on purpose (no build step): it reads and writes IDX itself.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

const FILES = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
};

function parseArgs(argv) {
  const opts = {
    src: '/usr/share/datasets/fashion-mnist',
    out: path.join(__dirname, '..', 'packages', 'ml', 'data', 'fashion-mnist-subset'),
    trainPerClass: 1000,
    testPerClass: 200,
    seed: 20231020,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--train-per-class') opts.trainPerClass = Number(val());
    else if (a === '--test-per-class') opts.testPerClass = Number(val());
    else if (a === '--seed') opts.seed = Number(val());
    else if (a === '--out') opts.out = val();
    else if (a === '-h' || a === '--help') {
      console.log(fs.readFileSync(__filename, 'utf8').split('*/')[0]);
      process.exit(0);
    } else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else opts.src = a;
  }
  return opts;
}

/** mulberry32, identical to createRng in packages/core/src/random.ts. */
function createRng(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function readIdx(file, magic) {
  let buf = fs.readFileSync(file);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = zlib.gunzipSync(buf);
  if (buf.readUInt32BE(0) !== magic) throw new Error(`${file}: bad IDX magic 0x${buf.readUInt32BE(0).toString(16)}`);
  const ndims = buf[3];
  const dims = [];
  for (let i = 0; i < ndims; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  const body = buf.subarray(4 + 4 * ndims);
  if (body.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`${file}: length does not match dims ${dims}`);
  return { dims, data: body };
}

function writeIdxGz(file, dims, data) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  // No mtime/name in the gzip header from zlib, so output is byte-for-byte reproducible.
  fs.writeFileSync(file, zlib.gzipSync(Buffer.concat([header, data]), { level: 9 }));
  return fs.statSync(file).size;
}

/** Picks `perClass` indices of every class with a seeded shuffle; returns them ascending. */
function stratified(labels, perClass, rng, what) {
  const byClass = new Map();
  labels.forEach((l, i) => {
    if (!byClass.has(l)) byClass.set(l, []);
    byClass.get(l).push(i);
  });
  const chosen = [];
  for (const cls of [...byClass.keys()].sort((a, b) => a - b)) {
    const idx = byClass.get(cls);
    if (idx.length < perClass) throw new Error(`${what}: class ${cls} has only ${idx.length} samples, need ${perClass}`);
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    chosen.push(...idx.slice(0, perClass));
  }
  // Ascending keeps the source's (already mixed) class order instead of blocks of one class.
  return chosen.sort((a, b) => a - b);
}

function subsetSplit(src, out, imagesName, labelsName, perClass, rng) {
  const images = readIdx(path.join(src, imagesName), 0x803);
  const labels = readIdx(path.join(src, labelsName), 0x801);
  const [, h, w] = images.dims;
  const idx = stratified(labels.data, perClass, rng, labelsName);
  const size = h * w;
  const img = Buffer.alloc(idx.length * size);
  const lab = Buffer.alloc(idx.length);
  idx.forEach((from, to) => {
    images.data.copy(img, to * size, from * size, (from + 1) * size);
    lab[to] = labels.data[from];
  });
  const bytes =
    writeIdxGz(path.join(out, imagesName), [idx.length, h, w], img) +
    writeIdxGz(path.join(out, labelsName), [idx.length], lab);
  return { count: idx.length, classes: new Set(labels.data).size, bytes };
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  for (const f of Object.values(FILES)) {
    if (!fs.existsSync(path.join(o.src, f))) throw new Error(`${path.join(o.src, f)} not found (install dataset-fashion-mnist or pass its folder)`);
  }
  fs.mkdirSync(o.out, { recursive: true });
  // Separate seeded streams for train and test, so changing one count leaves the other split unchanged.
  const train = subsetSplit(o.src, o.out, FILES.trainImages, FILES.trainLabels, o.trainPerClass, createRng(o.seed));
  const test = subsetSplit(o.src, o.out, FILES.testImages, FILES.testLabels, o.testPerClass, createRng(o.seed + 1));
  const files = Object.values(FILES).map((f) => ({ f, size: fs.statSync(path.join(o.out, f)).size }));
  const total = train.bytes + test.bytes;
  fs.writeFileSync(path.join(o.out, 'README.md'), readme(o, train, test, files, total));
  console.log(`wrote ${o.out}: train ${train.count}, test ${test.count}, ${total} bytes gzipped`);
  for (const { f, size } of files) console.log(`  ${f}  ${size}`);
}

function readme(o, train, test, files, total) {
  return `# Fashion-MNIST subset

A small, stratified, seeded subset of [Fashion-MNIST](https://github.com/zalandoresearch/fashion-mnist)
shipped with \`@pfedlora/ml\` so that a machine without the full set still runs the default job
(\`loadDataset('fashion-mnist')\` falls back to it when neither \`--data-dir\` nor the Debian package
\`dataset-fashion-mnist\` at /usr/share/datasets/fashion-mnist is available; \`--data-dir subset\` forces it).
Accuracy numbers on it are not comparable with the paper's: use the full set for that.

Same format and file names as the original: gzipped IDX (ubyte images 28x28, ubyte labels 0..9).

| split | per class | samples | classes |
|---|---|---|---|
| train | ${o.trainPerClass} | ${train.count} | ${train.classes} |
| test | ${o.testPerClass} | ${test.count} | ${test.classes} |

| file | bytes |
|---|---|
${files.map(({ f, size }) => `| ${f} | ${size} |`).join('\n')}
| total | ${total} (${(total / 1048576).toFixed(2)} MiB) |

## How it was made

\`\`\`
node scripts/make-fashion-mnist-subset.js ${o.src} --train-per-class ${o.trainPerClass} --test-per-class ${o.testPerClass} --seed ${o.seed}
\`\`\`

from the full set (60000 train / 10000 test) of the Debian package \`dataset-fashion-mnist\`.
For each class the script shuffles that class's indices with a seeded mulberry32 stream
(seed ${o.seed} for train, ${o.seed + 1} for test), keeps the first N, then writes the chosen
samples in their original order. gzip level 9; rerunning it reproduces the files byte for byte (with the same zlib).
The size keeps the repository light (about 5 MB): measured on the full set, 1500 + 300 per class
(18000 samples) came to 7.9 MB gzipped and 1200 + 200 to 6.1 MB (images compress to ~440 bytes
each), so 1000 + 200 per class it is.

## License

Fashion-MNIST is released by Zalando SE under the MIT License
(https://github.com/zalandoresearch/fashion-mnist/blob/master/LICENSE). This subset is a
derivative of it and is distributed under the same license, whose notice follows:

> The MIT License (MIT) Copyright © 2017 Zalando SE, https://tech.zalando.com
>
> Permission is hereby granted, free of charge, to any person obtaining a copy of this software
> and associated documentation files (the "Software"), to deal in the Software without
> restriction, including without limitation the rights to use, copy, modify, merge, publish,
> distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
> Software is furnished to do so, subject to the following conditions:
>
> The above copyright notice and this permission notice shall be included in all copies or
> substantial portions of the Software.
>
> THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
> BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
> NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
> DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
> OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
`;
}

try {
  main();
} catch (err) {
  console.error(`make-fashion-mnist-subset: ${err.message}`);
  process.exit(1);
}
