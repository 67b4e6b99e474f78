/**
 * Ends a subscription when its token expires, with core's `endAtExpiry`. The stream's last event is
 * an "expired" event: the guarded `resolve` turns it into the verifier's UNAUTHORIZED error (e.g.
 * `token_expired`) located at the subscription field, so the last message of the subscription
 * says why it ended, over SSE as over any other transport. An error thrown by the stream instead
 * would reach the client as a transport failure, without the field's error shape.
 */
import type { GraphQLError } from 'graphql';
import { endAtExpiry } from '../core/expiry.js';
import type { RequestAuth } from '../core/types.js';
import { endsWithConnection } from './context.js';
import { toGraphQLError } from './errors.js';

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

/**
 * A subscription's event stream that ends, with an expired event, when the token of `auth`
 * expires. The streams of a graphql-ws connection are returned as they are: the connection is
 * closed at expiry (4403), which lets the client reconnect and resubscribe with a fresh token.
 * `signal` (the HTTP request's) closes the stream when the client goes away: without it a quiet
 * source would stay subscribed until its next event, as a generator cannot return while it waits.
 */
export function expiringStream<T>(
  stream: AsyncIterable<T>,
  auth: RequestAuth<object>,
  signal: AbortSignal | undefined,
): AsyncIterable<T | object> {
  if (endsWithConnection(auth)) return stream;
  return endAtExpiry(stream, auth, (error) => expiredEvent(toGraphQLError(error)), signal);
}
