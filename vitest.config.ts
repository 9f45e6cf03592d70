import { defineConfig } from 'vitest/config';

// One run over every workspace: each workspace owns a vitest.config.ts (defineProject) naming its
// tests, which live beside the code they prove.
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', '{edge-api,sfu,transcoder,web}/vitest.{config,workers.config}.ts'],
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
  },
});
