/**
 * Ends a stream (a subscription) when its token stops being valid. Shared by the tRPC and GraphQL
 * adapters: they only decide what the end looks like (tRPC throws, GraphQL yields a last event).
 */
import { type AuthError, isAuthError } from './errors.js';
import type { RequestAuth } from './types.js';

/**
 * Yields `source`'s values until the verified token of `auth` expires, then closes `source` and
 * calls `onExpired` with the verifier's error: a value it returns is yielded last, an error it
 * throws ends the stream with that error. The wait is released however the stream ends (done,
 * `return()`, an error, or `signal` aborted).
 *
 * @example
 * ```ts
 * const events = endAtExpiry(source, ctx.auth, (error) => { throw toTRPCError(error); }, signal);
 * ```
 */
export function endAtExpiry<T, TLast = never>(
  source: AsyncIterable<T>,
  auth: RequestAuth<unknown>,
  onExpired: (error: AuthError) => TLast,
  signal?: AbortSignal,
): AsyncGenerator<T | TLast, void, undefined> {
  const stop = new AbortController();
  const generator = guard(source, auth, onExpired, signal, stop);
  // An async generator queues return() behind a pending next(): with a quiet source, a consumer
  // that leaves would keep it subscribed until its next event. Aborting first wakes the wait.
  const iterator: AsyncGenerator<T | TLast, void, undefined> = {
    next: () => generator.next(),
    return: (value) => {
      stop.abort();
      return generator.return(value);
    },
    throw: (error) => {
      stop.abort();
      return generator.throw(error);
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

async function* guard<T, TLast>(
  source: AsyncIterable<T>,
  auth: RequestAuth<unknown>,
  onExpired: (error: AuthError) => TLast,
  signal: AbortSignal | undefined,
  stop: AbortController,
): AsyncGenerator<T | TLast, void, undefined> {
  // A request that is not (or no longer) authenticated gets no event at all.
  try {
    await auth.claims();
  } catch (error) {
    if (!isAuthError(error)) throw error;
    yield onExpired(error);
    return;
  }
  const iterator = source[Symbol.asyncIterator]();
  const onAbort = () => stop.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) stop.abort(signal.reason);
  let expiredWith: { readonly error: AuthError } | undefined;
  // The settle function of the pending wait: one fresh promise per event, so nothing
  // accumulates on the long-lived expiry promise (racing it would add a handler per event).
  let wake: ((outcome: IteratorResult<T> | 'expired' | 'stopped') => void) | undefined;
  auth.expired(stop.signal).then(
    (error) => {
      expiredWith = { error };
      wake?.('expired');
    },
    () => wake?.('stopped'),
  );
  // True while the source has a next() in flight: it cannot return() before that settles.
  let sourceBusy = false;
  try {
    while (!expiredWith && !stop.signal.aborted) {
      const outcome = await new Promise<IteratorResult<T> | 'expired' | 'stopped'>((resolve, reject) => {
        wake = resolve;
        sourceBusy = true;
        iterator.next().then(
          (result) => {
            sourceBusy = false;
            resolve(result);
          },
          (error: unknown) => {
            sourceBusy = false;
            reject(error);
          },
        );
      });
      wake = undefined;
      if (outcome === 'stopped' || (outcome !== 'expired' && outcome.done)) return;
      if (outcome === 'expired') break;
      yield outcome.value;
    }
    if (expiredWith) yield onExpired(expiredWith.error);
  } finally {
    stop.abort();
    signal?.removeEventListener('abort', onAbort);
    const closing = iterator.return?.();
    // A source stuck in next() returns only after that settles: let it finish on its own.
    if (sourceBusy) closing?.catch(() => {});
    else if (closing) await closing;
  }
}
