/**
 * Runs the example: `node --import tsx examples/graphql-yoga/main.ts`, then open
 * http://127.0.0.1:4000/graphql (GraphiQL).
 *
 * With OIDC_ISSUER and API_AUDIENCE set, tokens from that issuer are accepted (discovery, JWKS).
 * Without them, a local test issuer is used and a token with every scope is printed: paste it in
 * GraphiQL's headers as { "Authorization": "Bearer <token>" }.
 */
import { createServer } from 'node:http';
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

const port = Number(process.env.PORT ?? 4000);
const server = createServer(createApp(await verifierFromEnvironment()));
server.listen(port, '127.0.0.1', () => {
  console.log(`GraphQL API and GraphiQL on http://127.0.0.1:${port}/graphql`);
});
