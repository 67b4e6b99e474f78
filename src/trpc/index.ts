/**
 * scopegate/trpc: protect tRPC v11 procedures with OAuth 2.0 / OIDC JWT bearer access tokens.
 * Peer: `@trpc/server@^11`.
 * @module scopegate/trpc
 */
export {
  type AssertProtectedOptions,
  assertProtected,
  describeProcedures,
  type ProcedureAccess,
  UnprotectedProcedureError,
} from './audit.js';
export {
  type AuthContext,
  type AuthContextOptions,
  type CreateAuthContextOptions,
  createAuthContext,
} from './context.js';
export { toTRPCError } from './errors.js';
export {
  type AuthErrorData,
  type AuthErrorFormatterOptions,
  type AuthErrorShape,
  authErrorFormatter,
  type ErrorFormatterInput,
  withAuthErrorFormatter,
} from './formatter.js';
export {
  type AuthContextBase,
  type AuthProcedures,
  type ClaimsOfContext,
  createAuthProcedures,
} from './procedures.js';
export {
  type AuthorizationMiddleware,
  requireClaims,
  requireScopes,
  type VerifiedContext,
} from './requirements.js';
export {
  type AuthResponseMeta,
  type AuthResponseMetaOptions,
  authResponseMeta,
  withAuthResponseMeta,
} from './response-meta.js';
