import { defineProject } from 'vitest/config';

// The load generators' own building blocks (the benchmarks themselves run with `npm run bench`).
export default defineProject({ test: { name: 'bench', include: ['lib/**/*.test.ts'] } });
