/**
 * DPoP proofs (RFC 9449) for the client, signed by panva's `dpop` package: no proof code of ours.
 */
import { generateProof } from 'dpop';

/** A key pair for DPoP proofs: `dpop`'s `generateKeyPair('ES256')`, or any WebCrypto pair whose public key is extractable. */
export interface DpopKeyPair {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
}

/** The proof's `htu`: the request URI without query and fragment (RFC 9449 4.2). */
export function htuOf(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/** A fresh proof (new `jti`, `iat` now) for one request, with `ath` for the token. */
export function proofFor(
  keyPair: DpopKeyPair,
  url: URL,
  method: string,
  token: string,
  nonce: string | undefined,
): Promise<string> {
  return generateProof(keyPair, htuOf(url), method.toUpperCase(), nonce, token);
}

/** TypeError naming `option` unless `keyPair` holds two CryptoKeys. */
export function assertKeyPair(keyPair: unknown, option: string): asserts keyPair is DpopKeyPair {
  const pair = keyPair as Partial<DpopKeyPair> | null | undefined;
  if (
    typeof keyPair !== 'object' ||
    keyPair === null ||
    typeof CryptoKey === 'undefined' ||
    !(pair?.privateKey instanceof CryptoKey) ||
    !(pair.publicKey instanceof CryptoKey) ||
    pair.privateKey.type !== 'private' ||
    pair.publicKey.type !== 'public'
  ) {
    throw new TypeError(
      `scopegate/client: ${option} must be a CryptoKeyPair (e.g. from dpop's generateKeyPair)`,
    );
  }
  if (!pair.publicKey.extractable) {
    throw new TypeError(
      `scopegate/client: ${option}.publicKey must be extractable (its JWK goes in every proof)`,
    );
  }
}

export interface DpopConnectionParamsOptions {
  /** The access token (DPoP-bound); null or undefined: no credentials are sent. */
  readonly getToken: () => string | null | undefined | Promise<string | null | undefined>;
  readonly keyPair: DpopKeyPair;
  /** The WebSocket URL the client connects to (`ws:` / `wss:`), as given to `wsLink` / graphql-ws. */
  readonly url: string | URL;
  /** The latest `DPoP-Nonce` the server gave (e.g. on an HTTP response), when nonces are on. */
  readonly nonce?: () => string | null | undefined;
}

// A type, not an interface: graphql-ws and tRPC type connectionParams as records.
export type DpopConnectionParams = {
  readonly authorization: string;
  readonly dpop: string;
};

/**
 * `connectionParams` for tRPC `wsLink` (`createWSClient`) and graphql-ws `createClient`: called on
 * every (re)connect, it returns `{ authorization: 'DPoP <token>', dpop: '<proof>' }` with a fresh
 * proof for `GET` and the `http(s):` form of the WebSocket URL (the upgrade request), or `{}`
 * when there is no token.
 */
export function dpopConnectionParams(
  options: DpopConnectionParamsOptions,
): () => Promise<DpopConnectionParams | Record<string, never>> {
  if (typeof options?.getToken !== 'function') {
    throw new TypeError(
      'scopegate/client: dpopConnectionParams needs getToken, a function returning the token',
    );
  }
  assertKeyPair(options.keyPair, 'keyPair');
  let url: URL;
  try {
    url = new URL(String(options.url));
  } catch {
    throw new TypeError('scopegate/client: dpopConnectionParams url must be an absolute ws: or wss: URL');
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new TypeError('scopegate/client: dpopConnectionParams url must be an absolute ws: or wss: URL');
  }
  if (options.nonce !== undefined && typeof options.nonce !== 'function') {
    throw new TypeError('scopegate/client: dpopConnectionParams nonce must be a function');
  }
  // The proof names the upgrade request: GET on the http(s) form of the URL (RFC 9449 over WebSocket, DESIGN).
  const upgrade = new URL(url.href.replace(/^ws/, 'http'));
  const { getToken, keyPair, nonce } = options;
  return async () => {
    const token = await getToken();
    if (!token) return {};
    const proof = await proofFor(keyPair, upgrade, 'GET', token, nonce?.() ?? undefined);
    return { authorization: `DPoP ${token}`, dpop: proof };
  };
}
