/**
 * CORS for browser clients on another origin. DPoP clients send a `DPoP` header (allowed here)
 * and must read `WWW-Authenticate` and `DPoP-Nonce` (and `Retry-After`) from responses: a
 * browser hides every response header that is not exposed, so a client would never see the
 * nonce it must retry with.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

/** Request headers a scopegate client sends: the token, the DPoP proof, tRPC's own. */
export const ALLOWED_HEADERS = ['authorization', 'content-type', 'dpop', 'trpc-accept'] as const;
/** Response headers a scopegate client reads. */
export const EXPOSED_HEADERS = ['WWW-Authenticate', 'DPoP-Nonce', 'Retry-After'] as const;

export interface CorsOptions {
  /** Origins allowed to call the API, or `'*'` (tokens travel in headers, never in cookies). @default '*' */
  readonly origin?: '*' | readonly string[];
}

/** Wraps a request listener: answers preflights, adds the CORS headers to every response. */
export function withCors(listener: RequestListener, options: CorsOptions = {}): RequestListener {
  const origins = options.origin ?? '*';
  return (req: IncomingMessage, res: ServerResponse) => {
    const origin = req.headers.origin;
    if (origins === '*') res.setHeader('access-control-allow-origin', '*');
    else {
      res.setHeader('vary', 'Origin');
      if (origin !== undefined && origins.includes(origin))
        res.setHeader('access-control-allow-origin', origin);
    }
    res.setHeader('access-control-expose-headers', EXPOSED_HEADERS.join(', '));
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      res.writeHead(204, {
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers': ALLOWED_HEADERS.join(', '),
        'access-control-max-age': '600',
      });
      res.end();
      return;
    }
    listener(req, res);
  };
}
