import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from './engine';
import { modelStages, trainStepFlops } from './flops';
import { compareWithCpu, hostFloat, type HostTensor } from '../test/kernel-verify';
import {
  CNN_KINDS,
  MLP_KINDS,
  MODEL_KINDS,
  TRANSFORMER_KINDS,
  TRANSFORMER_SIZES,
  zooNetwork,
  REPRESENTATION_DIM,
  createModelVariables,
  defaultModelKind,
  disposeModelVariables,
  head,
  initialParameters,
  modelSpec,
  parameterSpec,
  parseModelKind,
  representation,
  type ModelSpec,
} from './zoo';

/** What a zoo network must declare: the given family, d, C and input, parameters counted from the schema, the analytic train FLOPs. */
function expectedDescriptor(spec: ModelSpec, declared: { family: string; representationDim: number; numClasses: number; inputShape: number[] }) {
  return {
    family: declared.family,
    name: spec.kind,
    parameterCount: parameterSpec(spec).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0),
    representationDim: declared.representationDim,
    numClasses: declared.numClasses,
    inputShape: declared.inputShape,
    trainFlopsPerSample: trainStepFlops(modelStages(spec, true)),
  };
}

const FMNIST = [28, 28, 1] as const;
const CIFAR = [32, 32, 3] as const;

beforeAll(async () => {
  await initEngine('cpu');
  await initEngine('wasm');
});

