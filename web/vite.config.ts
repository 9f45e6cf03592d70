import adapter from '@sveltejs/adapter-node';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

// SvelteKit 3 reads its configuration from here only: a svelte.config.js would make the build fail.
export default defineConfig({
  plugins: [
    sveltekit({
      // `node build/index.js` serves the app; PORT, HOST and EDGE_API_URL come from the environment.
      adapter: adapter({ out: 'build' }),
    }),
  ],
});
