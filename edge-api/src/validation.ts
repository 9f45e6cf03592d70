import type { Hook } from '@hono/zod-openapi';
import type { Env } from 'hono';
import { problemFor, problemResponse } from './problems.ts';

/** Turns a request that fails its zod schema into a 400 problem naming each offending field. */
export const validationHook: Hook<unknown, Env, string, unknown> = (result) => {
  if (result.success) return;
  const errors = result.error.issues.map((issue) => ({ path: issue.path.join('.') || '(body)', message: issue.message }));
  const detail = errors.map((e) => `${e.path}: ${e.message}`).join('; ');
  return problemResponse(problemFor('invalid', detail, errors));
};
