/**
 * The Web Crypto path of digest.ts (runtimes without `node:crypto`) must give what the Node path
 * gives: same `ath`, same nonce MACs.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as nodePath from '../../../src/core/dpop/digest.js';

afterEach(() => {
  vi.unstubAllGlobals();
  vi.resetModules();
});

async function webPath(): Promise<typeof nodePath> {
  vi.resetModules();
  // No getBuiltinModule: what an edge runtime looks like to core.
  vi.stubGlobal('process', { ...process, getBuiltinModule: undefined });
  try {
    return await import('../../../src/core/dpop/digest.js');
  } finally {
    vi.unstubAllGlobals();
  }
}

describe('digest without node:crypto', () => {
  it('SHA-256 and HMAC agree with the node path', async () => {
    const web = await webPath();
    expect(web).not.toBe(nodePath);
    const text = 'eyJhbGciOiJFUzI1NiJ9.e30.sig-é';
    const webDigest = web.sha256Base64url(text);
    expect(webDigest).toBeInstanceOf(Promise);
    expect(await webDigest).toBe(nodePath.sha256Base64url(text));
    const secret = new Uint8Array(32).fill(7);
    expect(await web.createHmac(secret)('window 1')).toBe(await nodePath.createHmac(secret)('window 1'));
  });

  it('constantTimeEqual', () => {
    expect(nodePath.constantTimeEqual('abc', 'abc')).toBe(true);
    expect(nodePath.constantTimeEqual('abc', 'abd')).toBe(false);
    expect(nodePath.constantTimeEqual('abc', 'ab')).toBe(false);
  });
});
