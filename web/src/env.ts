import { defineEnvVars } from '@sveltejs/kit/env';

/**
 * The environment the web server reads when it starts (`node build/index.js`). In SvelteKit 3 only
 * variables declared here reach `$app/env/private`; `$env/dynamic/private` is deprecated and is empty
 * for anything not declared here.
 */
export const variables = defineEnvVars({
  EDGE_API_URL: {
    description: 'Where this server reaches the edge API (server-side loads and the /api proxy).',
    schema: (value) => {
      const url = value || 'http://127.0.0.1:8787';
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new Error(`EDGE_API_URL must be an absolute http(s) URL, got ${JSON.stringify(url)}`);
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
        throw new Error(`EDGE_API_URL must use http or https, got ${JSON.stringify(url)}`);
      }
      // One spelling without a trailing slash, so paths can be appended to it.
      return url.replace(/\/+$/, '');
    },
  },
  REALTIME_PUBLIC_URL: {
    description:
      'Where browsers open the edge API’s realtime rooms (ws(s) or http(s) URL). Unset: the page’s host on EDGE_API_URL’s port when EDGE_API_URL is loopback, else EDGE_API_URL.',
    schema: (value) => {
      const url = value?.trim();
      if (!url) return undefined;
      // The same check lib/realtime/roomUrl.ts makes, here so that a bad value stops the server at start.
      if (!URL.canParse(url) || !['ws:', 'wss:', 'http:', 'https:'].includes(new URL(url).protocol)) {
        throw new Error(`REALTIME_PUBLIC_URL must be an absolute ws(s) or http(s) URL, got ${JSON.stringify(url)}`);
      }
      return url;
    },
  },
});
