/**
 * WebRTC between Chromium and the sfu on 127.0.0.1 needs a private network namespace
 * (scripts/netns-run.sh). A benchmark calls this first thing: outside a namespace it runs its own
 * script again inside one and exits with that run's code; inside, it calls `main`.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const repoRoot = join(import.meta.dirname, '..', '..');

export async function inNetworkNamespace(scriptPath: string, main: () => Promise<void>): Promise<void> {
  if (process.env.MYTAEK1_IN_NETNS === '1') {
    await main();
    return;
  }
  const child = spawn('sh', [join(repoRoot, 'scripts', 'netns-run.sh'), process.execPath, scriptPath, ...process.argv.slice(2)], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.once('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
