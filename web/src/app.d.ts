import type { User } from '@mytaek1/contracts';
import type { ApiClient } from './lib/api.ts';

declare global {
  namespace App {
    interface Locals {
      /** The typed edge API client for this request, set by `handle` in hooks.server.ts. */
      api: ApiClient;
      /** Set-Cookie headers of edge API answers (sign-in, sign-out), passed to the browser as they are; see lib/session.ts. */
      edgeApiSetCookies: string[];
      /** Markup for the very top of <head>, set by a page's server load: see lib/headStart.ts. */
      headStart?: string;
    }
  }
}

export {};
