/**
 * Whether a driver error is a unique-key violation: Postgres (PGlite, Neon) reports SQLSTATE 23505;
 * MySQL through PlanetScale's HTTP driver reports error 1062, "Duplicate entry".
 */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if ('code' in error && error.code === '23505') return true;
  const message = 'message' in error && typeof error.message === 'string' ? error.message : '';
  return /duplicate entry|\b1062\b|unique constraint/i.test(message);
}
