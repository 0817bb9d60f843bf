import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';

/** RouteContext is what a route handler gets: the request, the response and the parsed URL. */
export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** Named groups of the route's pattern. */
  params: Record<string, string>;
}

/** Route maps a method and a path pattern (a string for an exact path, or a RegExp) to a handler. */
export interface Route {
  method: string | '*';
  path: string | RegExp;
  handle(ctx: RouteContext): void | Promise<void>;
}

/** HttpServer serves routes that feature modules contribute (health, env files, the API...). */
export interface HttpServer {
  listen(host: string, port: number): Promise<AddressInfo>;
  close(): Promise<void>;
}

/**
 * createHttpServer builds the HTTP side of `serve`; routes are matched in order. With `tls` (PEM
 * certificate and key) it speaks HTTPS: kubectl sends bearer tokens only over https.
 */
export function createHttpServer({ log, routes, tls }: { log: Logger; routes: readonly Route[]; tls?: { cert: string; key: string } }): HttpServer {
  const httpLog = log.child({ module: 'http' });
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    for (const route of routes) {
      if (route.method !== '*' && route.method !== req.method) continue;
      const params = matchPath(route.path, url.pathname);
      if (!params) continue;
      Promise.resolve()
        .then(() => route.handle({ req, res, url, params }))
        .catch((err: unknown) => {
          httpLog.error({ err, path: url.pathname }, 'HTTP handler failed');
          if (!res.headersSent) sendText(res, 500, 'internal error\n');
          else res.destroy();
        });
      return;
    }
    sendText(res, 404, '404 page not found\n');
  };
  const server = tls ? https.createServer({ cert: tls.cert, key: tls.key }, handler) : http.createServer(handler);
  server.on('clientError', (_err, socket) => socket.destroy());
  // Slow clients (slowloris) cannot hold a connection: headers within 10 s, the whole request
  // (body included) within 30 s. Responses, such as watch streams, are not bounded by these.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  return {
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function matchPath(pattern: string | RegExp, path: string): Record<string, string> | null {
  if (typeof pattern === 'string') return pattern === path ? {} : null;
  const m = pattern.exec(path);
  return m ? { ...(m.groups ?? {}) } : null;
}

/** sendText writes a text response. */
export function sendText(res: ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** sendJson writes a JSON response. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, `${JSON.stringify(body)}\n`, 'application/json');
}

/** readBody reads a request body up to `limit` bytes; null when it is larger (the caller answers 413). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
