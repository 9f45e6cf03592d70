import { defineProject } from 'vitest/config';

// RTMP to WebRTC in Chromium through the real sfu: run inside a private network namespace
// (scripts/netns-run.sh, MYTAEK1_MEDIA_TESTS=1), where Chromium and mediasoup share a loopback of their own.
export default defineProject({ test: { name: 'transcoder-media', include: ['src/**/*.media.test.ts'], testTimeout: 90_000, hookTimeout: 90_000 } });
