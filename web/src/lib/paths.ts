/**
 * Kit's `resolve()` answers relative paths while the server renders ("./login" on /studio,
 * "../login" on /shows/…), which is right for links in the page but not for a redirect target
 * or a `?redirectTo=` value, which must read the same from any page.
 */
export function absolutePath(resolved: string, here: URL): string {
  const url = new URL(resolved, here);
  return `${url.pathname}${url.search}${url.hash}`;
}
