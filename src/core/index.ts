/**
 * scopegate core: verify OAuth 2.0 / OIDC JWT access tokens and check scopes and claims.
 * No tRPC or GraphQL imports here; the adapters build on these exports.
 * @module scopegate
 */
export type { Algorithm, AsymmetricAlgorithm, SymmetricAlgorithm } from './algorithms.js';
export type { AuthScheme, NodeRequestLike, PublicOrigin, RequestLike } from './credentials.js';
export {
  createMemoryReplayStore,
  type MemoryReplayStore,
  type MemoryReplayStoreOptions,
  ReplayStoreFullError,
} from './dpop/memory-replay-store.js';
export type { DpopNonceOptions } from './dpop/nonce.js';
export type { ReplayClaimInfo, ReplayStore } from './dpop/replay-store.js';
export type { EngineName } from './engine.js';
export {
  AuthError,
  type AuthErrorCode,
  type AuthErrorInfo,
  type AuthErrorReason,
  type AuthRefusalReason,
  isAuthError,
} from './errors.js';
export { endAtExpiry } from './expiry.js';
export type { FetchLike } from './http.js';
export type { KeyCache, KeyCacheEntry } from './key-cache.js';
export type { Logger } from './key-ring.js';
export type { KeySourceStatus } from './key-sources.js';
export type {
  CommonOptions,
  DpopOptions,
  IssuerOptions,
  IssuerSelection,
  JsonWebKeySet,
  KeySourceOptions,
  VerifierOptions,
} from './options.js';
export { allOf, answeringRefusal, describeScopes } from './policy.js';
export type { DpopMode } from './presentation.js';
export {
  type MetadataRequest,
  type ProtectedResourceMetadata,
  type ProtectedResourceMetadataDocument,
  type ProtectedResourceMetadataOptions,
  protectedResourceMetadata,
  type ScopeSource,
} from './resource-metadata.js';
export { authResponseHeaders } from './response.js';
export {
  type ClaimCheck,
  checkClaims,
  checkScopes,
  claimEquals,
  claimIncludes,
  compileClaimCheck,
  compileScopes,
  hasScopes,
  type ScopeAlternatives,
  type ScopeRequirement,
} from './scopes.js';
export type { StandardSchemaV1 } from './standard-schema.js';
export type {
  AccessPolicy,
  ClaimsOf,
  IssuerStatus,
  JwtClaims,
  RequestAuth,
  Verifier,
  VerifierStatus,
} from './types.js';
export { createVerifier } from './verifier.js';
