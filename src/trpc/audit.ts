/**
 * Deny-by-default audit of a tRPC router: what each procedure requires, read from the scopegate
 * middlewares in its chain, and an assertion for your test suite that nothing is public by
 * accident.
 */
import type { AnyTRPCRouter } from '@trpc/server';
import { auditReport, summarizeAccess, undeclaredAccess } from '../core/audit.js';
import type { ClaimCheck, ScopeAlternatives } from '../core/scopes.js';
import { type AccessRule, accessRulesOf } from './access.js';

/** What a procedure requires. */
export interface ProcedureAccess {
  /** The procedure's path, `post.byId`. */
  readonly path: string;
  readonly type: 'query' | 'mutation' | 'subscription';
  /**
   * `public`: no scopegate middleware; `optional`: anonymous callers allowed, tokens verified;
   * `authenticated`: a valid token is required (and any scopes/claims below).
   */
  readonly access: 'public' | 'optional' | 'authenticated';
  /** Scope requirements in DNF, one per `requireScopes`; all of them must hold. */
  readonly scopes: readonly ScopeAlternatives[];
  /** Claim checks, one per `requireClaims`; all of them must hold. */
  readonly claims: readonly ClaimCheck<never>[];
  /** One line for humans: `authenticated; scopes (read:data) OR (admin); claims {"org":"acme"}`. */
  readonly summary: string;
}

// Lazy routers load on demand; loading them here is bounded in case a loader keeps adding more.
const MAX_LAZY_LOADS = 10_000;

interface RouterInternals {
  readonly procedures: Readonly<Record<string, unknown>>;
  readonly lazy?: Readonly<Record<string, { load(): Promise<void> }>>;
}

async function loadedProcedures(router: AnyTRPCRouter): Promise<Readonly<Record<string, unknown>>> {
  const def = router._def as unknown as RouterInternals;
  for (let loads = 0; loads < MAX_LAZY_LOADS; loads++) {
    const pending = Object.values(def.lazy ?? {});
    if (pending.length === 0) return def.procedures;
    await Promise.all(pending.map((loader) => loader.load()));
    loads += pending.length;
  }
  throw new Error(`describeProcedures: gave up loading lazy routers after ${MAX_LAZY_LOADS} loads`);
}

function describe(path: string, procedure: unknown): ProcedureAccess {
  const rules: AccessRule[] = accessRulesOf(procedure);
  const type = (procedure as { _def: { type: ProcedureAccess['type'] } })._def.type;
  const scopes = rules.flatMap((rule) => (rule.kind === 'scopes' ? [rule.scopes] : []));
  const claims = rules.flatMap((rule) => (rule.kind === 'claims' ? [rule.check] : []));
  // Any rule but `optional` needs verified claims: requireScopes/requireClaims verify too.
  const access = rules.some((rule) => rule.kind !== 'optional')
    ? 'authenticated'
    : rules.length > 0
      ? 'optional'
      : 'public';
  return Object.freeze({
    path,
    type,
    access,
    scopes: Object.freeze(scopes),
    claims: Object.freeze(claims),
    summary: summarizeAccess(access, scopes, claims),
  });
}

/**
 * Lists every procedure of a router (lazy sub-routers are loaded) with what it requires, sorted
 * by path.
 *
 * @example
 * ```ts
 * for (const p of await describeProcedures(appRouter)) console.log(`${p.type} ${p.path}: ${p.summary}`);
 * ```
 */
export async function describeProcedures(router: AnyTRPCRouter): Promise<ProcedureAccess[]> {
  const procedures = await loadedProcedures(router);
  return Object.keys(procedures)
    .sort()
    .map((path) => describe(path, procedures[path]));
}

/** Options of {@link assertProtected}. */
export interface AssertProtectedOptions {
  /**
   * Procedures that may be called without a token: exact paths (`'health'`), or every
   * procedure under a prefix (`'public.*'`). `optionalAuthProcedure`s serve anonymous callers
   * too, so they belong here as well. An entry that matches nothing is an error (a stale list
   * would silently cover a future procedure of that name).
   */
  readonly public: readonly string[];
}

/** Thrown by {@link assertProtected}. */
export class UnprotectedProcedureError extends Error {
  override readonly name = 'UnprotectedProcedureError';
  /** Procedures callable without a token that are not declared public. */
  readonly unprotected: readonly ProcedureAccess[];
  /** `public` entries that match no procedure. */
  readonly unknownPublic: readonly string[];

  constructor(unprotected: readonly ProcedureAccess[], unknownPublic: readonly string[]) {
    super(
      auditReport(
        {
          unprotected: 'procedure(s) are neither protected nor declared public',
          unknown: 'declared public procedure(s) do not exist',
        },
        unprotected.map((p) => `${p.type} ${p.path} (${p.access})`),
        unknownPublic,
      ),
    );
    this.unprotected = unprotected;
    this.unknownPublic = unknownPublic;
  }
}

function matches(pattern: string, path: string): boolean {
  return pattern.endsWith('.*') ? path.startsWith(pattern.slice(0, -1)) : path === pattern;
}

/**
 * Deny by default, as a test: fails when a procedure can be called without a token and is not
 * in `options.public`, listing each one. Put it in your own test suite.
 *
 * @example
 * ```ts
 * it('every procedure is protected or declared public', async () => {
 *   await assertProtected(appRouter, { public: ['health', 'docs.*'] });
 * });
 * ```
 * @returns the descriptions of every procedure, when the assertion holds
 * @throws UnprotectedProcedureError listing each unprotected procedure and each stale entry
 * @throws TypeError when `options.public` is not a list of non-empty strings
 */
export async function assertProtected(
  router: AnyTRPCRouter,
  options: AssertProtectedOptions,
): Promise<ProcedureAccess[]> {
  const declared = options?.public;
  if (!Array.isArray(declared) || declared.some((entry) => typeof entry !== 'string' || entry === '')) {
    throw new TypeError('assertProtected: "public" must be a list of procedure paths');
  }
  const procedures = await describeProcedures(router);
  const { unprotected, unknownPublic } = undeclaredAccess(
    procedures,
    declared,
    (p) => p.access !== 'authenticated',
    (pattern, p) => matches(pattern, p.path),
  );
  if (unprotected.length > 0 || unknownPublic.length > 0) {
    throw new UnprotectedProcedureError(unprotected, unknownPublic);
  }
  return procedures;
}
