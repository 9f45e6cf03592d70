import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineProject } from 'vitest/config';

const TOKEN_SECRET = 'a-worker-test-secret-that-is-long-enough';

// The Worker build of the edge API, run in workerd by Cloudflare's own test pool, against MariaDB
// through PlanetScale's driver and the local endpoint that speaks its protocol.
export default defineProject({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: '../wrangler.toml' },
      miniflare: { bindings: { DATABASE_DRIVER: 'planetscale', DATABASE_URL: inject('planetscaleUrl'), TOKEN_SECRET } },
    })),
  ],
  test: {
    name: 'edge-api-worker',
    include: ['src/**/*.worker-test.ts'],
    globalSetup: ['src/testing/worker-global-setup.ts'],
  },
});
