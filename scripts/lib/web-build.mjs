import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from '../setup.mjs';
import { elapsed, log } from './log.mjs';
import { run } from './run.mjs';

const webDir = join(repoRoot, 'web');
const stampFile = join(webDir, 'build', '.mytaek1-sources');

/** Hash of what the production build is made from: web's sources and config, the shared contracts, the lockfile. */
function sourcesFingerprint() {
  const hash = createHash('sha256');
  const inputs = [join(webDir, 'src'), join(webDir, 'static'), join(webDir, 'vite.config.ts'), join(repoRoot, 'packages', 'contracts', 'src'), join(repoRoot, 'edge-api', 'src'), join(repoRoot, 'package-lock.json')];
  const visit = (path) => {
    if (!existsSync(path)) return;
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path).sort()) visit(join(path, entry));
    } else {
      hash.update(`${relative(repoRoot, path)}:${stat.size}:${stat.mtimeMs}\n`);
    }
  };
  inputs.forEach(visit);
  return hash.digest('hex');
}

/** Builds web/build with vite unless it was already built from the same sources. */
export async function buildWebIfStale() {
  const fingerprint = sourcesFingerprint();
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === fingerprint) return;
  const startedAt = performance.now();
  log.step('building the web app (vite build)');
  await run(process.execPath, [join(repoRoot, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], { cwd: webDir });
  writeFileSync(stampFile, fingerprint);
  log.ok(`web app built (${elapsed(startedAt)})`);
}
