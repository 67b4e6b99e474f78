/**
 * The signature engines and byte helpers, directly: both engines must agree on every key they
 * refuse and every signature they reject, and the web fallbacks of bytes.ts (for runtimes
 * without Buffer) must match the Node path.
 */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { exportJWK, importJWK } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ALGORITHMS, type Algorithm } from '../../src/core/algorithms.js';
import * as nodeBytes from '../../src/core/bytes.js';
import { DEFAULT_ENGINE, type Engine, engineAvailable, getEngine } from '../../src/core/engine.js';
import { createVerifier } from '../../src/core/index.js';
import { createTestIssuer } from '../../src/testing/index.js';

const ENGINES: readonly Engine[] = [getEngine('node'), getEngine('webcrypto')];
const data = new TextEncoder().encode('header.payload');

afterEach(() => {
  vi.unstubAllGlobals();
  vi.resetModules();
});

async function cryptoKey(publicKey: KeyObject, alg: Algorithm): Promise<CryptoKey> {
  return (await importJWK(await exportJWK(publicKey), alg)) as CryptoKey;
}

describe('engines', () => {
  it('node is the default and both are available here; engines are singletons', () => {
    expect(DEFAULT_ENGINE).toBe('node');
    expect(engineAvailable('node')).toBe(true);
    expect(engineAvailable('webcrypto')).toBe(true);
    expect(getEngine('node')).toBe(getEngine('node'));
  });

  const pairs = {
    rsa2048: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
    rsa1024: () => generateKeyPairSync('rsa', { modulusLength: 1024 }),
    p256: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    p384: () => generateKeyPairSync('ec', { namedCurve: 'P-384' }),
    ed25519: () => generateKeyPairSync('ed25519'),
  };

  const refusals: readonly [string, keyof typeof pairs, Algorithm, string][] = [
    ['a 1024-bit RSA key', 'rsa1024', 'RS256', 'weak_rsa_modulus'],
    ['a 1024-bit RSA key for PS256', 'rsa1024', 'PS256', 'weak_rsa_modulus'],
    ['a P-384 key for ES256', 'p384', 'ES256', 'wrong_curve'],
  ];
  for (const [name, pair, alg, problem] of refusals) {
    for (const engine of ENGINES) {
      it(`${engine.name} refuses ${name}: ${problem}`, async () => {
        const { publicKey } = pairs[pair]();
        // Import for a compatible algorithm so jose accepts it; the engine judges it for `alg`.
        const importAlg = pair === 'p384' ? 'ES384' : alg;
        const key = await cryptoKey(publicKey, importAlg as Algorithm);
        expect(engine.fromCryptoKey(key, alg)).toBe(problem);
      });
    }
  }

  it('node refuses a key of the wrong type for the algorithm family', async () => {
    const node = getEngine('node');
    const ec = await cryptoKey(pairs.p256().publicKey, 'ES256');
    const rsa = await cryptoKey(pairs.rsa2048().publicKey, 'RS256');
    const ed = await cryptoKey(pairs.ed25519().publicKey, 'EdDSA');
    expect(node.fromCryptoKey(ec, 'RS256')).toBe('unsupported_key');
    expect(node.fromCryptoKey(rsa, 'ES256')).toBe('unsupported_key');
    expect(node.fromCryptoKey(rsa, 'EdDSA')).toBe('unsupported_key');
    expect(node.fromCryptoKey(ed, 'ES256')).toBe('unsupported_key');
    const hmac = await crypto.subtle.importKey(
      'raw',
      new Uint8Array(32),
      { name: 'HMAC', hash: 'SHA-256' },
      true,
      ['verify'],
    );
    expect(node.fromCryptoKey(hmac, 'HS256')).toBe('unsupported_key');
  });

  it('an RSA key with e = 1 or an even e is refused; e = 3 is accepted', async () => {
    const jwk = await exportJWK(pairs.rsa2048().publicKey);
    const withExponent = async (e: string) => (await importJWK({ ...jwk, e }, 'RS256')) as CryptoKey;
    for (const engine of ENGINES) {
      // e = 1 makes the "signature" the padded digest itself: anyone could forge one.
      expect(engine.fromCryptoKey(await withExponent('AQ'), 'RS256')).toBe('weak_rsa_exponent');
      expect(engine.fromCryptoKey(await withExponent('AAEAAA'), 'RS256')).toBe('weak_rsa_exponent');
      expect(engine.fromCryptoKey(await withExponent('Aw'), 'RS256')).toMatchObject({ alg: 'RS256' });
    }
  });

  for (const engine of ENGINES) {
    it(`${engine.name}: a signature made for another engine's key shape, or a wrong length, is false`, async () => {
      const { privateKey, publicKey } = pairs.p256();
      const key = engine.fromCryptoKey(await cryptoKey(publicKey, 'ES256'), 'ES256');
      if (typeof key === 'string') throw new Error(key);
      const signature = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      expect(await engine.verify(key, data, signature)).toBe(true);
      expect(await engine.verify(key, data, signature.subarray(0, 63))).toBe(false);
      const der = sign('sha256', data, { key: privateKey, dsaEncoding: 'der' });
      expect(await engine.verify(key, data, der)).toBe(false);
      const other = ENGINES.find((e) => e !== engine) as Engine;
      const foreign = other.fromCryptoKey(await cryptoKey(publicKey, 'ES256'), 'ES256');
      if (typeof foreign === 'string') throw new Error(foreign);
      expect(await engine.verify(foreign, data, signature)).toBe(false);
    });
  }

  it('node: a key that crypto.verify refuses to use is a failed check, not a throw', () => {
    const node = getEngine('node');
    const ed = pairs.ed25519().publicKey;
    expect(node.verify({ engine: 'node', alg: 'RS256', key: ed }, data, new Uint8Array(256))).toBe(false);
    const x25519 = generateKeyPairSync('x25519').publicKey;
    expect(node.verify({ engine: 'node', alg: 'EdDSA', key: x25519 }, data, new Uint8Array(64))).toBe(false);
  });

  it('webcrypto: a key without the verify usage is a failed check, not a throw', async () => {
    const web = getEngine('webcrypto');
    const signOnly = await crypto.subtle.importKey(
      'raw',
      new Uint8Array(32),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    );
    const key = { engine: 'webcrypto', alg: 'HS256', key: signOnly, params: { name: 'HMAC' } } as const;
    expect(await web.verify(key, data, new Uint8Array(32))).toBe(false);
  });

  for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
    it(`${alg}: both engines verify the MAC and refuse a truncated one`, async () => {
      const secret = new Uint8Array(64).fill(7);
      const { createHmac } = await import('node:crypto');
      const mac = createHmac(`sha${alg.slice(2)}`, secret)
        .update(data)
        .digest();
      for (const engine of ENGINES) {
        const key = await engine.fromSecret(secret, alg);
        expect(await engine.verify(key, data, mac)).toBe(true);
        expect(await engine.verify(key, data, mac.subarray(0, 16))).toBe(false);
        expect(await engine.verify(key, data, Buffer.concat([mac, Buffer.from([0])]))).toBe(false);
      }
      expect(ALGORITHMS[alg].signatureBytes).toBe(mac.length);
    });
  }
});

