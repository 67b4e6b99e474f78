/**
 * Validation of the options the yoga plugin and the graphql-ws helper share.
 */
import type { Verifier } from '../core/types.js';
import type { Precheck } from './plugin.js';

/** @throws TypeError naming the invalid option */
export function sharedOptions(
  options: { readonly verifier?: unknown; readonly precheck?: unknown } | undefined,
): {
  readonly verifier: Verifier<object>;
  readonly precheck: Precheck;
} {
  const verifier = options?.verifier as Verifier<object> | undefined;
  if (typeof verifier?.authenticate !== 'function' || typeof verifier.verify !== 'function') {
    throw new TypeError('"verifier" option must be a verifier from createVerifier()');
  }
  const precheck = options?.precheck ?? 'mutations';
  if (precheck !== 'mutations' && precheck !== 'all') {
    throw new TypeError('"precheck" option must be "mutations" or "all"');
  }
  return { verifier, precheck };
}
