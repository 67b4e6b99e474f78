/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728): the document that tells clients (MCP clients,
 * AI agents) which authorization servers issue tokens for this API, and how to present them. It is
 * derived from the verifier's configuration, so it cannot drift from what the verifier accepts.
 */
import type { Algorithm } from './algorithms.js';
import { isAllowedUrl } from './http.js';
import type { ScopeAlternatives } from './scopes.js';
import type { Verifier } from './types.js';
import { settingsOf } from './verifier.js';

/** The well-known path segment of RFC 9728 3. */
const WELL_KNOWN = '/.well-known/oauth-protected-resource';

/** DPoP proof algorithms accepted when the verifier names none (DESIGN.md, DPoP). */
const DEFAULT_DPOP_ALGORITHMS: readonly Algorithm[] = ['ES256', 'EdDSA', 'Ed25519', 'PS256', 'RS256'];

// The document is public and changes only with a deployment.
const CACHE_CONTROL = 'public, max-age=3600';

/**
 * Where `scopes_supported` comes from: a list of scopes, or the output of `describeProcedures`
 * (scopegate/trpc) or `describeSchema` (scopegate/graphql), read structurally.
 */
export type ScopeSource =
  | readonly string[]
  | readonly {
      readonly scopes?: ScopeAlternatives | readonly ScopeAlternatives[] | undefined;
    }[];

/** Options of {@link protectedResourceMetadata}. */
export interface ProtectedResourceMetadataOptions {
  /**
   * The API's resource identifier (usually also its token audience): an absolute `https` URL
   * (`http` only on a loopback host) without query or fragment.
   */
  readonly resource: string;
  /** The verifier from `createVerifier`: its issuers become `authorization_servers`. */
  readonly verifier: Verifier<object>;
  /** `scopes_supported`: a list, or `await describeProcedures(router)` / `describeSchema(schema)`. */
  readonly scopes?: ScopeSource;
}

/** The RFC 9728 document. */
export interface ProtectedResourceMetadataDocument {
  readonly resource: string;
  readonly authorization_servers: readonly string[];
  readonly scopes_supported?: readonly string[];
  readonly bearer_methods_supported: readonly ['header'];
  readonly dpop_signing_alg_values_supported?: readonly string[];
  readonly dpop_bound_access_tokens_required?: true;
}

/** A fetch `Request`, or anything with a `method` and a `url` (a Node request's path-only url too). */
export interface MetadataRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
}

export interface ProtectedResourceMetadata {
  /** `/.well-known/oauth-protected-resource` followed by the resource's own path (RFC 9728 3.1). */
  readonly path: string;
  /** The absolute URL of the document, for the verifier's `resourceMetadata` option. */
  readonly url: string;
  readonly document: ProtectedResourceMetadataDocument;
  /**
   * Answers GET and HEAD of {@link path} with the JSON document (200, cacheable), other methods
   * there with 405; resolves to null for any other path.
   */
  handle(request: MetadataRequest): Promise<Response | null>;
}

// RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

function resourceUrl(value: unknown): URL {
  const problem =
    '"resource" option must be an absolute https URL (http only on a loopback host) without query or fragment';
  if (typeof value !== 'string' || !isAllowedUrl(value, true)) throw new TypeError(problem);
  const url = new URL(value);
  // `#` and `?` count even when empty: the identifier is compared as a string.
  if (value.includes('#') || value.includes('?')) throw new TypeError(problem);
  return url;
}

/** Every scope named in a list or in describeProcedures / describeSchema output, sorted, once. */
function scopesOf(source: unknown): string[] {
  if (!Array.isArray(source)) {
    throw new TypeError(
      '"scopes" option must be an array of scopes, or the output of describeProcedures/describeSchema',
    );
  }
  const found = new Set<string>();
  const collect = (value: unknown, depth: number): void => {
    if (typeof value === 'string') {
      if (!SCOPE_TOKEN.test(value))
        throw new TypeError(`"scopes" option: ${JSON.stringify(value)} is not a scope`);
      found.add(value);
    } else if (Array.isArray(value) && depth < 3) {
      for (const item of value) collect(item, depth + 1);
    } else if (value !== undefined) {
      throw new TypeError(
        '"scopes" option must be an array of scopes, or the output of describeProcedures/describeSchema',
      );
    }
  };
  for (const entry of source as unknown[]) {
    if (typeof entry === 'object' && entry !== null && !Array.isArray(entry)) {
      // describeProcedures: readonly ScopeAlternatives[]; describeSchema: ScopeAlternatives | undefined.
      collect((entry as { scopes?: unknown }).scopes, 0);
    } else {
      collect(entry, 2);
    }
  }
  return [...found].sort();
}

