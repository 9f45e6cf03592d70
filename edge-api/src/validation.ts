import { problemFor, problemResponse } from './problems.ts';

type ValidationResult =
  | { success: true }
  | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };

/** Turns a request that fails its zod schema into a 400 problem naming each offending field. */
export function validationHook(result: ValidationResult): Response | undefined {
  if (result.success) return undefined;
  const errors = result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(body)', message: issue.message }));
  const detail = errors.map((e) => `${e.path}: ${e.message}`).join('; ');
  return problemResponse(problemFor('invalid', detail, errors));
}
