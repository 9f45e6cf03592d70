/**
 * Markup a page puts before anything else in <head>, ahead of the stylesheets and the app's scripts
 * (which an inline script in the body would wait for): a page's server load sets
 * `locals.headStart`, and `handle` (hooks.server.ts) writes it where app.html has the marker.
 */
export const HEAD_START_MARKER = '<!-- head-start -->';

/** `html` with the marker replaced by `markup` (or by nothing). */
export function fillHeadStart(html: string, markup: string | undefined): string {
  return html.replace(HEAD_START_MARKER, () => markup ?? '');
}
