#!/usr/bin/env node
/**
 * A team's own CNN, built with the Keras-style TensorFlow.js Layers API and
 * saved as model.json + weights.bin: the files `model.save()` writes, and what
 * `tensorflowjs_converter --input_format keras model.h5 OUT/` makes of a
 * tf.keras model (docs/models.md). Its layers are not the zoo's: 3x3
 * convolutions, batch normalization, dropout, and a 500-unit "embedding" layer
 * whose output is h (the input of the last Dense, so no --representation-layer
 * is needed).
 *
 *   node examples/keras-image-folder/make-model.js OUT_DIR [--embedding 500] [--classes 10] [--input 28x28x1]
 *
 * Needs npm ci (the dev dependency @tensorflow/tfjs-layers) and npm run build.
 */
'use strict';
const path = require('node:path');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const tfl = require('@tensorflow/tfjs-layers');

function parseArgs(argv) {
  const opts = { out: undefined, embedding: 500, classes: 10, input: [28, 28, 1], seed: 7 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--embedding') opts.embedding = Number(argv[++i]);
    else if (a === '--classes') opts.classes = Number(argv[++i]);
    else if (a === '--input') opts.input = argv[++i].split('x').map(Number);
    else if (a === '--seed') opts.seed = Number(argv[++i]);
    else if (!a.startsWith('--') && opts.out === undefined) opts.out = a;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!opts.out) throw new Error('usage: node examples/keras-image-folder/make-model.js OUT_DIR [--embedding D] [--classes C] [--input HxWxC]');
  return opts;
}

/** The team's network: what they would write in Keras, layer for layer. */
function buildTeamCnn({ input, embedding, classes, seed }) {
  const init = (s) => ({ kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + s }) });
  const model = tfl.sequential({ name: 'site_a_cnn' });
  model.add(tfl.layers.conv2d({ name: 'conv_a', inputShape: input, filters: 16, kernelSize: 3, activation: 'relu', ...init(1) }));
  model.add(tfl.layers.batchNormalization({ name: 'bn_a' }));
  model.add(tfl.layers.maxPooling2d({ name: 'pool_a', poolSize: 2 }));
  model.add(tfl.layers.conv2d({ name: 'conv_b', filters: 32, kernelSize: 3, activation: 'relu', ...init(2) }));
  model.add(tfl.layers.maxPooling2d({ name: 'pool_b', poolSize: 2 }));
  model.add(tfl.layers.flatten({ name: 'flatten' }));
  model.add(tfl.layers.dropout({ name: 'dropout', rate: 0.25 }));
  model.add(tfl.layers.dense({ name: 'embedding', units: embedding, activation: 'relu', ...init(3) }));
  model.add(tfl.layers.dense({ name: 'classifier', units: classes, activation: 'softmax', ...init(4) }));
  return model;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  await tf.setBackend('cpu');
  const { layersModelSaveHandler } = require(path.join(__dirname, '..', '..', 'packages', 'ml', 'dist', 'layers-model-writer.js'));
  const model = buildTeamCnn(opts);
  await model.save(layersModelSaveHandler(opts.out));
  process.stdout.write(`wrote ${path.join(opts.out, 'model.json')} (${model.countParams()} parameters, h = output of "embedding", width ${opts.embedding})\n`);
}

module.exports = { buildTeamCnn };

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`make-model: ${error.message}\n`);
    process.exit(1);
  });
}
