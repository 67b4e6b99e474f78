/**
 * Ends a protected subscription when its token expires. A timer is armed at the token's `exp`;
 * when it fires the claims are re-verified through the context's auth (so the verifier's clock
 * tolerance and error presentation apply): still accepted -> re-armed, refused -> the stream
 * ends with that error (`UNAUTHORIZED` `token_expired`). The timer and the abort listener are
 * released when the stream ends, whichever way it ends.
 */
import { TRPCError } from '@trpc/server';
import { isObservable, observableToAsyncIterable } from '@trpc/server/observable';
import { AuthError, type RequestAuth } from '../core/index.js';
import { ContextAuth, expiryOf } from './context-auth.js';
import { toTRPCError } from './errors.js';

// setTimeout's delay is a signed 32-bit number of milliseconds (about 24.8 days).
const MAX_DELAY = 2 ** 31 - 1;
// While the verifier still accepts an expired token (its clock tolerance), check again this often.
const RECHECK_MS = 1000;

/** Waits for the token to expire; `onExpired` gets the error that ends the stream. */
class ExpiryWatch {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #disposed = false;
  readonly #auth: RequestAuth<unknown>;
  readonly #onExpired: (error: unknown) => void;

  constructor(auth: RequestAuth<unknown>, expiresAt: number, onExpired: (error: unknown) => void) {
    this.#auth = auth;
    this.#onExpired = onExpired;
    this.#arm(expiresAt - Date.now());
  }

  #arm(delay: number): void {
    if (this.#disposed) return;
    this.#timer = setTimeout(() => this.#check(), Math.min(Math.max(delay, 0), MAX_DELAY));
    // A subscription keeps its own socket open; the timer alone must not keep a process alive.
    this.#timer.unref?.();
  }

  #check(): void {
    if (!(this.#auth instanceof ContextAuth)) {
      // A RequestAuth built by hand memoizes forever: expiry is decided here, with the core's error.
      this.#onExpired(toTRPCError(new AuthError('token_expired')));
      return;
    }
    this.#auth.claims().then(
      (claims) => {
        const expiresAt = expiryOf(claims);
        if (expiresAt !== undefined) this.#arm(expiresAt > Date.now() ? expiresAt - Date.now() : RECHECK_MS);
      },
      (error: unknown) => this.#onExpired(toTRPCError(error)),
    );
  }

  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#timer);
  }
}

/**
 * The subscription's events until the token expires, then the expiry error. `source` is what
 * the resolver returned (an async iterable or an observable).
 */
export function endAtExpiry(
  source: unknown,
  auth: RequestAuth<unknown>,
  claims: unknown,
  signal: AbortSignal | undefined,
): unknown {
  const expiresAt = expiryOf(claims);
  if (expiresAt === undefined) return source;
  let iterable: AsyncIterable<unknown>;
  if (isObservable(source))
    iterable = observableToAsyncIterable(source, signal ?? new AbortController().signal);
  else if (isAsyncIterable(source)) iterable = source;
  else return source;
  return guard(iterable, auth, expiresAt, signal);
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

async function* guard(
  source: AsyncIterable<unknown>,
  auth: RequestAuth<unknown>,
  expiresAt: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<unknown, void, undefined> {
  const iterator = source[Symbol.asyncIterator]();
  let failure: { readonly error: unknown } | undefined;
  let stopped = false;
  // The settle functions of the pending `next()`: one fresh promise per event, so nothing
  // accumulates on a long-lived promise (a Promise.race against one would leak a handler per event).
  let wake: { resolve(value: IteratorResult<unknown>): void; reject(error: unknown): void } | undefined;
  let pending = false;

  const watch = new ExpiryWatch(auth, expiresAt, (error) => {
    failure = { error: error instanceof Error ? error : new TRPCError({ code: 'UNAUTHORIZED' }) };
    wake?.reject(failure.error);
  });
  const onAbort = () => {
    stopped = true;
    wake?.resolve({ done: true, value: undefined });
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  try {
    while (true) {
      if (failure) throw failure.error;
      if (stopped || signal?.aborted) return;
      pending = true;
      const next = await new Promise<IteratorResult<unknown>>((resolve, reject) => {
        wake = { resolve, reject };
        iterator.next().then(resolve, reject);
      });
      pending = false;
      wake = undefined;
      if (next.done) return;
      yield next.value;
    }
  } finally {
    watch.dispose();
    signal?.removeEventListener('abort', onAbort);
    // A source stuck in next() cannot return until that settles: let it finish on its own then
    // (the procedure's signal is aborted too), rather than holding this stream open.
    const closing = iterator.return?.();
    if (!pending && closing) await closing;
    else closing?.catch(() => {});
  }
}
