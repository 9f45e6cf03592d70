import type { Problem } from '@mytaek1/contracts';
import type { DomainErrorCode } from './domain/errors.ts';

/** RFC 9457 problem documents: one JSON shape for every error the API returns. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const STATUS_BY_CODE: Record<DomainErrorCode, { status: number; title: string }> = {
  invalid: { status: 400, title: 'Invalid request' },
  unauthenticated: { status: 401, title: 'Not signed in' },
  forbidden: { status: 403, title: 'Not allowed' },
  not_found: { status: 404, title: 'Not found' },
  conflict: { status: 409, title: 'Conflict' },
  rate_limited: { status: 429, title: 'Too many attempts' },
  unavailable: { status: 503, title: 'Temporarily unavailable' },
};

/** `reason` names a finer problem type (`sold-out`) than the status alone; clients switch on `type`. */
export function problemFor(code: DomainErrorCode, detail: string, errors?: Problem['errors'], reason?: string): Problem {
  const { status, title } = STATUS_BY_CODE[code];
  return { type: `https://mytaek1.dev/problems/${reason ?? code.replace('_', '-')}`, title, status, detail, ...(errors ? { errors } : {}) };
}

export function problemResponse(problem: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(problem), { status: problem.status, headers: { 'content-type': PROBLEM_CONTENT_TYPE, ...headers } });
}
