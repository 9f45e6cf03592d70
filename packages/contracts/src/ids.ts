import { z } from 'zod';

/** Application-generated, time-sortable identifiers (UUIDv7), so the same SQL works on MySQL and Postgres. */
export const Id = z.uuid({ version: 'v7', message: 'must be a UUIDv7 identifier' });
export type Id = z.infer<typeof Id>;

/** A new UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits. */
export function newId(now: number = Date.now()): Id {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  let ms = now;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms & 0xff;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = (bytes[6]! & 0x0f) | 0x70; // version 7
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
