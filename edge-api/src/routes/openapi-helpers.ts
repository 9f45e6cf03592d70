import { Problem } from '@mytaek1/contracts';
import type { z } from '@hono/zod-openapi';

/** Response and body descriptors shared by every route file. */
export const json = <T extends z.ZodType>(schema: T) => ({ 'application/json': { schema } });
export const jsonBody = <T extends z.ZodType>(schema: T) => ({ body: { required: true, content: json(schema) } });
export const ok = <T extends z.ZodType>(description: string, schema: T) => ({ description, content: json(schema) });
export const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: Problem } } });

/** The failures every signed-in write can meet. */
export const writeProblems = {
  400: problem('Invalid input'),
  401: problem('Not signed in'),
  403: problem('Not allowed'),
} as const;
