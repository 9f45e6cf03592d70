import { spawnSync } from 'node:child_process';
import { log } from './log.mjs';
import { commandExists, run } from './run.mjs';

let updated = false;

// Another apt-get (an unattended upgrade, a second setup) may hold the dpkg lock for a while: wait
// for it instead of failing the whole setup.
const LOCK_TIMEOUT = ['-o', 'DPkg::Lock::Timeout=600'];

/** True when this process may install Debian packages itself: root on a machine with apt-get. */
export function canUseApt() {
  return process.getuid?.() === 0 && commandExists('apt-get');
}

export function isInstalled(debianPackage) {
  const result = spawnSync('dpkg-query', ['-W', '-f=${Status}', debianPackage], { encoding: 'utf8' });
  return result.status === 0 && result.stdout.includes('install ok installed');
}

/**
 * Installs the Debian packages that are missing, or says exactly what to run where we cannot
 * (not root, or not Debian/Ubuntu). `why` tells the newcomer what each package is for.
 */
export async function ensureDebianPackages(packages, why) {
  const missing = packages.filter((p) => !isInstalled(p));
  if (missing.length === 0) return;
  if (!canUseApt()) {
    throw new Error(
      `${why} needs Debian packages that are not installed: ${missing.join(' ')}.\n` +
        `  Install them with: sudo apt-get install -y ${missing.join(' ')}`,
    );
  }
  log.step(`installing ${missing.join(', ')} with apt-get (${why})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!updated) {
    await run('apt-get', [...LOCK_TIMEOUT, 'update', '-qq'], { env });
    updated = true;
  }
  await run('apt-get', [...LOCK_TIMEOUT, 'install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
}
