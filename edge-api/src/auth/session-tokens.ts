import type { SessionTokens } from '../domain/accounts.ts';

/** 256-bit random session tokens, stored only as their SHA-256 (hex). */
export const webCryptoSessionTokens: SessionTokens = {
  async issue() {
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    const token = btoa(String.fromCharCode(...bytes)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
    return { token, id: await sha256Hex(token) };
  },
  idOf: sha256Hex,
};

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
