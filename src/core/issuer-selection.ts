/**
 * Per-request issuer selection (`selectIssuers`): which of the configured issuers one request
 * accepts, e.g. by a tenant header the gateway sets (Auth0 custom domains, multi-tenant APIs).
 *
 * The resolver only names issuers among the configured ones: a name it returns that is not
 * configured refuses the token (401 `invalid_issuer`, the name in the server-only `detail`) and
 * never reaches the network, so no URL is ever built from request input. Selecting nothing
 * (`undefined`, `null`, `[]`) refuses too: a forgotten header must not mean "any tenant". A
 * resolver that throws or returns something else is a server fault: 503, never an acceptance.
 */
import { CONNECTION, type ConnectionSource, type RequestLike } from './credentials.js';
import { AuthError } from './errors.js';

/** The issuers a request accepts: exact `iss` values of configured issuers. */
export type SelectedIssuers = string | readonly string[] | null | undefined;

/**
 * Chooses, per request, which configured issuers are acceptable. It receives the request the
 * adapter passed to `authenticate()` (a fetch `Request`, a Node request, or for WebSockets a
 * connection source: read headers with {@link requestHeader}).
 */
export type IssuerSelector = (request: RequestLike) => SelectedIssuers | Promise<SelectedIssuers>;

// Longest part of a selected name quoted in a detail: the name may come from request input.
const DETAIL_NAME_LENGTH = 200;

/** A selected name as a detail quotes it. */
export function quoteName(name: string): string {
  return JSON.stringify(name.length > DETAIL_NAME_LENGTH ? `${name.slice(0, DETAIL_NAME_LENGTH)}...` : name);
}

function isNameList(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((name) => typeof name === 'string');
}

/**
 * Runs the resolver for one request.
 * @throws AuthError `issuer_unavailable` (503) when it throws or returns neither names nor nothing
 */
export async function runSelector(select: IssuerSelector, request: RequestLike): Promise<readonly string[]> {
  let choice: unknown;
  try {
    choice = await select(request);
  } catch (cause) {
    throw new AuthError('issuer_unavailable', { cause, detail: 'the "selectIssuers" option threw' });
  }
  if (choice === undefined || choice === null) return [];
  if (typeof choice === 'string') return [choice];
  if (isNameList(choice)) return choice;
  throw new AuthError('issuer_unavailable', {
    detail: `the "selectIssuers" option returned ${typeof choice}, not issuer names`,
  });
}

/** The `issuers` option of `verify()`, checked. @throws TypeError naming the option */
export function issuersOption(value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return [value];
  if (isNameList(value)) return value;
  throw new TypeError('"issuers" option of verify() must be a string or an array of strings');
}

/**
 * Why a token of issuer `iss` is refused under `selected`, or null. Every selected name must be
 * configured: a typo or a made-up tenant is reported, never silently ignored.
 */
export function selectionProblem(
  iss: string,
  selected: readonly string[],
  configured: ReadonlyMap<string, unknown>,
): string | null {
  if (selected.length === 0) return 'no issuer was selected for this request';
  for (const name of selected) {
    if (!configured.has(name)) return `the selected issuer ${quoteName(name)} is not configured`;
  }
  if (!selected.includes(iss)) {
    return `the token's issuer ${quoteName(iss)} is not among the issuers selected for this request`;
  }
  return null;
}

function isHeaders(value: unknown): value is Headers {
  return typeof value === 'object' && value !== null && typeof (value as Headers).get === 'function';
}

/**
 * One header of whatever request `selectIssuers` receives (fetch `Request` or `Headers`, a Node
 * or Fastify request, a header record, a WebSocket connection's upgrade request), or undefined
 * when it is absent or sent more than once (an ambiguous tenant is no tenant).
 */
export function requestHeader(request: RequestLike, name: string): string | undefined {
  if (typeof request !== 'object' || request === null) return undefined;
  const field = name.toLowerCase();
  if ((request as Partial<ConnectionSource>)[CONNECTION] === true) {
    return requestHeader((request as ConnectionSource).upgrade as RequestLike, name);
  }
  if (isHeaders(request)) return single(request.get(field));
  const headers = (request as { headers?: unknown }).headers;
  if (isHeaders(headers)) return single(headers.get(field));
  const raw = (request as { raw?: { headers?: unknown } }).raw;
  const record =
    typeof raw?.headers === 'object' && raw.headers !== null ? raw.headers : (headers ?? request);
  if (typeof record !== 'object' || record === null) return undefined;
  const values: unknown[] = [];
  for (const key of Object.keys(record)) {
    if (key.toLowerCase() !== field) continue;
    const value = (record as Record<string, unknown>)[key];
    if (Array.isArray(value)) values.push(...(value as unknown[]));
    else if (value !== undefined && value !== null) values.push(value);
  }
  return values.length === 1 && typeof values[0] === 'string' ? single(values[0]) : undefined;
}

// fetch joins a repeated header with ", ": a tenant name never holds a comma.
function single(value: string | null): string | undefined {
  return value === null || value === '' || value.includes(',') ? undefined : value;
}
