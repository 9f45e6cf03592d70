import { defineProject } from 'vitest/config';

// WebRTC in Chromium against the sfu: run inside a private network namespace (scripts/netns-run.sh,
// MYTAEK1_MEDIA_TESTS=1), where Chromium and mediasoup share a loopback of their own.
export default defineProject({ test: { name: 'sfu-media', include: ['src/**/*.media.test.ts'], testTimeout: 90_000, hookTimeout: 90_000 } });