describe('model zoo', () => {
  // DESIGN.md table: conv1 c->16, conv2 16->(32|16), fc1 flat->(2000|2000|1000|800|500), fc2 ->500, fc3 ->classes.
  const table: Record<string, [number, number]> = { cnn1: [32, 2000], cnn2: [16, 2000], cnn3: [32, 1000], cnn4: [32, 800], cnn5: [32, 500] };

  test.each(CNN_KINDS.map((k) => [k]))('%s has the layer widths of the table on both inputs', (kind) => {
    const [conv2, fc1] = table[kind]!;
    for (const [input, side] of [[FMNIST, 4], [CIFAR, 5]] as const) {
      const shapes = Object.fromEntries(parameterSpec(modelSpec(kind, input, 10)).map((p) => [p.name, p.shape]));
      expect(shapes['conv1/kernel']).toEqual([5, 5, input[2], 16]);
      expect(shapes['conv2/kernel']).toEqual([5, 5, 16, conv2]);
      expect(shapes['fc1/kernel']).toEqual([side * side * conv2, fc1]);
      expect(shapes['fc2/kernel']).toEqual([fc1, REPRESENTATION_DIM]);
      expect(shapes['fc3/kernel']).toEqual([REPRESENTATION_DIM, 10]);
    }
  });

  test('client k gets CNN-((k mod 5)+1) for images, MLP-((k mod 3)+1) for tables', () => {
    expect([0, 1, 2, 3, 4, 5, 9, 12].map((k) => defaultModelKind(k))).toEqual(['cnn1', 'cnn2', 'cnn3', 'cnn4', 'cnn5', 'cnn1', 'cnn5', 'cnn3']);
    expect([0, 1, 2, 3, 4].map((k) => defaultModelKind(k, [13]))).toEqual(['mlp1', 'mlp2', 'mlp3', 'mlp1', 'mlp2']);
  });

  test('the MLPs differ in width and depth but all produce h of the run width d', () => {
    const widths = MLP_KINDS.map((kind) => parameterSpec(modelSpec(kind, [13], 3, 64)).filter((p) => p.name.endsWith('/kernel')).map((p) => p.shape));
    expect(widths).toEqual([
      [[13, 64], [64, 3]],
      [[13, 256], [256, 64], [64, 3]],
      [[13, 512], [512, 256], [256, 64], [64, 3]],
    ]);
  });

  test('a zoo network declares what the contract checks: d, C, input, parameters, FLOPs', () => {
    const spec = modelSpec('cnn3', CIFAR, 7, 128);
    const net = zooNetwork(spec, 1);
    try {
      expect(net.descriptor).toEqual(expectedDescriptor(spec, { family: 'zoo', representationDim: 128, numClasses: 7, inputShape: [32, 32, 3] }));
      expect(net.headDense!.kernel.shape).toEqual([128, 7]);
      const h = tf.tidy(() => net.representation(tf.zeros([2, 32, 32, 3]), 'eval'));
      expect(h.shape).toEqual([2, 128]);
      h.dispose();
    } finally {
      net.dispose();
    }
  });

  test('parseModelKind accepts CNN-3 spellings and names the choices on error', () => {
    expect(parseModelKind('CNN-3')).toBe('cnn3');
    expect(parseModelKind('cnn_5')).toBe('cnn5');
    expect(() => parseModelKind('resnet')).toThrow(/unknown model "resnet".*cnn1, cnn2/);
  });

  test('rejects inputs too small and bad class counts', () => {
    expect(() => modelSpec('cnn1', [12, 12, 1], 10)).toThrow(/too small/);
    expect(() => modelSpec('cnn1', FMNIST, 1)).toThrow(/numClasses/);
  });

  test('init is seeded and PyTorch-like (|w| <= 1/sqrt(fan_in))', () => {
    const spec = modelSpec('cnn4', CIFAR, 100);
    const a = initialParameters(spec, 3);
    const b = initialParameters(spec, 3);
    const c = initialParameters(spec, 4);
    expect(a[0]!.values).toEqual(b[0]!.values);
    expect(a[0]!.values).not.toEqual(c[0]!.values);
    const bound = 1 / Math.sqrt(5 * 5 * 3);
    expect(Math.max(...a[0]!.values.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...a[0]!.values.map(Math.abs))).toBeGreaterThan(bound * 0.9);
  });

  test.each([[FMNIST], [CIFAR]])('forward gives a 500-d representation and class logits (%o)', (input) => {
    for (const kind of [...CNN_KINDS, ...MLP_KINDS]) {
      const spec = modelSpec(kind, input, 7);
      const vars = createModelVariables(spec, initialParameters(spec, 1));
      const [hShape, logitShape] = tf.tidy(() => {
        const x = tf.randomUniform([3, ...input]) as tf.Tensor4D;
        const h = representation(vars, x);
        return [h.shape, head(vars, h).shape];
      });
      expect(hShape).toEqual([3, REPRESENTATION_DIM]);
      expect(logitShape).toEqual([3, 7]);
      disposeModelVariables(vars);
    }
  });
});

