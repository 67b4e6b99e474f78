/**
 * Section "fields": field-level auth at list scale. 1000 items x 5 protected fields through
 * `yoga.fetch` in-process, time per request against the same schema unprotected, for scopegate's
 * `@auth`, graphql-shield (+ graphql-middleware), `@envelop/generic-auth` and a hand-written
 * synchronous scope check in each resolver.
 */
import { useGenericAuth } from '@envelop/generic-auth';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { GraphQLError } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { rule, shield } from 'graphql-shield';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { JWTPayload } from 'jose';
import { authDirective, useAuth } from '../src/graphql/index.js';
import { baselineLabel, baselineModule } from './baseline.js';
import { check, fmt, interleave, table } from './common.js';
import { bearerOf, benchTokens, SCOPE, scopesOf } from './tokens.js';

export const ITEMS = 1000;
const FIELDS = ['f1', 'f2', 'f3', 'f4', 'f5'] as const;
const QUERY = `{ items { id ${FIELDS.join(' ')} } }`;

const items = Array.from({ length: ITEMS }, (_, i) => ({
  id: String(i),
  ...Object.fromEntries(FIELDS.map((f) => [f, `${f}-${i}`])),
}));

const sdl = (directive: (field: string) => string) =>
  `type Item { id: ID! ${FIELDS.map((f) => `${f}: String${directive(f)}`).join(' ')} }\ntype Query { items: [Item!]! }`;

type Yoga = YogaServerInstance<Record<string, unknown>, Record<string, unknown>>;
type JoseContext = { claims: JWTPayload | null; scopes: ReadonlySet<string> };

export interface FieldContender {
  readonly name: string;
  readonly yoga: Yoga;
  /** False for the unprotected baseline (not checked for refusals). */
  readonly protected: boolean;
}

export async function fieldContenders(): Promise<{
  contenders: FieldContender[];
  tokens: Awaited<ReturnType<typeof benchTokens>>['tokens'];
}> {
  const { verifier, joseVerify, tokens, issuer, options } = await benchTokens();
  const resolvers = { Query: { items: () => items } };
  const yogaOf = (options: Parameters<typeof createYoga>[0]) =>
    createYoga({ logging: false, graphiql: false, ...options }) as unknown as Yoga;

  // What the peers share: the request's claims verified once with jose in the context (null when
  // missing or invalid), the way their documentation suggests.
  const joseContext = async ({ request }: { request: Request }): Promise<JoseContext> => {
    const token = bearerOf(request.headers.get('authorization'));
    const claims = token ? await joseVerify(token).catch(() => null) : null;
    return { claims, scopes: scopesOf(claims) };
  };

  const unprotected = yogaOf({ schema: makeExecutableSchema({ typeDefs: sdl(() => ''), resolvers }) });

  const { typeDefs: authTypeDefs, transformer } = authDirective({ scopes: [SCOPE] });
  const scopegate = yogaOf({
    schema: transformer(
      makeExecutableSchema({
        typeDefs: [authTypeDefs, sdl(() => ` @auth(scopes: ["${SCOPE}"])`)],
        resolvers,
      }),
    ),
    plugins: [useAuth({ verifier })],
  });

  // The same server built from the baseline's src/ (--baseline), when asked for.
  const before = await baselineModule<typeof import('../src/graphql/index.js')>('graphql/index.ts');
  const beforeCore = await baselineModule<typeof import('../src/core/index.js')>('core/index.ts');
  let scopegateBefore: Yoga | undefined;
  if (before && beforeCore) {
    const old = before.authDirective({ scopes: [SCOPE] });
    scopegateBefore = yogaOf({
      schema: old.transformer(
        makeExecutableSchema({
          typeDefs: [old.typeDefs, sdl(() => ` @auth(scopes: ["${SCOPE}"])`)],
          resolvers,
        }),
      ),
      plugins: [before.useAuth({ verifier: beforeCore.createVerifier({ ...options, jwks: issuer.jwks() }) })],
    });
  }

  const hasScope = rule({ cache: 'contextual' })((_parent, _args, ctx: JoseContext) =>
    ctx.claims === null ? new GraphQLError('Unauthenticated') : ctx.scopes.has(SCOPE),
  );
  const shieldYoga = yogaOf({
    schema: applyMiddleware(
      makeExecutableSchema({ typeDefs: sdl(() => ''), resolvers }),
      shield({ Item: Object.fromEntries(FIELDS.map((f) => [f, hasScope])) }),
    ),
    context: joseContext,
  });

  const genericAuth = yogaOf({
    schema: makeExecutableSchema({
      typeDefs: [
        'directive @requiresScopes(scopes: [[String!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE',
        sdl(() => ` @requiresScopes(scopes: [["${SCOPE}"]])`),
      ],
      resolvers,
    }),
    context: joseContext,
    plugins: [
      useGenericAuth<JWTPayload, JoseContext & Record<string, unknown>>({
        mode: 'protect-granular',
        resolveUserFn: (ctx) => ctx.claims,
        extractScopes: (user) => [...scopesOf(user)],
      }),
    ],
  });

  const handCheck = (ctx: JoseContext) => {
    if (ctx.claims === null)
      throw new GraphQLError('Unauthenticated', { extensions: { code: 'UNAUTHENTICATED' } });
    if (!ctx.scopes.has(SCOPE)) throw new GraphQLError('Forbidden', { extensions: { code: 'FORBIDDEN' } });
  };
  const handWritten = yogaOf({
    schema: makeExecutableSchema({
      typeDefs: sdl(() => ''),
      resolvers: {
        ...resolvers,
        Item: Object.fromEntries(
          FIELDS.map((f) => [
            f,
            (item: Record<string, string>, _args: unknown, ctx: JoseContext) => {
              handCheck(ctx);
              return item[f];
            },
          ]),
        ),
      },
    }),
    context: joseContext,
  });

  return {
    tokens,
    contenders: [
      { name: 'unprotected', yoga: unprotected, protected: false },
      { name: 'scopegate @auth', yoga: scopegate, protected: true },
      ...(scopegateBefore
        ? [{ name: `scopegate @auth ${baselineLabel()}`, yoga: scopegateBefore, protected: true }]
        : []),
      { name: 'graphql-shield', yoga: shieldYoga, protected: true },
      { name: '@envelop/generic-auth', yoga: genericAuth, protected: true },
      { name: 'hand-written check', yoga: handWritten, protected: true },
    ],
  };
}

