/**
 * Runs the example: `node --import tsx examples/apollo/main.ts`, then open
 * http://127.0.0.1:4000/ (Apollo Sandbox, or POST GraphQL there).
 *
 * With OIDC_ISSUER and API_AUDIENCE set, tokens from that issuer are accepted (discovery, JWKS).
 * Without them, a local test issuer is used and a token with every scope is printed: send it as
 * `Authorization: Bearer <token>`.
 */
import { startStandaloneServer } from '@apollo/server/standalone';
import { createVerifier, type Verifier } from 'scopegate';
import { createTestIssuer } from 'scopegate/testing';
import { createApp, SCOPES } from './app.js';

async function verifierFromEnvironment(): Promise<Verifier> {
  const issuer = process.env.OIDC_ISSUER;
  const audience = process.env.API_AUDIENCE;
  if (issuer && audience) return createVerifier({ issuer, audience });
  const local = await createTestIssuer({ audience: 'https://notes.example.test' });
  const token = await local.sign({ scope: SCOPES.join(' '), email: 'ada@example.test' }, { expiresIn: 3600 });
  console.log(
    `No OIDC_ISSUER/API_AUDIENCE: using a local test issuer. A token valid for 1 hour:\n\n${token}\n`,
  );
  return createVerifier(local.verifierOptions);
}

const { server, context } = createApp(await verifierFromEnvironment());
const { url } = await startStandaloneServer(server, {
  context,
  listen: { port: Number(process.env.PORT ?? 4000), host: '127.0.0.1' },
});
console.log(`GraphQL API on ${url}`);
