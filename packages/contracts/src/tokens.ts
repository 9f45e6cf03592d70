import { z } from 'zod';
import { Id } from './ids.ts';

/**
 * Admission tokens: compact JWTs (HS256) that the edge API signs and the sfu, the transcoder and the
 * realtime rooms verify with a shared secret. Web Crypto only, so the same code runs on Workers,
 * Node and in the browser (which never holds the secret, but may decode its own token).
 */
export const TokenAudience = z.enum(['sfu', 'realtime']);
export type TokenAudience = z.infer<typeof TokenAudience>;

export const AdmissionClaims = z.object({
  aud: TokenAudience,
  /** The user this token admits; anonymous viewers get a random `anon:` subject. */
  sub: z.string().min(1).max(64),
  show: Id,
  role: z.enum(['publisher', 'viewer', 'moderator']),
  /** Display name for chat and stats. */
  name: z.string().max(64).optional(),
  iat: z.int(),
  exp: z.int(),
});
export type AdmissionClaims = z.infer<typeof AdmissionClaims>;

export type TokenFailure = 'malformed' | 'bad_signature' | 'expired' | 'wrong_audience';
export type TokenResult<T> = { ok: true; claims: T } | { ok: false; reason: TokenFailure };

const encoder = new TextEncoder();
const HEADER = base64url(encoder.encode(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));

export async function signToken(claims: AdmissionClaims, secret: string): Promise<string> {
  const payload = base64url(encoder.encode(JSON.stringify(AdmissionClaims.parse(claims))));
  const signature = await crypto.subtle.sign('HMAC', await hmacKey(secret), encoder.encode(`${HEADER}.${payload}`));
  return `${HEADER}.${payload}.${base64url(new Uint8Array(signature))}`;
}

/** Issues a token valid for `ttlSeconds` from `now` (milliseconds). */
export function issueToken(
  claims: Omit<AdmissionClaims, 'iat' | 'exp'>,
  secret: string,
  { ttlSeconds, now = Date.now() }: { ttlSeconds: number; now?: number },
): Promise<string> {
  const iat = Math.floor(now / 1000);
  return signToken({ ...claims, iat, exp: iat + ttlSeconds }, secret);
}

export async function verifyToken(
  token: string,
  secret: string,
  { audience, now = Date.now() }: { audience: TokenAudience; now?: number },
): Promise<TokenResult<AdmissionClaims>> {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== HEADER) return { ok: false, reason: 'malformed' };
  const [, payload, signature] = parts as [string, string, string];
  const signatureBytes = fromBase64url(signature);
  if (!signatureBytes) return { ok: false, reason: 'malformed' };
  // crypto.subtle.verify compares in constant time.
  const valid = await crypto.subtle.verify('HMAC', await hmacKey(secret), signatureBytes, encoder.encode(`${HEADER}.${payload}`));
  if (!valid) return { ok: false, reason: 'bad_signature' };
  const payloadBytes = fromBase64url(payload);
  if (!payloadBytes) return { ok: false, reason: 'malformed' };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(payloadBytes));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const parsed = AdmissionClaims.safeParse(json);
  if (!parsed.success) return { ok: false, reason: 'malformed' };
  if (parsed.data.exp * 1000 <= now) return { ok: false, reason: 'expired' };
  if (parsed.data.aud !== audience) return { ok: false, reason: 'wrong_audience' };
  return { ok: true, claims: parsed.data };
}

type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
const keys = new Map<string, Promise<HmacKey>>();
function hmacKey(secret: string): Promise<HmacKey> {
  if (secret.length < 32) throw new Error('token secret must be at least 32 characters');
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    keys.set(secret, key);
  }
  return key;
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** What the edge API hands a client that asks to join a show's media or realtime room. */
export const AdmissionGrant = z.object({
  token: z.string(),
  role: AdmissionClaims.shape.role,
  expiresAt: z.iso.datetime({ offset: false }),
});
export type AdmissionGrant = z.infer<typeof AdmissionGrant>;
