/**
 * Stateless server nonces (RFC 9449 8, 9), row #92: HMAC of a time window; live in their window
 * and the next; any instance with the secret checks another's.
 */
import { describe, expect, it } from 'vitest';
import { createDpopNonces } from '../../../src/core/dpop/nonce.js';

const secret = 'a-test-secret-of-at-least-32-bytes!!';

describe('#92 nonces', () => {
  it('a nonce is valid in its window and the next, then stale', async () => {
    const nonces = createDpopNonces({ secret, window: 60 });
    const t = 1_800_000_000;
    const nonce = await nonces.issue(t);
    expect(nonce).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
    expect(await nonces.issue(t + 1)).toBe(nonce); // one nonce per window: cacheable, cheap
    expect(await nonces.check(nonce, t)).toBe('ok');
    expect(await nonces.check(nonce, t + 60)).toBe('ok');
    expect(await nonces.check(nonce, t + 120)).toBe('stale');
    expect(await nonces.check(nonce, t - 60)).toBe('forged'); // from the future
  });

  it('another instance with the same secret accepts it; another secret does not', async () => {
    const t = 1_800_000_000;
    const nonce = await createDpopNonces({ secret }).issue(t);
    expect(await createDpopNonces({ secret: new TextEncoder().encode(secret) }).check(nonce, t)).toBe('ok');
    expect(await createDpopNonces({ secret: `${secret}?` }).check(nonce, t)).toBe('forged');
  });

  it('missing, malformed or forged', async () => {
    const nonces = createDpopNonces({ secret });
    const t = 1_800_000_000;
    const nonce = await nonces.issue(t);
    const [index, mac] = nonce.split('.') as [string, string];
    expect(await nonces.check(undefined, t)).toBe('missing');
    for (const bad of [
      42,
      '',
      'abc',
      `${index}.${mac}x`,
      `${index}.${mac.slice(1)}`,
      `-1.${mac}`,
      `${index}.${mac}\n`,
    ]) {
      expect(await nonces.check(bad, t), String(bad)).toBe('malformed');
    }
    const flipped = `${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`;
    expect(await nonces.check(`${index}.${flipped}`, t)).toBe('forged');
    expect(await nonces.check(`${Number(index) - 1}.${mac}`, t)).toBe('forged'); // a MAC moved to another window
  });
});
