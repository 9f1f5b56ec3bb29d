import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine, registerMissingGradients } from './engine';
import { extractorForwardFlops, headForwardFlops, modelStages, trainStepFlops } from './flops';
import { maxRelativeError, seededUniform } from '../test/kernel-verify';
import { loadLayersModel, parseLayersTopology, planLayersNetwork, readLayersArtifacts, buildLayersNetwork, SUPPORTED_LAYERS } from './layers-model';
import { layersModelSaveHandler } from './layers-model-writer';
import type { PrivateNetwork } from './network';
import { PAPER_SGD, SgdMomentum, crossEntropy } from './optimizer';
import { initialParameters, modelSpec, zooNetwork } from './zoo';

// The script that writes the zoo's CNN-1 as model.json (plain Node, also used by the docs).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cnn1Script = require('../../../scripts/make-cnn1-model-json.js') as { buildCnn1: (input: number[], classes: number, seed: number) => tfl.Sequential };

let root: string;
let dirCount = 0;

/**
 * tfjs-layers' bundle registers tfjs-core's own gradients in the process-wide
 * registry, replacing ours. Production never loads it (tfjs-core's CommonJS
 * build registers none), so start from an empty registry and add ours, or
 * these tests would check tfjs's gradients instead.
 */
function useOnlyOurGradients(): void {
  const globals = (tf.env().global as { _tfGlobals?: Map<string, unknown> })._tfGlobals;
  const registry = globals?.get('gradRegistry') as Map<string, unknown> | undefined;
  if (!registry) throw new Error('cannot find the tfjs gradient registry');
  for (const name of [...registry.keys()]) tf.unregisterGradient(name);
  registerMissingGradients();
}

beforeAll(async () => {
  await initEngine('cpu');
  await initEngine('wasm');
  useOnlyOurGradients();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'pfedlora-layers-'));
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

/** Every weight of a tfjs-layers model set from a seed (moving variances positive), so comparisons mean something. */
function randomizeWeights(model: tfl.LayersModel, seed: number): void {
  const values = model.weights.map((w, i) => {
    const positive = w.originalName.endsWith('moving_variance');
    const shape = w.shape as number[];
    return tf.tensor(seededUniform(seed + i, tf.util.sizeFromShape(shape), positive ? 0.5 : -0.5, positive ? 1.5 : 0.5), shape);
  });
  model.setWeights(values);
  tf.dispose(values);
}

async function save(model: tfl.LayersModel, label: string): Promise<string> {
  const dir = path.join(root, `${label}-${dirCount++}`);
  await model.save(layersModelSaveHandler(dir));
  return path.join(dir, 'model.json');
}

function hostInput(seed: number, shape: number[], lo = -1, hi = 1): Float32Array {
  return seededUniform(seed, tf.util.sizeFromShape(shape), lo, hi);
}

