import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { AwsClient } from 'aws4fetch';
import { REPLAYS_AREA } from '../hls/mediaLayout.ts';
import { cacheControlFor, contentTypeFor } from '../http/HttpServer.ts';
import type { Logger } from '../logger.ts';
import type { FinalisedReplay, ReplayStorage } from './ReplayStorage.ts';

export interface S3ReplayStorageOptions {
  /** The S3 API endpoint, path-style: e.g. https://<account>.r2.cloudflarestorage.com, or MinIO's URL. */
  endpoint: string;
  bucket: string;
  /** `auto` for R2; the bucket's region for S3. */
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Where the bucket is read publicly (a CDN, R2's public bucket URL): the playlist URL starts with it. */
  publicUrl: string;
  /** Uploads in flight at once. */
  concurrency?: number;
  logger: Logger;
}

/**
 * Replays in any S3-compatible store (R2, S3, MinIO), signed with AWS Signature Version 4 by
 * aws4fetch. Objects are `replays/<showId>/...`, mirroring the local layout, with the content
 * types and cache lifetimes the transcoder's own HTTP server gives them. A show recorded over
 * several publishes is put again each time: files already uploaded unchanged are skipped, and the
 * playlist, which changed, goes last.
 */
export class S3ReplayStorage implements ReplayStorage {
  readonly kind = 's3';
  readonly #options: S3ReplayStorageOptions;
  readonly #client: AwsClient;
  readonly #endpoint: string;
  /** Object key -> `size:mtime` of the file last uploaded there. */
  readonly #uploaded = new Map<string, string>();

  private constructor(options: S3ReplayStorageOptions) {
    this.#options = options;
    this.#endpoint = options.endpoint.replace(/\/+$/, '');
    // Retries with backoff on 5xx and network errors are aws4fetch's own.
    this.#client = new AwsClient({ accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey, service: 's3', region: options.region, retries: 3 });
  }

  static create(options: S3ReplayStorageOptions): S3ReplayStorage {
    return new S3ReplayStorage(options);
  }

  async put(replay: FinalisedReplay): Promise<string> {
    const files = (await listFiles(replay.dir)).filter((path) => contentTypeFor(path) !== undefined);
    const playlist = join(replay.dir, replay.playlistFile);
    if (!files.includes(playlist)) throw new Error(`replay of show ${replay.showId}: no ${replay.playlistFile} in ${replay.dir}`);
    const media = files.filter((path) => path !== playlist);
    let next = 0;
    let uploaded = 0;
    const worker = async () => {
      while (next < media.length) {
        const path = media[next++]!;
        if (await this.#upload(replay, path)) uploaded++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#options.concurrency ?? 4, media.length) }, worker));
    await this.#upload(replay, playlist, true);
    this.#options.logger.info(`show ${replay.showId}: replay put in bucket ${this.#options.bucket} (${uploaded + 1} objects uploaded, ${media.length - uploaded} unchanged)`);
    return `${this.#options.publicUrl.replace(/\/+$/, '')}/${this.#keyOf(replay, playlist).split('/').map(encodeURIComponent).join('/')}`;
  }

  /** Uploads one file unless that same file was uploaded before; true when it was uploaded now. */
  async #upload(replay: FinalisedReplay, path: string, always = false): Promise<boolean> {
    const key = this.#keyOf(replay, path);
    const info = await stat(path);
    const version = `${info.size}:${info.mtimeMs}`;
    if (!always && this.#uploaded.get(key) === version) return false;
    const name = path.slice(path.lastIndexOf(sep) + 1);
    const url = `${this.#endpoint}/${encodeURIComponent(this.#options.bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`;
    const response = await this.#client.fetch(url, {
      method: 'PUT',
      body: await readFile(path),
      headers: { 'content-type': contentTypeFor(name) ?? 'application/octet-stream', 'cache-control': cacheControlFor(REPLAYS_AREA, name) },
    });
    if (!response.ok) throw new Error(`S3 PUT ${key} answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
    await response.body?.cancel();
    this.#uploaded.set(key, version);
    return true;
  }

  #keyOf(replay: FinalisedReplay, path: string): string {
    return [REPLAYS_AREA, replay.showId, ...relative(replay.dir, path).split(sep)].join('/');
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map(async (entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return listFiles(path);
      return entry.isFile() && !entry.name.endsWith('.tmp') ? [path] : [];
    }),
  );
  return nested.flat();
}
