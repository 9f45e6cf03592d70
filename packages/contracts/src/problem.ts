import { z } from 'zod';

/** Every API error has this one shape: RFC 9457 problem details, plus field errors a form can show. */
export const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.int(),
  detail: z.string().optional(),
  instance: z.string().optional(),
  errors: z
    .array(z.object({ path: z.string(), message: z.string() }))
    .optional()
    .describe('Validation failures, one per offending field'),
});
export type Problem = z.infer<typeof Problem>;
