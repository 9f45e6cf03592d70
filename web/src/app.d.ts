import type { ApiClient } from './lib/api.ts';

declare global {
  namespace App {
    interface Locals {
      /** The typed edge API client for this request, set by `handle` in hooks.server.ts. */
      api: ApiClient;
    }
  }
}

export {};