/** The small CNN of the tests: every image layer kind, a softmax head (or linear, for a logits reference). */
function smallCnn(finalActivation: 'softmax' | 'linear'): tfl.Sequential {
  const m = tfl.sequential({ name: 'small_cnn' });
  m.add(tfl.layers.conv2d({ name: 'conv', inputShape: [12, 12, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }));
  m.add(tfl.layers.maxPooling2d({ name: 'pool', poolSize: 2 }));
  m.add(tfl.layers.batchNormalization({ name: 'bn', momentum: 0.9 }));
  m.add(tfl.layers.depthwiseConv2d({ name: 'dw', kernelSize: 3, depthMultiplier: 2 }));
  m.add(tfl.layers.averagePooling2d({ name: 'avg', poolSize: 3, strides: 2, padding: 'same' }));
  m.add(tfl.layers.dropout({ name: 'drop', rate: 0.3 }));
  m.add(tfl.layers.flatten({ name: 'flat' }));
  m.add(tfl.layers.dense({ name: 'features', units: 16, activation: 'relu' }));
  m.add(tfl.layers.dense({ name: 'logits', units: 5, activation: finalActivation }));
  return m;
}

/** Output of `layer` (a layer name) of a tfjs-layers model, and the final output. */
function reference(model: tfl.LayersModel, layer: string, x: tf.Tensor): [Float32Array, Float32Array] {
  const sub = tfl.model({ inputs: model.inputs, outputs: model.getLayer(layer).output as tfl.SymbolicTensor });
  const h = sub.predict(x) as tf.Tensor;
  const y = model.predict(x) as tf.Tensor;
  const out: [Float32Array, Float32Array] = [h.dataSync() as Float32Array, y.dataSync() as Float32Array];
  tf.dispose([h, y]);
  return out;
}

function evalOutputs(net: PrivateNetwork, x: tf.Tensor): [Float32Array, Float32Array, Float32Array] {
  const [h, logits, probs] = tf.tidy(() => {
    const h = net.representation(x, 'eval');
    const logits = net.head(h, 'eval');
    return [h, logits, tf.softmax(logits)];
  });
  const out: [Float32Array, Float32Array, Float32Array] = [h.dataSync() as Float32Array, logits.dataSync() as Float32Array, probs.dataSync() as Float32Array];
  tf.dispose([h, logits, probs]);
  return out;
}

async function errorOf(run: () => unknown): Promise<string> {
  try {
    await run();
  } catch (error) {
    const message = (error as Error).message;
    if (process.env.LAYERS_PRINT_ERRORS) console.log(message);
    return message;
  }
  throw new Error('expected an error');
}

describe('TensorFlow.js Layers models as PrivateNetworks', () => {
  let cnnFile: string;
  let cnnLinear: tfl.Sequential;
  let cnnSoftmax: tfl.Sequential;

  beforeAll(async () => {
    cnnSoftmax = smallCnn('softmax');
    randomizeWeights(cnnSoftmax, 10);
    cnnLinear = smallCnn('linear');
    cnnLinear.setWeights(cnnSoftmax.getWeights());
    cnnFile = await save(cnnSoftmax, 'cnn');
  });

  afterAll(() => {
    cnnSoftmax.dispose();
    cnnLinear.dispose();
  });

  test('CNN: h and logits in eval mode equal tfjs-layers predict; the softmax is dropped', async () => {
    const net = await loadLayersModel(cnnFile);
    try {
      expect(net.descriptor).toMatchObject({ family: 'layers', representationDim: 16, numClasses: 5, inputShape: [12, 12, 3] });
      expect([...net.parameters.keys()]).toEqual([
        'conv/kernel',
        'conv/bias',
        'bn/gamma',
        'bn/beta',
        'dw/depthwise_kernel',
        'dw/bias',
        'features/kernel',
        'features/bias',
        'logits/kernel',
        'logits/bias',
      ]);
      expect([...net.buffers.keys()]).toEqual(['bn/moving_mean', 'bn/moving_variance']);
      expect(net.descriptor.parameterCount).toBe(cnnSoftmax.countParams() - 8);
      expect(net.headDense?.kernel.shape).toEqual([16, 5]);
      const x = tf.tensor(hostInput(1, [6, 12, 12, 3]), [6, 12, 12, 3]);
      const [h, logits, probs] = evalOutputs(net, x);
      const [hRef, probsRef] = reference(cnnSoftmax, 'features', x);
      const [, logitsRef] = reference(cnnLinear, 'features', x);
      x.dispose();
      expect(maxRelativeError(h, hRef)).toBeLessThan(1e-5);
      expect(maxRelativeError(logits, logitsRef)).toBeLessThan(1e-5);
      expect(maxRelativeError(probs, probsRef)).toBeLessThan(1e-5);
    } finally {
      net.dispose();
    }
  });

  test('functional model with GlobalAveragePooling2D, a fused ReLU layer and a trailing Activation(softmax)', async () => {
    const input = tfl.input({ shape: [9, 9, 2], name: 'image' });
    let t = tfl.layers.conv2d({ name: 'conv', filters: 6, kernelSize: 3, strides: 2, padding: 'same' }).apply(input) as tfl.SymbolicTensor;
    t = tfl.layers.reLU({ name: 'conv_relu' }).apply(t) as tfl.SymbolicTensor;
    t = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(t) as tfl.SymbolicTensor;
    t = tfl.layers.dense({ name: 'hidden', units: 8, activation: 'tanh' }).apply(t) as tfl.SymbolicTensor;
    t = tfl.layers.dense({ name: 'out', units: 3 }).apply(t) as tfl.SymbolicTensor;
    const probs = tfl.layers.activation({ name: 'probs', activation: 'softmax' }).apply(t) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: probs, name: 'gap_model' });
    randomizeWeights(model, 20);
    const file = await save(model, 'gap');
    const net = await loadLayersModel(file, { expectedRepresentationDim: 8, expectedNumClasses: 3 });
    const x = tf.tensor(hostInput(2, [5, 9, 9, 2]), [5, 9, 9, 2]);
    const [h, , p] = evalOutputs(net, x);
    const [hRef, pRef] = reference(model, 'hidden', x);
    expect(maxRelativeError(h, hRef)).toBeLessThan(1e-5);
    expect(maxRelativeError(p, pRef)).toBeLessThan(1e-5);
    // A representation further down, before the hidden Dense: the head becomes Dense-tanh-Dense.
    const gapNet = await loadLayersModel(file, { representationLayer: 'gap' });
    const [h2, , p2] = evalOutputs(gapNet, x);
    expect(h2.length).toBe(5 * 6);
    expect(gapNet.headDense).toBeUndefined();
    expect(maxRelativeError(p2, pRef)).toBeLessThan(1e-5);
    expect(gapNet.flops.extractorForward + gapNet.flops.headForward).toBe(net.flops.extractorForward + net.flops.headForward);
    tf.dispose(x);
    net.dispose();
    gapNet.dispose();
    model.dispose();
  });

  test('text model: Embedding + GlobalAveragePooling1D + Dense, token ids as float features', async () => {
    const m = tfl.sequential({ name: 'text' });
    m.add(tfl.layers.embedding({ name: 'emb', inputDim: 50, outputDim: 8, inputLength: 12, inputShape: [12] }));
    m.add(tfl.layers.globalAveragePooling1d({ name: 'gap' }));
    m.add(tfl.layers.dense({ name: 'hidden', units: 6, activation: 'relu' }));
    m.add(tfl.layers.dropout({ name: 'drop', rate: 0.5 }));
    m.add(tfl.layers.dense({ name: 'out', units: 4, activation: 'softmax' }));
    randomizeWeights(m, 30);
    const net = await loadLayersModel(await save(m, 'text'));
    expect(net.descriptor).toMatchObject({ inputShape: [12], representationDim: 6, numClasses: 4 });
    expect(net.flops.extractorForward).toBe(2 * 8 * 6);
    const ids = Float32Array.from(hostInput(3, [7, 12], 0, 50), Math.floor);
    const x = tf.tensor(ids, [7, 12]);
    const [h, , p] = evalOutputs(net, x);
    const [hRef, pRef] = reference(m, 'drop', x);
    expect(maxRelativeError(h, hRef)).toBeLessThan(1e-5);
    expect(maxRelativeError(p, pRef)).toBeLessThan(1e-5);
    // Gradients reach the embedding rows the batch uses, and only those.
    const g = tf.tidy(() => {
      const { grads } = tf.variableGrads(() => crossEntropy(net.head(net.representation(x, 'train'), 'train'), tf.tensor1d([0, 1, 2, 3, 0, 1, 2], 'int32')), [
        net.parameters.get('emb/embeddings')!,
      ]);
      return tf.sum(tf.abs(Object.values(grads)[0]!), 1);
    });
    const rows = Array.from(g.dataSync());
    const used = new Set(ids);
    expect(rows.filter((_, i) => !used.has(i)).every((r) => r === 0)).toBe(true);
    expect(rows.filter((r, i) => used.has(i) && r > 0).length).toBeGreaterThan(used.size / 2);
    tf.dispose([x, g]);
    net.dispose();
    m.dispose();
  });

  test('Embedding with mask_zero: GlobalAveragePooling1D averages the real tokens only (Keras semantics)', async () => {
    const m = tfl.sequential();
    m.add(tfl.layers.embedding({ name: 'emb', inputDim: 20, outputDim: 4, maskZero: true, inputShape: [6] }));
    m.add(tfl.layers.globalAveragePooling1d({ name: 'gap' }));
    m.add(tfl.layers.dense({ name: 'out', units: 2 }));
    randomizeWeights(m, 40);
    const net = await loadLayersModel(await save(m, 'masked'));
    const ids = [3, 7, 0, 0, 0, 0, 5, 5, 5, 1, 2, 0];
    const x = tf.tensor(ids, [2, 6]);
    const [h] = evalOutputs(net, x);
    const table = m.getLayer('emb').getWeights()[0]!.arraySync() as number[][];
    const expected = [ids.slice(0, 6), ids.slice(6)].flatMap((row) => {
      const real = row.filter((id) => id !== 0);
      return [0, 1, 2, 3].map((k) => real.reduce((s, id) => s + table[id]![k]!, 0) / real.length);
    });
    expect(maxRelativeError(h, expected)).toBeLessThan(1e-6);
    x.dispose();
    net.dispose();
    m.dispose();
  });

  test('CNN gradients of the cross-entropy in train mode: wasm equals cpu, and cpu matches finite differences', async () => {
    const n = 8;
    const xs = hostInput(4, [n, 12, 12, 3]);
    const labels = [0, 1, 2, 3, 4, 0, 1, 2];
    const gradsOn = async (backend: 'cpu' | 'wasm') => {
      await initEngine(backend);
      const net = await loadLayersModel(cnnFile, { seed: 5 });
      const names = [...net.parameters.keys()];
      const grads = tf.tidy(() => {
        const x = tf.tensor(xs, [n, 12, 12, 3]);
        const y = tf.tensor1d(labels, 'int32');
        const { grads } = tf.variableGrads(() => crossEntropy(net.head(net.representation(x, 'train'), 'train'), y), [...net.parameters.values()]);
        return names.map((k) => grads[net.parameters.get(k)!.name]!);
      });
      const values = grads.map((g) => g.dataSync() as Float32Array);
      tf.dispose(grads);
      net.dispose();
      return { names, values };
    };
    const cpu = await gradsOn('cpu');
    const wasm = await gradsOn('wasm');
    cpu.names.forEach((name, i) => {
      const err = maxRelativeError(wasm.values[i]!, cpu.values[i]!);
      if (err >= 1e-4) throw new Error(`${name}: wasm vs cpu relative error ${err}`);
      expect(Math.max(...cpu.values[i]!.map(Math.abs))).toBeGreaterThan(0);
    });

    // Central differences along a random direction, on cpu in eval mode (no dropout; BN from moving statistics).
    await initEngine('cpu');
    const net = await loadLayersModel(cnnFile);
    try {
      const vars = [...net.parameters.values()];
      const x = tf.tensor(xs, [n, 12, 12, 3]);
      const y = tf.tensor1d(labels, 'int32');
      const loss = () => crossEntropy(net.head(net.representation(x, 'eval'), 'eval'), y);
      const grads = tf.tidy(() => {
        const { grads } = tf.variableGrads(loss, vars);
        return vars.map((v) => grads[v.name]!);
      });
      const dirs = vars.map((v, i) => tf.tensor(seededUniform(70 + i, v.size), v.shape));
      const analytic = tf.tidy(() => tf.addN(grads.map((g, i) => tf.sum(tf.mul(g, dirs[i]!)))).dataSync()[0]!);
      const original = vars.map((v) => v.clone());
      const eps = 1e-3;
      const at = (sign: number) => {
        vars.forEach((v, i) => v.assign(tf.tidy(() => tf.add(original[i]!, tf.mul(dirs[i]!, sign * eps)))));
        return tf.tidy(() => loss().dataSync()[0]!);
      };
      const numeric = (at(1) - at(-1)) / (2 * eps);
      vars.forEach((v, i) => v.assign(original[i]!));
      tf.dispose([x, y, ...grads, ...dirs, ...original]);
      expect(Math.abs(analytic - numeric) / Math.max(1, Math.abs(numeric))).toBeLessThan(5e-3);
    } finally {
      net.dispose();
      await initEngine('wasm');
    }
  });

  test('training changes the weights; BatchNormalization moving statistics change only in afterTrainStep', async () => {
    const m = tfl.sequential();
    m.add(tfl.layers.batchNormalization({ name: 'bn', inputShape: [5], momentum: 0.8 }));
    m.add(tfl.layers.dense({ name: 'hidden', units: 8, activation: 'relu' }));
    m.add(tfl.layers.dropout({ name: 'drop', rate: 0.5 }));
    m.add(tfl.layers.dense({ name: 'out', units: 3 }));
    randomizeWeights(m, 50);
    const net = await loadLayersModel(await save(m, 'mlp'), { seed: 1 });
    const n = 6;
    const xs = hostInput(6, [n, 5], -2, 3);
    const x = tf.tensor(xs, [n, 5]);
    const y = tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32');
    const read = (v: tf.Variable) => Array.from(v.dataSync());
    const mean0 = read(net.buffers.get('bn/moving_mean')!);
    const var0 = read(net.buffers.get('bn/moving_variance')!);
    const kernel0 = read(net.parameters.get('hidden/kernel')!);
    const optimizer = new SgdMomentum({ ...PAPER_SGD, learningRate: 0.1 }, net.parameters);
    const step = () =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => crossEntropy(net.head(net.representation(x, 'train'), 'train'), y), [...net.parameters.values()]);
        optimizer.step(grads);
      });

    step();
    expect(read(net.buffers.get('bn/moving_mean')!)).toEqual(mean0);
    expect(read(net.buffers.get('bn/moving_variance')!)).toEqual(var0);
    net.afterTrainStep!();
    // Keras: moving = moving * momentum + batch * (1 - momentum), biased batch variance.
    for (let c = 0; c < 5; c++) {
      const col = Array.from({ length: n }, (_, i) => xs[i * 5 + c]!);
      const mu = col.reduce((a, b) => a + b, 0) / n;
      const sigma2 = col.reduce((a, b) => a + (b - mu) ** 2, 0) / n;
      expect(read(net.buffers.get('bn/moving_mean')!)[c]).toBeCloseTo(mean0[c]! * 0.8 + mu * 0.2, 5);
      expect(read(net.buffers.get('bn/moving_variance')!)[c]).toBeCloseTo(var0[c]! * 0.8 + sigma2 * 0.2, 5);
    }
    expect(read(net.parameters.get('hidden/kernel')!)).not.toEqual(kernel0);

    // Train forwards without afterTrainStep replace the pending statistics instead of piling them up.
    step();
    const count = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(count);
    net.afterTrainStep!();
    expect(tf.memory().numTensors).toBe(count - 2);
    // Eval ignores dropout: two eval passes agree, two train passes (new masks) do not.
    const twice = (mode: 'train' | 'eval') =>
      tf.tidy(() => maxRelativeError(net.head(net.representation(x, mode), mode).dataSync(), net.head(net.representation(x, mode), mode).dataSync()));
    expect(twice('eval')).toBe(0);
    expect(twice('train')).toBeGreaterThan(0);
    optimizer.dispose();
    tf.dispose([x, y]);
    net.dispose();
    m.dispose();
  });

  test('the zoo CNN-1 as model.json: same FLOPs, parameters and h as the zoo', async () => {
    const spec = modelSpec('cnn1', [28, 28, 1], 10);
    const model = cnn1Script.buildCnn1([28, 28, 1], 10, 1);
    // The zoo's own initial values, so both compute the same function.
    const init = initialParameters(spec, 1).map((p) => tf.tensor(p.values, [...p.shape]));
    model.setWeights(init);
    tf.dispose(init);
    const file = await save(model, 'cnn1');
    model.dispose();
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    const topology = parseLayersTopology(json, file);
    expect(topology.layers.map((l) => l.name)).toEqual(['conv1', 'pool1', 'conv2', 'pool2', 'flatten', 'fc1', 'fc2', 'fc3']);
    const plan = planLayersNetwork(topology, { expectedRepresentationDim: 500, expectedNumClasses: 10 });
    expect(plan.representationLayer).toBe('fc2');
    expect(plan.flops).toEqual({
      extractorForward: extractorForwardFlops(spec),
      headForward: headForwardFlops(spec),
      trainStep: trainStepFlops(modelStages(spec, true)),
    });
    const net = await loadLayersModel(file);
    const zoo = zooNetwork(spec, 1);
    expect(net.descriptor.trainFlopsPerSample).toBe(zoo.descriptor.trainFlopsPerSample);
    expect(net.descriptor.parameterCount).toBe(zoo.descriptor.parameterCount);
    expect([...net.parameters.keys()]).toEqual([...zoo.parameters.keys()]);
    expect(net.descriptor.name).toBe(path.basename(path.dirname(file)));
    const x = tf.tensor(hostInput(9, [4, 28, 28, 1], 0, 1), [4, 28, 28, 1]);
    const [h, logits] = evalOutputs(net, x);
    const [hZoo, logitsZoo] = evalOutputs(zoo, x);
    x.dispose();
    expect(maxRelativeError(h, hZoo)).toBeLessThan(1e-6);
    expect(maxRelativeError(logits, logitsZoo)).toBeLessThan(1e-6);
    net.dispose();
    zoo.dispose();
  });

  test('artifacts read once (plain data) build networks later, checked against the contract then', async () => {
    const artifacts = await readLayersArtifacts(cnnFile);
    expect(Object.keys(artifacts.weights)).toHaveLength(12);
    const cloned = structuredClone(artifacts);
    const net = buildLayersNetwork(cloned, { expectedRepresentationDim: 16, expectedNumClasses: 5 });
    expect(net.descriptor.representationDim).toBe(16);
    net.dispose();
    expect(() => buildLayersNetwork(cloned, { expectedNumClasses: 10 })).toThrow(/has 5 units, .*requires C = 10/);
  });

  describe('errors', () => {
    const rewrite = (file: string, label: string, edit: (json: Record<string, any>) => void): string => {
      const dir = path.join(root, `${label}-${dirCount++}`);
      fs.cpSync(path.dirname(file), dir, { recursive: true });
      const out = path.join(dir, 'model.json');
      const json = JSON.parse(fs.readFileSync(out, 'utf8')) as Record<string, any>;
      edit(json);
      fs.writeFileSync(out, JSON.stringify(json));
      return out;
    };

    test('an unsupported layer is named with its class and the supported list', async () => {
      const m = tfl.sequential();
      m.add(tfl.layers.conv1d({ name: 'conv1d_1', inputShape: [10, 3], filters: 4, kernelSize: 3 }));
      m.add(tfl.layers.flatten({ name: 'flat' }));
      m.add(tfl.layers.dense({ name: 'out', units: 2 }));
      const message = await errorOf(async () => loadLayersModel(await save(m, 'conv1d')));
      m.dispose();
      expect(message).toMatch(/layer "conv1d_1" has class Conv1D, which is not supported; supported layers: InputLayer, Dense, Conv2D/);
      for (const cls of SUPPORTED_LAYERS) expect(message).toContain(cls);
    });

    test('a d or C mismatch with the contract names the layer and both numbers', async () => {
      const d = await errorOf(() => loadLayersModel(cnnFile, { expectedRepresentationDim: 500 }));
      expect(d).toContain('representation layer "features" yields h of width 16, but this run\'s contract requires d = 500');
      expect(d).toContain('--representation-layer');
      const c = await errorOf(() => loadLayersModel(cnnFile, { expectedNumClasses: 62 }));
      expect(c).toContain('the head\'s last Dense "logits" has 5 units, but this run\'s contract requires C = 62');
    });

    test('an unknown representation layer lists the layer names; a layer with image output suggests flattening', async () => {
      const unknown = await errorOf(() => loadLayersModel(cnnFile, { representationLayer: 'fc9' }));
      expect(unknown).toContain('no layer named "fc9" for the representation; the layers are: conv, pool, bn, dw, avg, drop, flat, features, logits');
      const rank = await errorOf(() => loadLayersModel(cnnFile, { representationLayer: 'dw' }));
      expect(rank).toContain('representation layer "dw" outputs [4, 4, 8] per sample');
      expect(rank).toMatch(/Flatten or GlobalAveragePooling/);
      const late = await errorOf(() => loadLayersModel(cnnFile, { representationLayer: 'logits' }));
      expect(late).toContain('must come before the head\'s last Dense "logits"');
    });

    test('missing and truncated weight files are named, with byte counts', async () => {
      const missing = rewrite(cnnFile, 'missing', () => {});
      fs.rmSync(path.join(path.dirname(missing), 'weights.bin'));
      expect(await errorOf(() => loadLayersModel(missing))).toMatch(/weight file ".*weights\.bin" listed in the weightsManifest does not exist/);
      const truncated = rewrite(cnnFile, 'truncated', () => {});
      const bin = path.join(path.dirname(truncated), 'weights.bin');
      const size = fs.statSync(bin).size;
      fs.truncateSync(bin, 100);
      expect(await errorOf(() => loadLayersModel(truncated))).toContain(`weight file "${bin}" holds 100 bytes, but the weightsManifest needs ${size} bytes`);
    });

    test('non-float32 and quantized weights are refused', async () => {
      const int = rewrite(cnnFile, 'int32', (j) => (j.weightsManifest[0].weights[0].dtype = 'int32'));
      expect(await errorOf(() => loadLayersModel(int))).toContain('weight "conv/kernel" has dtype int32: only float32 weights load');
      const quantized = rewrite(cnnFile, 'uint8', (j) => (j.weightsManifest[0].weights[2].quantization = { dtype: 'uint8', scale: 0.01, min: -1 }));
      expect(await errorOf(() => loadLayersModel(quantized))).toMatch(/weight "bn\/gamma" is quantized \(uint8\)/);
    });

    test('weights whose shape differs from the topology name the layer and both shapes', async () => {
      const file = rewrite(cnnFile, 'shape', (j) => {
        const layers = j.modelTopology.config.layers as Array<{ config: Record<string, unknown> }>;
        layers[7]!.config.units = 12;
      });
      expect(await errorOf(() => loadLayersModel(file))).toContain(
        'layer "features" (Dense): weight "features/kernel" has shape [32, 16] in the weightsManifest, but the topology implies [32, 12]',
      );
    });

    test('config problems are caught by the pure parser, before any file is read', () => {
      const base = JSON.parse(fs.readFileSync(cnnFile, 'utf8')) as Record<string, any>;
      const problem = (edit: (json: Record<string, any>) => void, options = {}) => {
        const json = structuredClone(base);
        edit(json);
        try {
          planLayersNetwork(parseLayersTopology(json, 'model.json'), options);
        } catch (error) {
          if (process.env.LAYERS_PRINT_ERRORS) console.log((error as Error).message);
          return (error as Error).message;
        }
        throw new Error('expected an error');
      };
      const layers = (j: Record<string, any>) => j.modelTopology.config.layers as Array<{ class_name: string; config: Record<string, any> }>;
      expect(problem((j) => (layers(j)[7]!.config.activation = 'gelu'))).toMatch(/^model.json: layer "features" \(Dense\): activation "gelu" is not supported; supported: linear, relu/);
      expect(problem((j) => (layers(j)[8]!.config.activation = 'sigmoid'))).toContain(
        'model.json: the last Dense "logits" has activation "sigmoid": the head must output logits (activation linear or softmax)',
      );
      expect(problem((j) => j.weightsManifest[0].weights.splice(1, 1))).toMatch(
        /^model.json: layer "conv" \(Conv2D\) needs weight "conv\/bias" of shape \[4\], which the weightsManifest does not list \(it lists conv\/kernel, bn\/gamma/,
      );
      expect(problem((j) => (layers(j)[0]!.config.batch_input_shape = [null, null, null, 3]))).toContain(
        'model.json: layer "conv" (Conv2D) declares input shape [null, null, null, 3]: every dimension but the batch must be a fixed positive size',
      );
      expect(problem((j) => (layers(j)[0]!.config.dilation_rate = [2, 2]))).toContain('layer "conv" (Conv2D): dilation_rate [2,2] is not supported (only 1)');
      expect(problem((j) => (j.modelTopology = { model_config: j.modelTopology }), { expectedRepresentationDim: 3 })).toContain('yields h of width 16');
    });

    test('channels_first, branching graphs, graph models and a non-Dense last layer are refused', async () => {
      const cf = rewrite(cnnFile, 'cf', (j) => (j.modelTopology.config.layers[0].config.data_format = 'channels_first'));
      expect(await errorOf(() => loadLayersModel(cf))).toContain('layer "conv" (Conv2D): data_format "channels_first" is not supported');

      const input = tfl.input({ shape: [4], name: 'in' });
      const a = tfl.layers.dense({ name: 'a', units: 3 }).apply(input) as tfl.SymbolicTensor;
      const b = tfl.layers.dense({ name: 'b', units: 3 }).apply(input) as tfl.SymbolicTensor;
      const sum = tfl.layers.add({ name: 'merge' }).apply([a, b]) as tfl.SymbolicTensor;
      const out = tfl.layers.dense({ name: 'out', units: 2 }).apply(sum) as tfl.SymbolicTensor;
      const branching = tfl.model({ inputs: input, outputs: out });
      const message = await errorOf(async () => loadLayersModel(await save(branching, 'branch')));
      branching.dispose();
      expect(message).toContain('layer "merge" (Add) merges 2 inputs (a, b): only single-chain models load, not branching graphs');

      const graph = path.join(root, 'graph-model.json');
      fs.writeFileSync(graph, JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }));
      expect(await errorOf(() => loadLayersModel(graph))).toContain('this is a TensorFlow.js graph model; only Layers models load');

      const noHead = rewrite(cnnFile, 'nohead', (j) => j.modelTopology.config.layers.splice(7, 2));
      expect(await errorOf(() => loadLayersModel(noHead))).toContain('the model must end in a Dense layer (the head that outputs the class logits), but its last layer is "flat" (Flatten)');
    });
  });
});
