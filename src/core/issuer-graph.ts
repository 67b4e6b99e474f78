/**
 * Builds the issuer and key-source graph from validated options: one key source per issuer
 * (a shared secret, a static key set or single key, a JWKS URL, or OIDC discovery), never shared between
 * issuers. Validation lives in options.ts; this module only assembles.
 */
import type { Algorithm } from './algorithms.js';
import type { Engine } from './engine.js';
import type { HttpLimits } from './http.js';
import { isSmallOrderJwk, jwkProblem, keyName } from './jwk-usability.js';
import type { KeyCache } from './key-cache.js';
import { KeyRing, type Logger } from './key-ring.js';
import {
  discoveryLocator,
  type KeySource,
  RemoteKeySource,
  SecretKeySource,
  StaticKeySource,
} from './key-sources.js';
import type { PresentationSettings } from './presentation.js';
import { SingleKeySource } from './static-keys.js';

/** Where an issuer's keys come from, validated. */
export type KeySpec =
  | { readonly kind: 'secret'; readonly bytes: Uint8Array }
  | { readonly kind: 'jwks'; readonly jwks: unknown; readonly option: string }
  | { readonly kind: 'key'; readonly jwk: Readonly<Record<string, unknown>> }
  | { readonly kind: 'jwksUri'; readonly url: string }
  | { readonly kind: 'discovery' };

/** What every key source of a verifier shares. */
export interface GraphSettings {
  readonly engine: Engine;
  readonly logger: Logger | undefined;
  /** Where setup mistakes that never heal are reported once: `logger`, else console, unless `logger: false`. */
  readonly setupLogger: Logger | undefined;
  readonly http: HttpLimits;
  readonly timing: {
    readonly cacheMaxAgeMs: number;
    readonly cooldownMs: number;
    readonly failureBackoffMs: number;
  };
  readonly allowInsecureLoopback: boolean;
  readonly presentation: PresentationSettings;
  /** Shares metadata and key sets across instances (scopegate/redis). */
  readonly keyCache: KeyCache | undefined;
}

/**
 * The key source of one issuer.
 * @throws TypeError naming the option when a static key set is not a public JWKS
 */
export function buildKeySource(
  spec: { readonly issuer: string; readonly algorithms: readonly Algorithm[]; readonly key: KeySpec },
  graph: GraphSettings,
): KeySource {
  const { engine, logger, setupLogger, http, timing, allowInsecureLoopback, keyCache } = graph;
  const key = spec.key;
  switch (key.kind) {
    case 'secret':
      return new SecretKeySource(key.bytes, spec.algorithms, engine);
    case 'jwks': {
      let ring: KeyRing;
      try {
        ring = new KeyRing(key.jwks as ConstructorParameters<typeof KeyRing>[0], engine, logger);
      } catch (error) {
        throw new TypeError(
          `"${key.option}" option must be a public JSON Web Key Set (${(error as Error).message})`,
        );
      }
      // A set none of whose keys can ever match the algorithms (wrong alg, use, kty) is a setup
      // mistake: every token would fail `unknown_key`. A small-order Ed25519 key is one in any set.
      const jwks = (key.jwks as { keys: readonly Readonly<Record<string, unknown>>[] }).keys;
      const problems = jwks.map((jwk, index) => {
        const problem = jwkProblem(jwk, spec.algorithms);
        return problem && `${keyName(key.option, index, jwk)}: ${problem}`;
      });
      const smallOrder = jwks.findIndex((jwk) => isSmallOrderJwk(jwk));
      if (smallOrder >= 0) throw new TypeError(`"${key.option}" option: ${problems[smallOrder]}`);
      if (jwks.length > 0 && problems.every((problem) => problem !== null)) {
        throw new TypeError(
          `"${key.option}" option has no key usable with the algorithms [${spec.algorithms.join(', ')}]: ${problems.join('; ')}`,
        );
      }
      for (const problem of problems) if (problem) logger?.warn(`scopegate: a key is never used: ${problem}`);
      return new StaticKeySource(ring);
    }
    case 'key':
      // Checked by staticKeyOf: a public key bound to its algorithms.
      return new SingleKeySource(new KeyRing({ keys: [key.jwk] }, engine, logger), key.jwk.kid);
    case 'jwksUri':
    case 'discovery': {
      const url = key.kind === 'jwksUri' ? key.url : undefined;
      const locate =
        url !== undefined
          ? async () => url
          : discoveryLocator({
              issuer: spec.issuer,
              http,
              cacheMaxAgeMs: timing.cacheMaxAgeMs,
              allowInsecureLoopback,
              keyCache,
              logger,
            });
      return new RemoteKeySource({
        locate,
        http,
        timing,
        engine,
        allowInsecureLoopback,
        logger,
        setupLogger,
        algorithms: spec.algorithms,
        issuer: spec.issuer,
        keyCache,
      });
    }
  }
}
