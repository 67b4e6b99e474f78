/**
 * The DPoP side of one request (RFC 9449 4.3, 7.1): the checks in their order, cheapest and
 * least trusting first, the `jti` claimed last so that forged proofs never reach the store.
 *
 *   one proof -> the request's method and URL known -> the access token (the token cache may
 *   answer) -> the proof (htm, htu, iat, ath...) -> the binding (`cnf.jkt`) -> the nonce -> `jti`
 *
 * At most one proof verification and one claim per call; the caller (request-auth.ts) calls it
 * once per request. Errors are AuthErrors with a server-only `detail`.
 */
import { AuthError } from '../errors.js';
import { parseCompactJws } from '../jws.js';
import type { DpopSettings } from '../options.js';
import { checkTokenBinding } from './binding.js';
import { normalizeHtu } from './htu.js';
import { verifyDpopProof } from './proof.js';
import { claimProof } from './replay.js';

/** The DPoP credentials of a request, as `readCredentials` gives them. */
export interface DpopCredentials {
  readonly token: string;
  readonly proofs: readonly string[];
  readonly method: string | undefined;
  readonly urls: readonly string[];
}

/**
 * Verifies a DPoP request: the token by `verifyToken` (which never judges `cnf`), then the proof,
 * the binding, the nonce, and claims the proof's `jti`.
 * @returns the token's claims and the proof key's thumbprint
 * @throws AuthError `invalid_request` (two proofs, unknown Host), `invalid_dpop_proof`,
 *   `invalid_token_binding`, `use_dpop_nonce`, `replay_store_unavailable`, or the token's refusal
 */
export async function verifyDpopRequest<TClaims extends object>(
  credentials: DpopCredentials,
  verifyToken: (token: string) => Promise<TClaims>,
  settings: DpopSettings,
): Promise<{ readonly claims: TClaims; readonly thumbprint: string }> {
  const { proofs, method, urls, token } = credentials;
  const [proof] = proofs;
  if (proof === undefined) throw new AuthError('invalid_dpop_proof', { detail: 'jws: no DPoP header' });
  // RFC 9449 4.3 (1): exactly one DPoP header; fetch joins repeated ones with ", ".
  if (proofs.length > 1 || proof.includes(',')) {
    throw new AuthError('invalid_request', { detail: 'DPoP: more than one proof' });
  }
  if (method === undefined) {
    throw new AuthError('invalid_dpop_proof', {
      detail: 'htm: the request method and URL are unknown (authenticate the request, not its headers)',
    });
  }
  if (urls.length === 0) {
    throw new AuthError('invalid_request', {
      detail: 'htu: the request URL is unknown (Host header invalid, or publicOrigin gave no origin)',
    });
  }

  const claims = await verifyToken(token);
  const now = Math.floor(Date.now() / 1000);
  const verified = await verifyDpopProof(
    proof,
    { method, url: urlFor(proof, urls), accessToken: token, now },
    settings.proof,
  );
  checkTokenBinding(claims as Readonly<Record<string, unknown>>, verified.thumbprint);
  if (settings.nonces) {
    const result = await settings.nonces.check(verified.nonce, now);
    if (result !== 'ok') throw new AuthError('use_dpop_nonce', { detail: `nonce: ${result}` });
  }
  await claimProof(settings.replayStore, verified, { timeoutMs: settings.replayTimeoutMs });
  return { claims, thumbprint: verified.thumbprint };
}

/**
 * The request URL the proof is compared with. With several public origins, the one the proof
 * names (compared after normalization), so that the proof is verified once; any other `htu` is
 * compared with the first and refused by the proof check.
 */
function urlFor(proof: string, urls: readonly string[]): string {
  const first = urls[0] as string;
  if (urls.length === 1) return first;
  const htu = parseCompactJws(proof)?.payload.htu;
  const wanted = typeof htu === 'string' ? normalizeHtu(htu) : null;
  return (wanted !== null && urls.find((url) => normalizeHtu(url) === wanted)) || first;
}
