// `npm run bench -- <name>`: runs bench/<name>.ts, which prints a table and writes
// bench/results/<name>.json. Benchmarks of WebRTC between Chromium and the SFU run in a private
// network namespace, like their tests. Results are recorded by hand in bench/RESULTS.md.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { log } from './lib/log.mjs';
import { run } from './lib/run.mjs';
import { ensureServices } from './services.mjs';
import { repoRoot, setup } from './setup.mjs';

const IN_NETWORK_NAMESPACE = new Set(['webrtc-latency', 'first-frame', 'rtmp-latency', 'hls-latency']);
const available = readdirSync(join(repoRoot, 'bench')).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map((f) => f.slice(0, -3));
const name = process.argv[2];

if (!name || !available.includes(name)) {
  log.fail(`usage: npm run bench -- <name>, where <name> is one of: ${available.join(', ')}`);
  process.exit(2);
}
try {
  await setup({ browser: IN_NETWORK_NAMESPACE.has(name) });
  await ensureServices();
  const file = join(repoRoot, 'bench', `${name}.ts`);
  const args = [file, ...process.argv.slice(3)];
  if (IN_NETWORK_NAMESPACE.has(name)) await run('sh', [join(repoRoot, 'scripts', 'netns-run.sh'), process.execPath, ...args], { cwd: repoRoot });
  else await run(process.execPath, args, { cwd: repoRoot });
  if (existsSync(join(repoRoot, 'bench', 'results', `${name}.json`))) log.ok(`results in bench/results/${name}.json`);
} catch (error) {
  log.fail(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