describe('transformer family', () => {
  test('tfm1..tfm4 differ in depth (1-4 blocks), width, heads and MLP size, and all produce h of the run width d', () => {
    const shapes = TRANSFORMER_KINDS.map((kind) => {
      const params = Object.fromEntries(parameterSpec(modelSpec(kind, [16], 2, 40)).map((p) => [p.name, p.shape]));
      const blocks = Object.keys(params).filter((n) => n.endsWith('/query/kernel')).length;
      return [kind, blocks, params['embed/tokens'], params['embed/positions'], params['block1/mlp1/kernel'], params['fc2/kernel'], params['fc3/kernel']];
    });
    expect(shapes).toEqual([
      ['tfm1', 1, [257, 32], [16, 32], [32, 64], [32, 40], [40, 2]],
      ['tfm2', 2, [257, 48], [16, 48], [48, 96], [48, 40], [40, 2]],
      ['tfm3', 3, [257, 64], [16, 64], [64, 128], [64, 40], [40, 2]],
      ['tfm4', 4, [257, 64], [16, 64], [64, 256], [64, 40], [40, 2]],
    ]);
    expect(TRANSFORMER_KINDS.map((k) => TRANSFORMER_SIZES[k].heads)).toEqual([2, 4, 4, 8]);
    expect(MODEL_KINDS).toEqual(expect.arrayContaining([...TRANSFORMER_KINDS]));
  });

  test('client k gets TFM-((k mod 4)+1) for text; a transformer refuses an image input', () => {
    expect([0, 1, 2, 3, 4].map((k) => defaultModelKind(k, [64], true))).toEqual(['tfm1', 'tfm2', 'tfm3', 'tfm4', 'tfm1']);
    expect(parseModelKind('TFM-3')).toBe('tfm3');
    expect(() => modelSpec('tfm2', FMNIST, 10)).toThrow(/input of tfm2 must be a token sequence \[tokens\], got \[28, 28, 1\]/);
  });

  test('init: layer norms at gamma 1, beta 0; embeddings small (N(0, 0.02^2)); seeded', () => {
    const spec = modelSpec('tfm2', [8], 2, 16);
    const params = Object.fromEntries(initialParameters(spec, 3).map((p) => [p.name, p.values]));
    expect([...params['block2/ln1/gamma']!].every((v) => v === 1)).toBe(true);
    expect([...params['pool/ln/beta']!].every((v) => v === 0)).toBe(true);
    const tokens = params['embed/tokens']!;
    const std = Math.sqrt(tokens.reduce((s, v) => s + v * v, 0) / tokens.length);
    expect(std).toBeGreaterThan(0.018);
    expect(std).toBeLessThan(0.022);
    expect(initialParameters(spec, 3)[0]!.values).toEqual(tokens);
  });

  test('a transformer network declares family, input [tokens], d, C and its FLOPs; its h is [n, d]', () => {
    const spec = modelSpec('tfm3', [24], 2, 40);
    const net = zooNetwork(spec, 1);
    try {
      expect(net.descriptor).toEqual(expectedDescriptor(spec, { family: 'transformer', representationDim: 40, numClasses: 2, inputShape: [24] }));
      const [h, logits] = tf.tidy(() => {
        const x = tf.tensor2d([[72, 105, 0, 0, ...new Array<number>(20).fill(0)], new Array<number>(24).fill(66)]);
        const rep = net.representation(x, 'eval');
        return [rep.shape, net.head(rep, 'eval').shape];
      });
      expect(h).toEqual([2, 40]);
      expect(logits).toEqual([2, 2]);
    } finally {
      net.dispose();
    }
  });

  test.each([['tfm1'], ['tfm4']] as const)('%s: whole-model gradients on wasm equal the cpu backend', async (kind) => {
    const spec = modelSpec(kind, [12], 3, 20);
    const params = initialParameters(spec, 2);
    const ids: HostTensor = { values: Float32Array.from({ length: 3 * 12 }, (_, i) => (i % 12 > 8 + (i % 3) ? 0 : 1 + ((i * 37) % 256))), shape: [3, 12], dtype: 'float32' };
    const weights = hostFloat(9, [3, 3]);
    const inputs: HostTensor[] = [ids, weights, ...params.map((p): HostTensor => ({ values: p.values, shape: p.shape, dtype: 'float32' }))];
    const { perOutput } = await compareWithCpu('wasm', inputs, (x, w, ...values) => {
      const vars = { spec, byName: new Map(params.map((p, i) => [p.name, values[i] as tf.Variable])), list: values as tf.Variable[] };
      return tf.grads((...vs: tf.Tensor[]) => {
        const live = { ...vars, byName: new Map(params.map((p, i) => [p.name, vs[i] as tf.Variable])) };
        return tf.sum(tf.mul(head(live, representation(live, x!)), w!)) as tf.Scalar;
      })(values);
    });
    // A key bias shifts a query's scores equally, which softmax cancels: its gradient is zero up to rounding noise.
    const compared = perOutput.filter((_, i) => !params[i]!.name.endsWith('/key/bias'));
    expect(compared).toHaveLength(params.length - TRANSFORMER_SIZES[kind].blocks);
    expect(Math.max(...compared)).toBeLessThan(1e-4);
  });
});
