import { defineProject } from 'vitest/config';

// No sveltekit() plugin here: the tests drive the production build (`node build/index.js`) and pure
// modules, so they need none of kit's virtual modules, and kit's plugin would start its own sync.
export default defineProject({
  // WebRTC tests (*.media.test.ts) run in their own project inside a network namespace.
  test: { name: 'web', include: ['src/**/*.test.ts'], exclude: ['src/**/*.media.test.ts'], testTimeout: 60_000, hookTimeout: 180_000 },
});
