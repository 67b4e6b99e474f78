/**
 * What the deny-by-default audits of both adapters share (tRPC procedures, GraphQL root fields):
 * the one-line summary of a requirement, the comparison of what is open with what was declared
 * public, and the report listing both.
 */
import { describeScopes } from './policy.js';
import type { ClaimCheck, ScopeAlternatives } from './scopes.js';

/** One line for humans: `authenticated; scopes (read:data) OR (admin); claims {"org":"acme"}`. */
export function summarizeAccess(
  access: string,
  scopes: readonly ScopeAlternatives[],
  claims: readonly ClaimCheck<never>[] = [],
): string {
  const parts: string[] = [access];
  if (scopes.length > 0) parts.push(`scopes ${scopes.map(describeScopes).join(' AND ')}`);
  if (claims.length > 0) parts.push(`claims ${claims.map(claimText).join(' AND ')}`);
  return parts.join('; ');
}

function claimText(check: ClaimCheck<never>): string {
  return typeof check === 'function' ? `predicate ${check.name || '(anonymous)'}` : JSON.stringify(check);
}

/**
 * Deny by default: the entries open to anonymous callers that no `declared` pattern covers, and
 * the patterns that match no entry (a stale list would silently cover a future entry).
 */
export function undeclaredAccess<T>(
  entries: readonly T[],
  declared: readonly string[],
  isOpen: (entry: T) => boolean,
  matches: (pattern: string, entry: T) => boolean,
): { readonly unprotected: T[]; readonly unknownPublic: string[] } {
  return {
    unprotected: entries.filter(
      (entry) => isOpen(entry) && !declared.some((pattern) => matches(pattern, entry)),
    ),
    unknownPublic: declared.filter((pattern) => !entries.some((entry) => matches(pattern, entry))),
  };
}

/** The report of an audit failure: each unprotected entry, then each stale pattern. */
export function auditReport(
  what: { readonly unprotected: string; readonly unknown: string },
  unprotected: readonly string[],
  unknownPublic: readonly string[],
): string {
  const lines: string[] = [];
  if (unprotected.length > 0) {
    lines.push(`${unprotected.length} ${what.unprotected}:`);
    for (const line of unprotected) lines.push(`  - ${line}`);
  }
  if (unknownPublic.length > 0) {
    lines.push(`${unknownPublic.length} ${what.unknown}:`);
    for (const pattern of unknownPublic) lines.push(`  - ${pattern}`);
  }
  return lines.join('\n');
}
