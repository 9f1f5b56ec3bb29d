/** One jest run over every package. Tests sit beside the code (`*.test.ts`);
 * end-to-end tests with real processes live in test/. Workspace imports map to
 * sources so a test never runs against a stale build; spawned processes use the
 * build that `npm test` makes first (pretest). */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  moduleNameMapper: {
    '^@pfedlora/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
  },
  testTimeout: 60000,
};
