import { defineProject } from 'vitest/config';

// The WebRTC browser tests (`*.media.test.ts`): Chromium and the sfu on a loopback of their own, so
// scripts/test.mjs runs this project inside a private network namespace (scripts/netns-run.sh).
export default defineProject({
  test: { name: 'web-media', include: ['src/**/*.media.test.ts'], testTimeout: 120_000, hookTimeout: 180_000 },
});
