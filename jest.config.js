/** One jest run over every package. Tests sit beside the code (`*.test.ts`);
 * end-to-end tests with real processes live in test/. Workspace imports map to
 * sources so a test never runs against a stale build; spawned processes use the
 * build that `npm test` makes first (pretest).
 *
 * Each run gets one temporary folder (TMPDIR for the tests and the processes
 * they spawn), removed at the end, kept when a test failed (test/tmp-run.ts).
 * Tests that need a Debian package skip, naming it, where it is missing
 * (test/system-packages.ts). */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  moduleNameMapper: {
    '^@pfedlora/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
    '^@pfedlora/ml/server$': '<rootDir>/packages/ml/src/server.ts',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
  },
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  setupFiles: ['<rootDir>/test/jest-setup.ts'],
  reporters: ['default', '<rootDir>/test/tmp-reporter.js'],
  testTimeout: 60000,
};
