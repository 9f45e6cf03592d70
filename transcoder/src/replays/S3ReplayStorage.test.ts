import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3LocalServer } from '@mytaek1/local-cloud';
import { newId } from '@mytaek1/contracts';
import { AwsClient } from 'aws4fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleLogger } from '../logger.ts';
import { S3ReplayStorage } from './S3ReplayStorage.ts';

// aws4fetch, the client R2 documents, against packages/local-cloud's S3 endpoint, which checks
// Signature Version 4 as S3 does and serves the bucket publicly as a CDN would.

const credentials = { accessKeyId: 'replays-key', secretAccessKey: 'replays-secret-0123456789' };
const client = new AwsClient({ ...credentials, service: 's3', region: 'auto' });
let s3: S3LocalServer;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3-replays-'));
  s3 = await S3LocalServer.start({ dir: join(dir, 'bucket-store'), buckets: ['media'], ...credentials });
});
afterAll(async () => {
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

function storage(overrides: Partial<typeof credentials> = {}): S3ReplayStorage {
  return S3ReplayStorage.create({
    endpoint: s3.url,
    bucket: 'media',
    region: 'auto',
    ...credentials,
    ...overrides,
    publicUrl: `${s3.url}/media/`,
    logger: createConsoleLogger('silent'),
  });
}

/** A replay as HlsPipeline leaves it: the VOD playlist over two recorded parts. */
async function finalisedReplay(showId: string): Promise<string> {
  const replayDir = join(dir, 'replays', showId);
  for (const part of ['part-000', 'part-001']) {
    await mkdir(join(replayDir, part), { recursive: true });
    await writeFile(join(replayDir, part, 'init.mp4'), `init of ${part}`);
    await writeFile(join(replayDir, part, 'seg-00000.m4s'), Buffer.alloc(64 * 1024, part.length));
    await writeFile(join(replayDir, part, 'index.m3u8'), '#EXTM3U\n');
    // What FFmpeg leaves under a temporary name is never published.
    await writeFile(join(replayDir, part, 'seg-00001.m4s.tmp'), 'half a segment');
  }
  await writeFile(join(replayDir, 'index.m3u8'), '#EXTM3U\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-ENDLIST\n');
  return replayDir;
}

describe('S3ReplayStorage', () => {
  it('puts every file of a replay in the bucket with its type and cache lifetime, and answers the public playlist URL', async () => {
    const showId = newId();
    const replayDir = await finalisedReplay(showId);
    const url = await storage().put({ showId, dir: replayDir, playlistFile: 'index.m3u8' });
    expect(url).toBe(`${s3.url}/media/replays/${showId}/index.m3u8`);

    const playlist = await fetch(url);
    expect(playlist.status).toBe(200);
    expect(playlist.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(playlist.headers.get('cache-control')).toBe('public, max-age=10');
    expect(playlist.headers.get('access-control-allow-origin')).toBe('*');
    expect(await playlist.text()).toContain('#EXT-X-ENDLIST');
    const segment = await fetch(`${s3.url}/media/replays/${showId}/part-001/seg-00000.m4s`);
    expect(segment.headers.get('content-type')).toBe('video/iso.segment');
    expect(segment.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await segment.arrayBuffer()).byteLength).toBe(64 * 1024);
    expect(await (await fetch(`${s3.url}/media/replays/${showId}/part-000/init.mp4`)).text()).toBe('init of part-000');
    expect((await fetch(`${s3.url}/media/replays/${showId}/part-000/seg-00001.m4s.tmp`)).status).toBe(404);
  });

  it('puts a replay again after another publish: the new part and the playlist, not what is unchanged', async () => {
    const showId = newId();
    const replayDir = await finalisedReplay(showId);
    const replays = storage();
    await replays.put({ showId, dir: replayDir, playlistFile: 'index.m3u8' });
    // Another publish: a third part and a longer playlist.
    await mkdir(join(replayDir, 'part-002'));
    await writeFile(join(replayDir, 'part-002', 'init.mp4'), 'init of part-002');
    await writeFile(join(replayDir, 'index.m3u8'), '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-ENDLIST\n');
    // Removed from the bucket behind the storage's back: had it been uploaded again, it would be back.
    const unchanged = `${s3.url}/media/replays/${showId}/part-000/seg-00000.m4s`;
    expect((await client.fetch(unchanged, { method: 'DELETE' })).status).toBe(204);
    // A file that changed is uploaded again.
    await writeFile(join(replayDir, 'part-001', 'init.mp4'), 'init of part-001, rewritten');
    await utimes(join(replayDir, 'part-001', 'init.mp4'), new Date(), new Date(Date.now() + 5_000));
    await replays.put({ showId, dir: replayDir, playlistFile: 'index.m3u8' });
    expect(await (await fetch(`${s3.url}/media/replays/${showId}/part-002/init.mp4`)).text()).toBe('init of part-002');
    expect(await (await fetch(`${s3.url}/media/replays/${showId}/index.m3u8`)).text()).toContain('#EXT-X-VERSION:7');
    expect(await (await fetch(`${s3.url}/media/replays/${showId}/part-001/init.mp4`)).text()).toBe('init of part-001, rewritten');
    expect((await fetch(unchanged)).status).toBe(404);
  });

  it('fails loudly on credentials the store refuses, and the endpoint refuses unsigned and tampered writes', async () => {
    const showId = newId();
    const replayDir = await finalisedReplay(showId);
    await expect(storage({ secretAccessKey: 'not-the-secret' }).put({ showId, dir: replayDir, playlistFile: 'index.m3u8' })).rejects.toThrow(/403.*SignatureDoesNotMatch/s);
    expect((await fetch(`${s3.url}/media/replays/${showId}/index.m3u8`)).status).toBe(404);

    const objectUrl = `${s3.url}/media/replays/${showId}/stray.m4s`;
    expect((await fetch(objectUrl, { method: 'PUT', body: 'anonymous' })).status).toBe(403);
    // A payload hash that is signed must match the body.
    const hash = createHash('sha256').update('signed body').digest('hex');
    const signed = await client.sign(objectUrl, { method: 'PUT', body: 'signed body', headers: { 'x-amz-content-sha256': hash } });
    const tampered = await fetch(signed.url, { method: 'PUT', headers: signed.headers, body: 'another body' });
    expect(tampered.status).toBe(400);
    expect(await tampered.text()).toContain('XAmzContentSHA256Mismatch');
    // The signature covers the path: it does not write another key.
    const elsewhere = await fetch(`${s3.url}/media/replays/${showId}/other.m4s`, { method: 'PUT', headers: signed.headers, body: 'signed body' });
    expect(await elsewhere.text()).toContain('SignatureDoesNotMatch');
    expect((await fetch(signed.url, { method: 'PUT', headers: signed.headers, body: 'signed body' })).status).toBe(200);
    expect(await (await fetch(objectUrl)).text()).toBe('signed body');
    expect((await fetch(`${s3.url}/other-bucket/x`)).status).toBe(404);
    expect((await fetch(`${s3.url}/media/replays/..%2F..%2Fetc/passwd`)).status).toBe(400);
  });
});
