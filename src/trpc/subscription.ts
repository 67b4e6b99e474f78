/**
 * Ends a protected subscription when its token expires. The waiting is the core's
 * (`endAtExpiry`); what is tRPC's here: a resolver may return an observable as well as an async
 * iterable, and the stream ends with the expiry error as a `TRPCError` (`UNAUTHORIZED`
 * `token_expired`, the verifier's presentation).
 */
import { isObservable, observableToAsyncIterable } from '@trpc/server/observable';
import { endAtExpiry } from '../core/expiry.js';
import type { RequestAuth } from '../core/types.js';
import { toTRPCError } from './errors.js';

/**
 * The subscription's events until the token of `auth` expires, then its error. `source` is what
 * the resolver returned; anything but an observable or an async iterable is returned as is.
 */
export function untilTokenExpires(
  source: unknown,
  auth: RequestAuth<unknown>,
  signal: AbortSignal | undefined,
): unknown {
  let events: AsyncIterable<unknown>;
  if (isObservable(source))
    events = observableToAsyncIterable(source, signal ?? new AbortController().signal);
  else if (isAsyncIterable(source)) events = source;
  else return source;
  return endAtExpiry(
    events,
    auth,
    (error) => {
      throw toTRPCError(error);
    },
    signal,
  );
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}