describe('unusable keys in a set are skipped with a warning, never used', () => {
  for (const crypto of ['node', 'webcrypto'] as const) {
    it(`${crypto}: a weak RSA key gives unknown_key and a logged problem`, async () => {
      const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
      const jwk = { ...(await exportJWK(weak.publicKey)), kid: 'weak', alg: 'RS256' };
      const warnings: string[] = [];
      const issuer = await createTestIssuer();
      const verifier = createVerifier({
        issuer: issuer.issuer,
        audience: issuer.audience,
        jwks: { keys: [jwk] },
        crypto,
        logger: { warn: (message, details) => warnings.push(`${message} ${JSON.stringify(details)}`) },
      });
      const header = Buffer.from(JSON.stringify({ alg: 'RS256', kid: 'weak' })).toString('base64url');
      const payload = Buffer.from(
        JSON.stringify({ iss: issuer.issuer, aud: issuer.audience, exp: 2e9 }),
      ).toString('base64url');
      const signature = sign('sha256', Buffer.from(`${header}.${payload}`), weak.privateKey).toString(
        'base64url',
      );
      await expect(verifier.verify(`${header}.${payload}.${signature}`)).rejects.toMatchObject({
        status: 401,
        reason: 'unknown_key',
      });
      expect(warnings.join('\n')).toContain('weak_rsa_modulus');
    });

    it(`${crypto}: a key jose cannot import (a point off the curve) gives unknown_key and a logged problem`, async () => {
      const issuer = await createTestIssuer({ algorithm: 'ES256' });
      const warnings: string[] = [];
      const good = issuer.jwks().keys[0] as Record<string, unknown>;
      const verifier = createVerifier({
        issuer: issuer.issuer,
        audience: issuer.audience,
        algorithms: ['ES256'],
        jwks: { keys: [{ ...good, x: good.y }] },
        crypto,
        logger: { warn: (message) => warnings.push(message) },
      });
      await expect(verifier.verify(await issuer.sign())).rejects.toMatchObject({ reason: 'unknown_key' });
      expect(warnings).toEqual(['scopegate: a key of the set could not be imported']);
    });
  }

  it('duplicate kids in a set are reported to the logger', async () => {
    const issuer = await createTestIssuer();
    const warnings: string[] = [];
    const key = issuer.jwks().keys[0] as Record<string, unknown>;
    const verifier = createVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      jwks: { keys: [key, key] },
      logger: { warn: (message) => warnings.push(message) },
    });
    expect(warnings).toEqual(['scopegate: the key set has duplicate "kid" values']);
    // Both candidates are tried; the signature decides.
    await expect(verifier.verify(await issuer.sign())).resolves.toMatchObject({ sub: 'test-user' });
  });
});

describe('bytes.ts without Buffer (edge runtimes)', () => {
  async function webBytes(): Promise<typeof nodeBytes> {
    vi.resetModules();
    vi.stubGlobal('Buffer', undefined);
    try {
      return await import('../../src/core/bytes.js');
    } finally {
      vi.unstubAllGlobals();
    }
  }

  it('the web fallbacks give exactly what the Buffer path gives', async () => {
    const web = await webBytes();
    expect(web.fromBase64url).not.toBe(nodeBytes.fromBase64url);
    for (let length = 0; length < 70; length++) {
      const bytes = new Uint8Array(length).map((_, i) => (i * 37 + length) & 0xff);
      const encoded = nodeBytes.toBase64url(bytes);
      expect(web.toBase64url(bytes)).toBe(encoded);
      expect([...web.fromBase64url(encoded)]).toEqual([...bytes]);
    }
    expect(web.toBase64url(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
    expect([...web.asciiBytes('eyJ.abc')]).toEqual([...nodeBytes.asciiBytes('eyJ.abc')]);
  });
});
