/**
 * The measuring page of the glass-to-glass benchmarks: a browser bundle of `entry` (the app's own
 * media code and the canvas clock) behind a <video id="remote"> and a <canvas id="clock">, served on
 * 127.0.0.1 until `close()`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { servePage } from '@mytaek1/test-support';

export interface ClockPage {
  url: string;
  close(): Promise<void>;
}

export async function serveClockPage({ entry, title, workDir, videoSize = '320px;height:180px' }: { entry: string; title: string; workDir: string; videoSize?: string }): Promise<ClockPage> {
  await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    outfile: join(workDir, 'page.js'),
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  });
  const html = `<!doctype html><meta charset="utf-8"><title>${title}</title>
<style>body{margin:0;background:#222}video{width:${videoSize};display:block;background:#000}canvas{width:320px;height:180px}</style>
<video id="remote" autoplay muted playsinline></video><canvas id="clock"></canvas><script type="module" src="/page.js"></script>`;
  return servePage(html, { '/page.js': readFileSync(join(workDir, 'page.js')) });
}
