// The AWS SDK warns once per process that its 2027 releases need Node 22 (Lambda runs nodejs22.x;
// this machine and CI run Node 20). In tests that is noise repeated by every worker; the SDK's own
// switch turns off that one warning and leaves every other one.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Type checking is `tsc` in `npm test`; here only transpile, which keeps the suite fast.
    '^.+\\.tsx?$': '<rootDir>/__tests__/fixtures/esbuild-transform.js',
  },
  globalSetup: '<rootDir>/__tests__/global-setup.ts',
  // Fails the run when a test left anything in the temporary folder (a folder of the run's own).
  globalTeardown: '<rootDir>/__tests__/global-teardown.ts',
  setupFilesAfterEnv: ['<rootDir>/__tests__/fixtures/jest-setup.ts'],
  testTimeout: 60000,
  // Builds and browsers share 2 cores; more workers only contend.
  maxWorkers: 2,
  // No suite leaves a handle open: at the end each worker's event loop is empty within ~20 ms. But
  // every test file loads its own copy of the SDK, cdktf and the bundles, and V8 collects lazily, so
  // a worker that ran 30-40 files ended with 500 MB-1 GB of heap (mostly garbage), and freeing that
  // when the process exits took longer than the 500 ms jest waits before it kills a worker and
  // reports "failed to exit gracefully". A worker whose heap is over this after a file is replaced
  // before its next one, so at the end a worker holds little more than its last file's heap (jest
  // runs the heavy, slow files first). Measured: 240 MB and 120 MB at the end, exits in < 300 ms.
  workerIdleMemoryLimit: '300MB',
};
