// The web app's production server for `npm start` and self-hosting: adapter-node's handler, told
// the scheme of each request. adapter-node assumes https unless PROTOCOL_HEADER names a header, and
// kit then refuses same-origin form posts made over plain http as cross-site. A TLS-terminating
// proxy in front sets X-Forwarded-Proto itself; served directly, the connection's own scheme is used.
import { createServer } from 'node:http';
import { handler } from './build/handler.js';

process.env.PROTOCOL_HEADER ||= 'x-forwarded-proto';
const header = process.env.PROTOCOL_HEADER.toLowerCase();
const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 3000);

const server = createServer((req, res) => {
  req.headers[header] ??= 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
  handler(req, res);
});
server.listen(port, host, () => console.log(`Listening on http://${host}:${port}`));
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => server.close(() => process.exit(0)));
