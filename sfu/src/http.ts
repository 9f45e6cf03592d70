import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Problem } from '@mytaek1/contracts';

/** The bearer token of a request's Authorization header, if it has one. */
export function bearerOf(request: IncomingMessage): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
}

/** Compares two secrets in constant time (over their digests, so their lengths do not leak either). */
export function secretsEqual(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The request body as text, or undefined when it is longer than `maxBytes` (the rest is not read). */
export async function readBody(request: IncomingMessage, maxBytes: number): Promise<string | undefined> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { ...headers, 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

/** Errors in the project's one shape: RFC 9457 problem details. */
export function sendProblem(response: ServerResponse, status: number, title: string, detail?: string, headers: Record<string, string> = {}): void {
  const problem: Problem = { type: 'about:blank', title, status, ...(detail ? { detail } : {}) };
  response.writeHead(status, { ...headers, 'content-type': 'application/problem+json', 'cache-control': 'no-store' }).end(JSON.stringify(problem));
}
