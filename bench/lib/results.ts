import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const resultsDir = join(import.meta.dirname, '..', 'results');

/** Writes a benchmark's figures to bench/results/<name>.json, which RESULTS.md quotes; returns the path. */
export function writeBenchResult(name: string, result: unknown): string {
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, `${name}.json`);
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}
