/** The tfjs banner is dropped from test output (test/quiet-tfjs.ts, installed by test/jest-setup.ts); other warnings are not. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { dropTfjsNodeBanner, isTfjsNodeBanner, TFJS_NODE_BANNER } from './quiet-tfjs';

test('the banner tfjs-backend-cpu prints on its first tensor is dropped; every other warning passes', async () => {
  const seen: unknown[][] = [];
  const saved = console.warn;
  try {
    console.warn = (...args: unknown[]) => {
      seen.push(args);
    };
    dropTfjsNodeBanner(console);
    await tf.setBackend('cpu');
    // A new cpu backend, so that its first write prints the banner (unless tfjs stops printing it).
    tf.removeBackend('cpu');
    const { MathBackendCPU } = await import('@tensorflow/tfjs-backend-cpu');
    tf.registerBackend('cpu', () => new MathBackendCPU());
    await tf.setBackend('cpu');
    tf.tidy(() => tf.sum(tf.tensor([1, 2, 3])).dataSync());
    console.warn('a real warning');
    console.warn('two', 'arguments', TFJS_NODE_BANNER);
    expect(seen).toEqual([['a real warning'], ['two', 'arguments', TFJS_NODE_BANNER]]);
  } finally {
    console.warn = saved;
  }
});

test('what counts as the banner', () => {
  const banner = '\n============================\nHi, looks like you are running TensorFlow.js in Node.js. To speed things up dramatically, install our node backend, visit https://github.com/tensorflow/tfjs-node for more details. \n============================';
  expect(isTfjsNodeBanner([banner])).toBe(true);
  expect(isTfjsNodeBanner(['Platform node has already been set. Overwriting the platform with node.'])).toBe(false);
  expect(isTfjsNodeBanner([banner, 'and more'])).toBe(false);
  expect(isTfjsNodeBanner([{ message: banner }])).toBe(false);
});
