import { configDefaults, defineProject } from 'vitest/config';

// The WebRTC browser tests (`*.media.test.ts`) belong to the transcoder-media project
// (vitest.media.config.ts), which runs inside a private network namespace.
export default defineProject({
  test: { name: 'transcoder', include: ['src/**/*.test.ts'], exclude: [...configDefaults.exclude, 'src/**/*.media.test.ts'], testTimeout: 60_000 },
});
