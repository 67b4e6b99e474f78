/**
 * Runs the example: `node --import tsx examples/apollo/main.ts`, then POST GraphQL to
 * http://127.0.0.1:4000/graphql.
 *
 * With OIDC_ISSUER and API_AUDIENCE set, tokens from that issuer are accepted (discovery, JWKS).
 * Without them, a local test issuer is used and a token with every scope is printed: send it as
 * `Authorization: Bearer <token>`.
 *
 * Served with Express (not `startStandaloneServer`) to configure CORS: browsers may send the
 * `DPoP` header, and must be allowed to read `WWW-Authenticate` and `DPoP-Nonce`.
 */
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
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

/** CORS: the token and the DPoP proof travel in headers; the client reads the challenge and nonce. */
const cors: express.RequestHandler = (req, res, next) => {
  res.setHeader('access-control-allow-origin', '*');
  res.setHeader('access-control-expose-headers', 'WWW-Authenticate, DPoP-Nonce, Retry-After');
  if (req.method === 'OPTIONS') {
    res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
    res.setHeader(
      'access-control-allow-headers',
      'authorization, content-type, dpop, apollo-require-preflight',
    );
    res.setHeader('access-control-max-age', '600');
    res.status(204).end();
    return;
  }
  next();
};

const { server, context } = createApp(await verifierFromEnvironment());
await server.start();
const app = express();
app.use('/graphql', cors, express.json(), expressMiddleware(server, { context }));
const port = Number(process.env.PORT ?? 4000);
const listener = app.listen(port, '127.0.0.1', () => {
  console.log(`GraphQL API on http://127.0.0.1:${port}/graphql`);
});
const shutdown = () => listener.close(() => void server.stop());
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
