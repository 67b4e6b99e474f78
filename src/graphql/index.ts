/**
 * scopegate/graphql: protect GraphQL fields with the `@auth` directive (or `withAuth` /
 * `extensions.auth` code-first), a graphql-yoga plugin, and graphql-ws helpers.
 * Peers: `graphql` ^16 || ^17, `graphql-yoga` 5, `@graphql-tools/utils`.
 * @module scopegate/graphql
 */
export {
  type AssertProtectedOptions,
  assertProtected,
  describeSchema,
  type FieldAccess,
  type RootOperation,
  UnprotectedFieldError,
} from './audit.js';
export type { AuthContext } from './context.js';
export { type AuthDirective, type AuthDirectiveOptions, authDirective } from './directive.js';
export type { AuthErrorExtensions } from './errors.js';
export { type Precheck, type UseAuthOptions, useAuth } from './plugin.js';
export { checkOperation, type OperationToCheck } from './precheck.js';
export type { AuthRequirement } from './requirement.js';
export { withAuth } from './with-auth.js';
export {
  createWsAuth,
  type WsAuth,
  type WsAuthOptions,
  type WsConnectionContext,
  type WsSubscribePayload,
} from './ws.js';