/** The verifier's DPoP mode and algorithms; the `dpop` option may be absent (then 'allowed'). */
function dpopOf(settings: object): { mode: string; algorithms: readonly string[] } {
  const dpop = (settings as { dpop?: unknown }).dpop;
  const record =
    typeof dpop === 'object' && dpop !== null ? (dpop as { mode?: unknown; algorithms?: unknown }) : {};
  const mode = typeof record.mode === 'string' ? record.mode : typeof dpop === 'string' ? dpop : 'allowed';
  const listed =
    typeof record.algorithms === 'object' &&
    record.algorithms !== null &&
    Symbol.iterator in record.algorithms
      ? [...(record.algorithms as Iterable<unknown>)].filter((alg): alg is string => typeof alg === 'string')
      : [];
  return { mode, algorithms: listed.length > 0 ? listed : DEFAULT_DPOP_ALGORITHMS };
}

/**
 * The RFC 9728 protected resource metadata of an API, from its verifier: `authorization_servers`
 * are the configured issuers, `scopes_supported` the scopes the API checks, `bearer_methods_supported`
 * the Authorization header, and the DPoP fields follow the verifier's DPoP mode. Serve it with
 * `handle` at `path` (for an MCP server at `https://api.example.com/mcp`:
 * `/.well-known/oauth-protected-resource/mcp`).
 *
 * @example
 * ```ts
 * import { protectedResourceMetadata } from 'scopegate';
 * const metadata = protectedResourceMetadata({ resource: 'https://api.example.com/mcp', verifier, scopes: ['notes:read'] });
 * // in a fetch handler:
 * const response = await metadata.handle(request);
 * if (response) return response;
 * ```
 * @throws TypeError naming the invalid option
 */
export function protectedResourceMetadata(
  options: ProtectedResourceMetadataOptions,
): ProtectedResourceMetadata {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('protectedResourceMetadata() needs { resource, verifier, scopes? }');
  }
  for (const key of Object.keys(options)) {
    if (key !== 'resource' && key !== 'verifier' && key !== 'scopes') {
      throw new TypeError(`"${key}" is not a protectedResourceMetadata option`);
    }
  }
  const url = resourceUrl(options.resource);
  const settings = settingsOf(options.verifier);
  if (!settings) throw new TypeError('"verifier" option must be a verifier from createVerifier()');
  const scopes = options.scopes === undefined ? undefined : scopesOf(options.scopes);
  const dpop = dpopOf(settings);

  const document: ProtectedResourceMetadataDocument = Object.freeze({
    resource: options.resource,
    authorization_servers: Object.freeze([...settings.issuers.keys()]),
    ...(scopes && { scopes_supported: Object.freeze(scopes) }),
    bearer_methods_supported: Object.freeze(['header'] as const),
    ...(dpop.mode !== 'disabled' && {
      dpop_signing_alg_values_supported: Object.freeze([...dpop.algorithms]),
    }),
    ...(dpop.mode === 'required' && { dpop_bound_access_tokens_required: true as const }),
  });
  // RFC 9728 3.1: the well-known segment goes between the host and the resource's path.
  const path = url.pathname === '/' ? WELL_KNOWN : `${WELL_KNOWN}${url.pathname}`;
  const body = JSON.stringify(document);

  return {
    path,
    url: new URL(path, url.origin).href,
    document,
    async handle(request) {
      let pathname: string;
      try {
        pathname = new URL(request.url ?? '', url.origin).pathname;
      } catch {
        return null;
      }
      if (pathname !== path) return null;
      const method = (request.method ?? 'GET').toUpperCase();
      if (method !== 'GET' && method !== 'HEAD') {
        return new Response(null, { status: 405, headers: { allow: 'GET, HEAD' } });
      }
      return new Response(method === 'HEAD' ? null : body, {
        status: 200,
        headers: {
          'content-type': 'application/json',
          'cache-control': CACHE_CONTROL,
          // Public, credential-free data: browser-based clients may read it from any origin.
          'access-control-allow-origin': '*',
        },
      });
    },
  };
}
