import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'test/integration/**', 'node_modules/**'],
    // One temporary folder per run (TMPDIR), removed at the end: a run leaves nothing in /tmp.
    globalSetup: ['scripts/vitest-tmpdir.mjs'],
    // onnxruntime-node is a native addon: run test files in child processes, not worker threads.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2 } },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
