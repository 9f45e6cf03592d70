/** An HTTP request the sfu refuses: its status, an RFC 9457 title, and headers to add (Allow, WWW-Authenticate...). */
export class HttpRefusal extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(status: number, title: string, headers: Record<string, string> = {}) {
    super(title);
    this.name = 'HttpRefusal';
    this.status = status;
    this.headers = headers;
  }
}
