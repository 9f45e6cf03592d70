// `npm run typecheck`: tsc over every workspace's own tsconfig (each extends the root base config).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { log } from './lib/log.mjs';
import { run } from './lib/run.mjs';
import { repoRoot } from './setup.mjs';

const projects = ['.', 'packages/contracts', 'packages/local-cloud', 'packages/test-support', 'edge-api', 'edge-api/tsconfig.workers.json', 'sfu', 'transcoder', 'web', 'bench'];
let failed = 0;
// kit generates the tsconfig that web's extends (node_modules/$app/tsconfig.json): make it first.
await run(process.execPath, [join(repoRoot, 'node_modules', '@sveltejs', 'kit', 'svelte-kit.js'), 'sync'], { cwd: join(repoRoot, 'web') });
for (const project of projects.filter((p) => existsSync(p.endsWith('.json') ? join(repoRoot, p) : join(repoRoot, p, 'tsconfig.json')))) {
  try {
    await run(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { cwd: repoRoot });
    log.ok(`types check in ${project}`);
  } catch {
    failed++;
    log.fail(`type errors in ${project}`);
  }
}
process.exit(failed ? 1 : 0);
