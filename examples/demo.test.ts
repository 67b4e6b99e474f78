/**
 * `npm run demo` must keep working as the README says: run it as a user would (a fresh Node
 * process, the package imported by name) and require every scene to end as expected.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

it('npm run demo: every scene ends as expected, for tRPC and GraphQL alike', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/demo.ts'], {
    cwd: root,
    timeout: 60_000,
  });
  expect(stdout).toContain('Every outcome is as expected.');
  expect(stdout).toMatch(
    /\| valid token, scope missing \| FORBIDDEN: insufficient_scope .*HTTP 403 \| FORBIDDEN/,
  );
  expect(stdout).toMatch(
    /\| DPoP client \(createAuthFetch, a DPoP key\) \| ok: \[.*\], HTTP 200 \| ok: .*HTTP 200 \|/,
  );
  expect(stdout).toContain(
    '| replayed DPoP request (same proof) | UNAUTHORIZED: invalid_dpop_proof, HTTP 401 | UNAUTHORIZED: invalid_dpop_proof, HTTP 401 |',
  );
  expect(stdout).toContain(
    '| DPoP-bound token sent as Bearer | UNAUTHORIZED: invalid_token_binding, HTTP 401 | UNAUTHORIZED: invalid_token_binding, HTTP 401 |',
  );
  expect(stdout).toMatch(
    /\| issuer down, token with a new key \| SERVICE_UNAVAILABLE: issuer_unavailable, HTTP 503/,
  );
}, 90_000);
