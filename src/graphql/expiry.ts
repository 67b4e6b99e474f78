/**
 * Ends a subscription when its token expires. The event stream is raced against a timer set at
 * `exp`; when the timer wins (and a re-verification confirms the expiry, which honours the
 * verifier's clock tolerance), the stream yields one "expired" event and completes. The guarded
 * `resolve` turns that event into an UNAUTHORIZED error for the client, so the last message of the
 * subscription says why it ended, over SSE as over WebSockets.
 */
import type { GraphQLError } from 'graphql';
import { AuthError, isAuthError, type RequestAuth } from '../core/index.js';
import { originOf } from './context.js';
import { toGraphQLError } from './errors.js';

// setTimeout's largest delay; longer waits are re-armed.
const MAX_DELAY_MS = 2_147_483_647;
// While the verifier's clock tolerance still accepts the token, look again this often...
const RECHECK_MS = 1_000;
// ...at most this many times (the core caps clockTolerance at 300 s).
const MAX_RECHECKS = 310;

const expiredEvents = new WeakMap<object, GraphQLError>();

/**
 * The event a stream yields at expiry. Any resolver that reads it gets the error, so even a
 * `resolve` left unguarded cannot return data for it.
 */
function expiredEvent(error: GraphQLError): object {
  const event = new Proxy(Object.create(null) as object, {
    get(_target, property) {
      if (typeof property !== 'string' || property === 'then') return undefined;
      throw error;
    },
  });
  expiredEvents.set(event, error);
  return event;
}

/** The error carried by an expired event, or `undefined` for any other value. */
export function expiryErrorOf(source: unknown): GraphQLError | undefined {
  return typeof source === 'object' && source !== null ? expiredEvents.get(source) : undefined;
}

class Expired {
  constructor(readonly event: object) {}
}

class ExpiringIterator<T> implements AsyncIterableIterator<T | object> {
  readonly #source: AsyncIterator<T>;
  readonly #expired: Promise<Expired>;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #finished = false;

  constructor(source: AsyncIterable<T>, deadline: number, confirm: () => Promise<AuthError | null>) {
    this.#source = source[Symbol.asyncIterator]();
    this.#expired = new Promise<Expired>((resolve) => {
      let rechecks = 0;
      const arm = (at: number) => {
        const delay = Math.min(Math.max(at - Date.now(), 0), MAX_DELAY_MS);
        this.#timer = setTimeout(async () => {
          if (this.#finished) return;
          if (Date.now() < at) return arm(at);
          const error = await confirm();
          if (this.#finished) return;
          if (error) resolve(new Expired(expiredEvent(toGraphQLError(error))));
          else if (++rechecks <= MAX_RECHECKS) arm(Date.now() + RECHECK_MS);
        }, delay);
        // A forgotten subscription must not keep the process alive.
        this.#timer.unref?.();
      };
      arm(deadline);
    });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #finish(): void {
    this.#finished = true;
    clearTimeout(this.#timer);
  }

  #closeSource(value?: unknown): void {
    // Not awaited: a generator with a pending next() only returns after its next event.
    Promise.resolve(this.#source.return?.(value)).catch(() => {});
  }

  async next(): Promise<IteratorResult<T | object>> {
    if (this.#finished) return { done: true, value: undefined };
    const outcome = await Promise.race([this.#source.next(), this.#expired]);
    if (outcome instanceof Expired) {
      this.#finish();
      this.#closeSource();
      return { done: false, value: outcome.event };
    }
    if (outcome.done) this.#finish();
    return outcome;
  }

  async return(value?: unknown): Promise<IteratorResult<T | object>> {
    const wasFinished = this.#finished;
    this.#finish();
    if (!wasFinished) this.#closeSource(value);
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<T | object>> {
    this.#finish();
    if (this.#source.throw) return this.#source.throw(error);
    throw error;
  }
}

/**
 * Wraps a subscription's event stream so that it ends when the token of `auth` expires. Streams of
 * a connection that handles expiry itself (graphql-ws helper) are returned as they are.
 */
export function endAtExpiry<T>(
  stream: AsyncIterable<T>,
  claims: object,
  auth: RequestAuth<object>,
): AsyncIterable<T | object> {
  const origin = originOf(auth);
  const exp = (claims as { exp?: unknown }).exp;
  if (origin?.connectionScoped || typeof exp !== 'number') return stream;
  const token = auth.token;
  const confirm = async (): Promise<AuthError | null> => {
    if (!origin || token === null) return new AuthError('token_expired');
    try {
      await origin.verifier.verify(token);
      return null;
    } catch (error) {
      return isAuthError(error) ? error : new AuthError('token_expired');
    }
  };
  return new ExpiringIterator(stream, exp * 1000, confirm);
}
