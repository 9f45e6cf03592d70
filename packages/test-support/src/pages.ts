import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ServedPage {
  /** `http://127.0.0.1:port/`: the page. */
  url: string;
  close(): Promise<void>;
}

/**
 * A test page on 127.0.0.1: `html` at `/`, and each of `scripts` (JavaScript, by path such as
 * `/page.js`) beside it; a favicon request gets an empty answer and anything else a 404.
 */
export async function servePage(html: string, scripts: Record<string, string | Buffer>): Promise<ServedPage> {
  const server = createServer((request, response) => {
    const script = request.url ? scripts[request.url] : undefined;
    if (request.url === '/') response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    else if (script !== undefined) response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(script);
    else if (request.url === '/favicon.ico') response.writeHead(204).end();
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
