import { issueToken, type AdmissionClaims, type TokenAudience } from '@mytaek1/contracts';

/** The secret the test sfu verifies with; tokens signed with anything else are forgeries. */
export const TEST_TOKEN_SECRET = 'sfu-tests-token-secret-at-least-32-characters';

export type TestTokenOptions = {
  audience?: TokenAudience;
  ttlSeconds?: number;
  /** Issue time in milliseconds; in the past for an expired token. */
  now?: number;
  secret?: string;
  sub?: string;
};

export function tokenFor(show: string, role: AdmissionClaims['role'], options: TestTokenOptions = {}): Promise<string> {
  const { audience = 'sfu', ttlSeconds = 300, now = Date.now(), secret = TEST_TOKEN_SECRET, sub = `${role}-${Math.random().toString(36).slice(2, 8)}` } = options;
  return issueToken({ aud: audience, sub, show, role }, secret, { ttlSeconds, now });
}
