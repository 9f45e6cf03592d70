import { hc } from 'hono/client';
import type { AppType } from './app.ts';

/** The typed client that `web` (and any TypeScript integrator) uses: request and response shapes come from the routes. */
export function createApiClient(baseUrl: string, options?: Parameters<typeof hc>[1]) {
  return hc<AppType>(baseUrl, options);
}

export type ApiClient = ReturnType<typeof createApiClient>;