interface Result {
  data?: { items?: Record<string, string | null>[] } | null;
  errors?: unknown[];
}

export async function query(yoga: Yoga, token: string | null): Promise<Result> {
  const response = await yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token !== null && { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({ query: QUERY }),
  });
  return (await response.json()) as Result;
}

/** A good token reads every value; a missing, forged or under-scoped one reads none. */
export async function checkFieldContender(
  contender: FieldContender,
  tokens: Awaited<ReturnType<typeof benchTokens>>['tokens'],
): Promise<void> {
  const ok = await query(contender.yoga, tokens.good);
  check(!ok.errors && ok.data?.items?.length === ITEMS, `${contender.name}: a good token is served`);
  check(ok.data?.items?.[ITEMS - 1]?.f5 === `f5-${ITEMS - 1}`, `${contender.name}: values served`);
  if (!contender.protected) return;
  for (const [what, token] of [
    ['missing', null],
    ['forged', tokens.forged],
    ['under-scoped', tokens.underScoped],
  ] as const) {
    const denied = await query(contender.yoga, token);
    const leaked = (denied.data?.items ?? []).filter((item) => FIELDS.some((f) => item[f] != null)).length;
    check((denied.errors?.length ?? 0) > 0, `${contender.name} reports an error for a ${what} token`);
    check(leaked === 0, `${contender.name} leaks ${leaked} items to a ${what} token`);
  }
}

export async function fieldsSection(options: { rounds: number }): Promise<string> {
  const { contenders, tokens } = await fieldContenders();
  for (const contender of contenders) await checkFieldContender(contender, tokens);
  const perRequest = await interleave(
    contenders.map((c) => ({ name: c.name, run: () => query(c.yoga, tokens.good) })),
    { rounds: options.rounds, iterations: 40, warmup: 4, maxMs: 500 },
  );
  const base = perRequest.get('unprotected') as number;
  const protectedFields = ITEMS * FIELDS.length;
  const rows = contenders.map((c) => {
    const us = perRequest.get(c.name) as number;
    return [
      c.name,
      fmt(us / 1000, 2),
      `${(us / base).toFixed(2)}x`,
      c.protected ? fmt((us - base) / protectedFields, 2) : '-',
    ];
  });
  return [
    `Field-level auth, ${ITEMS} items x ${FIELDS.length} protected fields, \`yoga.fetch\` in-process, median of ${options.rounds} interleaved rounds, Node ${process.version}`,
    '',
    table(
      ['contender', 'ms / request', 'vs unprotected', 'us per protected field'],
      ['l', 'r', 'r', 'r'],
      rows,
    ),
  ].join('\n');
}
