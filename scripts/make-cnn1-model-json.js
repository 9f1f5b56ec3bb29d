#!/usr/bin/env node
/**
 * Writes the zoo's CNN-1 as a TensorFlow.js Layers model (model.json +
 * weights.bin): conv 5x5 c->16 relu, maxpool 2, conv 5x5 16->32 relu,
 * maxpool 2, flatten, dense 2000 relu, dense 500 relu (h), dense classes.
 * Layer names follow the zoo (conv1, pool1, conv2, pool2, flatten, fc1, fc2,
 * fc3); weights ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) like the zoo's init.
 * Needs the dev dependency @tensorflow/tfjs-layers.
 *
 *   node scripts/make-cnn1-model-json.js OUT_DIR [HEIGHTxWIDTHxCHANNELS] [CLASSES] [SEED]
 *   node scripts/make-cnn1-model-json.js /tmp/cnn1 28x28x1 10 1
 */
const path = require('node:path');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const tfl = require('@tensorflow/tfjs-layers');

/** The zoo's CNN-1 as a tf.Sequential; input [h, w, c]. */
function buildCnn1(input = [28, 28, 1], numClasses = 10, seed = 1) {
  let next = seed;
  const uniform = (fanIn) => {
    const b = 1 / Math.sqrt(fanIn);
    return {
      kernelInitializer: tfl.initializers.randomUniform({ minval: -b, maxval: b, seed: next++ }),
      biasInitializer: tfl.initializers.randomUniform({ minval: -b, maxval: b, seed: next++ }),
    };
  };
  const model = tfl.sequential({ name: 'cnn1' });
  const conv = (name, filters, inChannels, extra) =>
    tfl.layers.conv2d({ name, filters, kernelSize: 5, activation: 'relu', ...uniform(25 * inChannels), ...extra });
  model.add(conv('conv1', 16, input[2], { inputShape: input }));
  model.add(tfl.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }));
  model.add(conv('conv2', 32, 16));
  model.add(tfl.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }));
  model.add(tfl.layers.flatten({ name: 'flatten' }));
  const flat = model.outputs[0].shape[1];
  model.add(tfl.layers.dense({ name: 'fc1', units: 2000, activation: 'relu', ...uniform(flat) }));
  model.add(tfl.layers.dense({ name: 'fc2', units: 500, activation: 'relu', ...uniform(2000) }));
  model.add(tfl.layers.dense({ name: 'fc3', units: numClasses, ...uniform(500) }));
  return model;
}

/** Saves a tfjs-layers model to dir/model.json + dir/weights.bin with pfedlora's writer (needs npm run build). */
async function saveModel(model, dir) {
  const { layersModelSaveHandler, MODEL_JSON_FILE } = require(path.join(__dirname, '..', 'packages', 'ml', 'dist', 'layers-model-writer.js'));
  await model.save(layersModelSaveHandler(dir));
  return path.join(dir, MODEL_JSON_FILE);
}

module.exports = { buildCnn1, saveModel };

if (require.main === module) {
  const [dir, shape = '28x28x1', classes = '10', seed = '1'] = process.argv.slice(2);
  if (!dir) {
    console.error('usage: node scripts/make-cnn1-model-json.js OUT_DIR [HEIGHTxWIDTHxCHANNELS] [CLASSES] [SEED]');
    process.exit(2);
  }
  (async () => {
    await tf.setBackend('cpu');
    const input = shape.split('x').map(Number);
    const model = buildCnn1(input, Number(classes), Number(seed));
    console.log(await saveModel(model, dir));
  })().catch((error) => {
    console.error(error.message);
    process.exit(1);
  });
}
