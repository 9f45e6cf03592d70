import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** What a stand-in server saw of one request. */
export interface SeenRequest {
  method: string | undefined;
  url: string | undefined;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

/**
 * A stand-in for another service (the edge API) on loopback, for the transcoder's HTTP clients'
 * tests: it records every request and answers with `answer`, which a test sets (204 by default).
 */
const noContent = (response: ServerResponse): void => void response.writeHead(204).end();

export class StandInServer {
  readonly seen: SeenRequest[] = [];
  answer: (response: ServerResponse) => void = noContent;
  readonly #server: Server;
  readonly url: string;

  private constructor(server: Server, url: string) {
    this.#server = server;
    this.url = url;
  }

  static async start(): Promise<StandInServer> {
    let standIn: StandInServer | undefined;
    const server = createServer((request: IncomingMessage, response: ServerResponse) => {
      let body = '';
      request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        standIn!.seen.push({ method: request.method, url: request.url, authorization: request.headers.authorization, contentType: request.headers['content-type'], body });
        standIn!.answer(response);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    standIn = new StandInServer(server, `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
    return standIn;
  }

  /** Forgets what it saw and answers 204 again. */
  reset(): void {
    this.seen.length = 0;
    this.answer = noContent;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
