/**
 * The coordinator never trains, so it never loads the training engine: its
 * module graph reaches @pfedlora/ml only through the tf-free entry
 * `@pfedlora/ml/server` (the algorithms' server halves), never tfjs nor the
 * full `@pfedlora/ml` index. Here on the sources (every import the package
 * makes, whatever the build); test/coordinator-tf-free.test.ts checks a real
 * `pfedlora coordinator` process.
 */
const forbidden = (what: string) => () => {
  throw new Error(`the coordinator's module graph reached ${what}: import the algorithms' server halves from '@pfedlora/ml/server' instead (docs/architecture.md, "Algorithm plug-ins")`);
};

jest.doMock('@tensorflow/tfjs-core', forbidden('@tensorflow/tfjs-core'));
jest.doMock('@tensorflow/tfjs-backend-cpu', forbidden('@tensorflow/tfjs-backend-cpu'));
jest.doMock('@tensorflow/tfjs-backend-wasm', forbidden('@tensorflow/tfjs-backend-wasm'));
jest.doMock('@pfedlora/ml', forbidden("@pfedlora/ml's full index"));

test('the coordinator package loads without tfjs and without the full @pfedlora/ml', () => {
  jest.isolateModules(() => {
    const coordinator = require('@pfedlora/coordinator') as typeof import('./index');
    expect(typeof coordinator.startCoordinator).toBe('function');
  });
});

test('the guard works: @pfedlora/ml/server is allowed, the full index is not', () => {
  jest.isolateModules(() => {
    const server = require('@pfedlora/ml/server') as typeof import('@pfedlora/ml/server');
    expect(server.getServerAlgorithm('fedkd').name).toBe('fedkd');
    expect(() => require('@pfedlora/ml')).toThrow(/full index/);
  });
});
