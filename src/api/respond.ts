import type { ServerResponse } from 'node:http';
import { stringify } from 'yaml';
import type { Output } from './negotiate.js';
import type { Status } from './status.js';

/** sendObject writes a response body as the client asked: JSON, or YAML. */
export function sendObject(res: ServerResponse, code: number, body: unknown, output?: Pick<Output, 'encoding'>): void {
  const yaml = output?.encoding === 'yaml';
  const text = yaml ? stringify(body) : `${JSON.stringify(body)}\n`;
  res.writeHead(code, { 'Content-Type': yaml ? 'application/yaml' : 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' });
  res.end(text);
}

/**
 * sendStatus writes a Status as the body of an error (or of a DELETE). A refusal sent before the
 * request body was read closes the connection, so an unread (possibly huge) body is not drained.
 */
export function sendStatus(res: ServerResponse, status: Status, { closeConnection = false } = {}): void {
  if (closeConnection) res.setHeader('Connection', 'close');
  sendObject(res, status.code, status);
}
