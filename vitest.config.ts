import { defineConfig } from 'vitest/config';

// One run over every workspace: each workspace owns its vitest configs, naming its tests, which
// live beside the code they prove. WebRTC browser tests (`*-media` projects, vitest.media.config.ts)
// need Chromium and the SFU on a loopback of their own: scripts/test.mjs runs them in a private
// network namespace with MYTAEK1_MEDIA_TESTS=1, and everything else on the host.
const mediaOnly = process.env.MYTAEK1_MEDIA_TESTS === '1';

export default defineConfig({
  test: {
    projects: mediaOnly
      ? ['{edge-api,sfu,transcoder,web}/vitest.media.config.ts']
      : ['packages/*/vitest.config.ts', '{edge-api,sfu,transcoder,web}/vitest.{config,workers.config}.ts', 'bench/vitest.config.ts'],
    reporters: ['default', ['json', { outputFile: mediaOnly ? 'test-results/vitest-media.json' : 'test-results/vitest.json' }]],
  },
});
