import { defineConfig } from 'vitest/config';

// One runner for the whole repo. Integration tests share one embedded Postgres
// (started in globalSetup) and run files one at a time: the machine has two cores.
export default defineConfig({
  test: {
    include: ['**/src/**/*.test.ts', 'bench/**/*.test.ts'],
    exclude: ['**/node_modules/**', '.syncscope/**'],
    globalSetup: ['core/src/testing/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks'
  }
});
