import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from './engine';
import { modelStages, trainStepFlops } from './flops';
import {
  CNN_KINDS,
  MLP_KINDS,
  MODEL_KINDS,
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
} from './zoo';

const FMNIST = [28, 28, 1] as const;
const CIFAR = [32, 32, 3] as const;

beforeAll(async () => {
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
      expect(net.descriptor).toEqual({
        family: 'zoo',
        name: 'cnn3',
        parameterCount: parameterSpec(spec).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0),
        representationDim: 128,
        numClasses: 7,
        inputShape: [32, 32, 3],
        trainFlopsPerSample: trainStepFlops(modelStages(spec, true)),
      });
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
    for (const kind of MODEL_KINDS) {
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
