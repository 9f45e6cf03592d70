import { defineConfig } from 'vitest/config';

// One run over every workspace. Each project names its own test files; the slow, real-server and
// browser suites live beside the code they prove, like the unit tests.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'contracts', root: 'packages/contracts', include: ['src/**/*.test.ts'] } },
    ],
  },
});
