import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { staticValue } from '../shell/word.js';
import type { HttpRequestSpec } from '../steps/kind.js';

export interface HttpResult {
  status: number;
  body: string;
  error?: string;
}

/**
 * One HTTP request from the controller, no keep-alive, bounded by `timeoutMs`; never throws:
 * connection errors come back as status 0 with `error`. Example: `await sendHttp({ url, method: 'GET', headers: {}, insecure: false }, 5000)`.
 */
export function sendHttp(
  spec: HttpRequestSpec,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<HttpResult> {
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(spec.url);
    } catch {
      resolve({ status: 0, body: '', error: `invalid URL ${spec.url}` });
      return;
    }
    const headers = Object.fromEntries(
      Object.entries(spec.headers).map(([k, v]) => [k, staticValue(v, true)]),
    );
    const body = spec.body === undefined ? undefined : staticValue(spec.body, true);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method: spec.method,
        headers: { connection: 'close', ...headers },
        agent: false,
        timeout: timeoutMs,
        ...(url.protocol === 'https:' ? { rejectUnauthorized: !spec.insecure } : {}),
        ...(signal ? { signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= 1 << 20) chunks.push(c);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', (e) => resolve({ status: 0, body: '', error: e.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs}ms`)));
    req.on('error', (e) => resolve({ status: 0, body: '', error: e.message }));
    if (body !== undefined) req.write(body);
    req.end();
  });
}
