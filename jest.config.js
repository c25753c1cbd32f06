/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Type checking is `tsc` in `npm test`; here only transpile, which keeps the suite fast.
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
  },
  globalSetup: '<rootDir>/__tests__/global-setup.ts',
  testTimeout: 60000,
  // Builds and browsers share 2 cores; more workers only contend.
  maxWorkers: 2,
};
