/** The option types of static keys and `selectIssuers`: one key source, a resolver of names. */
import { describe, expectTypeOf, it } from 'vitest';
import {
  createVerifier,
  type IssuerSelector,
  type RequestLike,
  type VerifyOptions,
} from '../../src/core/index.js';

const base = { issuer: 'https://issuer.example.test/', audience: 'https://api.example.test' } as const;
const pem = '-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----';

describe('static key options', () => {
  it('publicKey and jwk are key sources, exclusive with each other and the others', () => {
    createVerifier({ ...base, publicKey: pem, algorithms: ['RS256'] });
    createVerifier({ ...base, jwk: { kty: 'OKP', crv: 'Ed25519', x: 'x', alg: 'EdDSA' } });
    createVerifier({ audience: 'a', issuers: [{ issuer: 'i', publicKey: pem, algorithms: ['ES256'] }] });
    // @ts-expect-error two key sources
    createVerifier({ ...base, publicKey: pem, jwk: { kty: 'RSA' } });
    // @ts-expect-error two key sources
    createVerifier({ ...base, jwksUri: 'https://x', publicKey: pem });
    // @ts-expect-error a key source beside "issuers"
    createVerifier({ audience: 'a', issuers: [{ issuer: 'i' }], publicKey: pem });
    // @ts-expect-error "domain" implies its key source
    createVerifier({ domain: 'tenant.example.test', audience: 'a', jwk: { kty: 'RSA' } });
  });
});

describe('selectIssuers', () => {
  it('receives the request, returns names (sync or async)', () => {
    expectTypeOf<Parameters<IssuerSelector>[0]>().toEqualTypeOf<RequestLike>();
    createVerifier({ ...base, selectIssuers: () => 'https://issuer.example.test/' });
    createVerifier({ ...base, selectIssuers: async () => ['a', 'b'] });
    createVerifier({ ...base, selectIssuers: () => undefined });
    // @ts-expect-error not names
    createVerifier({ ...base, selectIssuers: () => 42 });
    expectTypeOf<VerifyOptions['issuers']>().toEqualTypeOf<string | readonly string[] | undefined>();
  });
});
