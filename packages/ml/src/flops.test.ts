import { adapterForwardFlops, extractorForwardFlops, layerForwardFlops, modelStages, trainStepFlops } from './flops';
import { pfedloraFlopsPerSample } from './algorithms';
import { modelSpec, zooFlops } from './zoo';

describe('analytic FLOPs', () => {
  const cnn1 = modelSpec('cnn1', [28, 28, 1], 10);

  test('per-layer forward counts match hand computation for CNN-1 on 28x28x1', () => {
    // conv1: 24x24 outputs x 16 filters x 5x5x1 MACs; conv2: 8x8 x 32 x 5x5x16; fc: in x out MACs; 2 FLOPs per MAC.
    expect(cnn1.layers.map(layerForwardFlops)).toEqual([
      2 * 24 * 24 * 16 * 25,
      2 * 8 * 8 * 32 * 25 * 16,
      2 * 512 * 2000,
      2 * 2000 * 500,
      2 * 500 * 10,
    ]);
    expect(extractorForwardFlops(cnn1)).toBe(2 * (24 * 24 * 16 * 25 + 8 * 8 * 32 * 400 + 512 * 2000 + 2000 * 500));
  });

  test('training a whole chain costs 3x forward except the first layer input gradient', () => {
    const stages = [{ forward: 10, trained: true }, { forward: 100, trained: true }];
    expect(trainStepFlops(stages)).toBe(10 + 10 + 100 + 100 + 100);
    // A frozen first stage needs no gradient at all; a frozen later stage still passes one back.
    expect(trainStepFlops([{ forward: 10, trained: false }, { forward: 100, trained: true }])).toBe(10 + 100 + 100);
    expect(trainStepFlops([{ forward: 10, trained: true }, { forward: 100, trained: false }])).toBe(10 + 10 + 100 + 100);
    const whole = trainStepFlops(modelStages(cnn1, true));
    const forward = cnn1.layers.map(layerForwardFlops).reduce((a, b) => a + b);
    expect(whole).toBe(3 * forward - layerForwardFlops(cnn1.layers[0]!));
  });

  test('pFedLoRA step 2 is far cheaper than step 1 (adapter only on cached features)', () => {
    const f = pfedloraFlopsPerSample(zooFlops(cnn1), { rank: 8, alpha: 8, numClasses: 10, representationDim: 500 });
    expect(adapterForwardFlops(500, 8, 10)).toBe(2 * 500 * 8 + 2 * 8 * 10);
    expect(f.step2PerEpoch).toBe(2 * (2 * 500 * 8 + 2 * 8 * 10) + 2 * 8 * 10);
    expect(f.step1).toBeGreaterThan(100 * f.step2PerEpoch);
  });

  test('a transformer counts attention: projections 8Tw^2, scores and mix 4T^2w, MLP 4Twm per block; embedding and pool 0', () => {
    const tfm2 = modelSpec('tfm2', [16], 2, 40);
    const block = 8 * 16 * 48 * 48 + 4 * 16 * 16 * 48 + 4 * 16 * 48 * 96;
    expect(tfm2.layers.map((l) => [l.kind, layerForwardFlops(l)])).toEqual([
      ['embedding', 0],
      ['encoder', block],
      ['encoder', block],
      ['pool', 0],
      ['dense', 2 * 48 * 40],
      ['dense', 2 * 40 * 2],
    ]);
    // Attention grows with the square of the sequence: doubling T more than doubles a block.
    const at = (t: number) => layerForwardFlops(modelSpec('tfm1', [t], 2).layers[1]!);
    expect(at(256) - 2 * at(128)).toBe(4 * 32 * (256 * 256 - 2 * 128 * 128));
    // The embedding is the first stage: trained, but no input gradient; every later stage costs 3x forward.
    const forward = tfm2.layers.map(layerForwardFlops).reduce((a, b) => a + b);
    expect(trainStepFlops(modelStages(tfm2, true))).toBe(3 * forward);
  });
});
