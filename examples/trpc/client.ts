/**
 * A client of the example API, switching on the typed `error.data.auth` of failures.
 *
 *   node --import tsx examples/trpc/client.ts http://127.0.0.1:3000 <token>
 */
import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client';
import type { AppRouter } from './app.js';

export function createClient(url: string, token?: string) {
  return createTRPCClient<AppRouter>({
    links: [httpBatchLink({ url, headers: () => (token ? { authorization: `Bearer ${token}` } : {}) })],
  });
}

/** What the application should do about a failed call: every auth reason is typed. */
export function explain(error: unknown): string {
  if (!(error instanceof TRPCClientError)) return `unexpected: ${String(error)}`;
  const auth = (error as TRPCClientError<AppRouter>).data?.auth;
  if (!auth) return `failed: ${error.message}`;
  switch (auth.reason) {
    case 'missing_token':
      return 'sign in first';
    case 'token_expired':
      return 'token expired: refresh it and retry';
    case 'insufficient_scope':
      return `ask for more access: ${(auth.requiredScopes ?? []).join(' ')}`;
    case 'claim_check_failed':
      return 'not allowed for your account';
    case 'issuer_unavailable':
      return 'identity provider unreachable: keep the token, retry later';
    default:
      // auth.code tells what to do in general: re-authenticate, fix the request, or give up.
      return auth.code === 'BAD_REQUEST' ? `client bug: ${auth.reason}` : `sign in again (${auth.reason})`;
  }
}

/** Calls a few procedures and reports each outcome, one line each. */
export async function run(url: string, token?: string): Promise<string[]> {
  const client = createClient(url, token);
  const calls: [string, () => Promise<unknown>][] = [
    ['health', () => client.health.query()],
    ['me', () => client.me.query()],
    ['notes.add', () => client.notes.add.mutate({ text: 'hello from the client' })],
    ['notes.list', () => client.notes.list.query()],
    ['admin.stats', () => client.admin.stats.query()],
  ];
  const lines: string[] = [];
  for (const [name, call] of calls) {
    lines.push(
      await call().then(
        (value) => `${name}: ${JSON.stringify(value)}`,
        (error: unknown) => `${name}: ${explain(error)}`,
      ),
    );
  }
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [url = 'http://127.0.0.1:3000', token] = process.argv.slice(2);
  for (const line of await run(url, token)) console.log(line);
}
