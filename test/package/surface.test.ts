/**
 * The public surface, exactly: every name each subpath exports, and the layering of src/.
 *
 * The snapshot is taken from the src entry modules, not from dist: it then holds under a plain
 * `npx vitest run` (dist may be stale or absent), and dist is tsc's one-to-one compile of these
 * modules, so its runtime names are the same. exports.test.ts proves that each subpath resolves by
 * package name to the built files.
 *
 * Adding or removing a public name is a one-line change in SURFACE below (one name per line, in
 * sorted order) plus the name in the README's imports table (runtime names) or its "Exported
 * types" list: both are checked here. Anything that is not public stays off the barrels:
 * adapters import the module that defines it, never `src/core/index.ts`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const src = join(root, 'src');

/** Subpath -> its exports: `values` exist at runtime, `types` only for TypeScript. Sorted. */
const SURFACE: Record<string, { readonly values: readonly string[]; readonly types: readonly string[] }> = {
  scopegate: {
    values: [
      'AuthError',
      'ReplayStoreFullError',
      'authResponseHeaders',
      'checkClaims',
      'checkScopes',
      'claimEquals',
      'claimIncludes',
      'createMemoryReplayStore',
      'createVerifier',
      'endAtExpiry',
      'hasScopes',
      'isAuthError',
      'protectedResourceMetadata',
      'requestHeader',
    ],
    types: [
      'AccessPolicy',
      'Algorithm',
      'AsymmetricAlgorithm',
      'AuthErrorCode',
      'AuthErrorInfo',
      'AuthErrorReason',
      'AuthRefusalReason',
      'AuthScheme',
      'ClaimCheck',
      'ClaimsOf',
      'CommonOptions',
      'DpopMode',
      'DpopNonceOptions',
      'DpopOptions',
      'EngineName',
      'FetchLike',
      'IssuerOptions',
      'IssuerSelection',
      'IssuerSelector',
      'IssuerStatus',
      'JsonWebKey',
      'JsonWebKeySet',
      'JwtClaims',
      'KeyCache',
      'KeyCacheEntry',
      'KeySourceOptions',
      'KeySourceStatus',
      'Logger',
      'MemoryReplayStore',
      'MemoryReplayStoreOptions',
      'MetadataRequest',
      'NodeRequestLike',
      'ProtectedResourceMetadata',
      'ProtectedResourceMetadataDocument',
      'ProtectedResourceMetadataOptions',
      'PublicOrigin',
      'ReplayClaimInfo',
      'ReplayStore',
      'RequestAuth',
      'RequestLike',
      'ScopeAlternatives',
      'ScopeRequirement',
      'ScopeSource',
      'SelectedIssuers',
      'StandardSchemaV1',
      'SymmetricAlgorithm',
      'Verifier',
      'VerifierOptions',
      'VerifierStatus',
      'VerifyOptions',
    ],
  },
  'scopegate/trpc': {
    values: [
      'UnprotectedProcedureError',
      'assertProtected',
      'authErrorFormatter',
      'authResponseMeta',
      'createAuthContext',
      'createAuthProcedures',
      'describeProcedures',
      'requireClaims',
      'requireScopes',
      'toTRPCError',
      'withAuthErrorFormatter',
      'withAuthResponseMeta',
    ],
    types: [
      'AssertProtectedOptions',
      'AuthContext',
      'AuthContextBase',
      'AuthContextOptions',
      'AuthErrorData',
      'AuthErrorFormatterOptions',
      'AuthErrorShape',
      'AuthProcedures',
      'AuthResponseMeta',
      'AuthResponseMetaOptions',
      'AuthorizationMiddleware',
      'ClaimsOfContext',
      'CreateAuthContextOptions',
      'ErrorFormatterInput',
      'ProcedureAccess',
      'VerifiedContext',
    ],
  },
  'scopegate/graphql': {
    values: [
      'UnprotectedFieldError',
      'assertProtected',
      'authDirective',
      'checkOperation',
      'createWsAuth',
      'describeSchema',
      'useAuth',
      'withAuth',
    ],
    types: [
      'AssertProtectedOptions',
      'AuthContext',
      'AuthDirective',
      'AuthDirectiveOptions',
      'AuthErrorExtensions',
      'AuthRequirement',
      'FieldAccess',
      'OperationToCheck',
      'Precheck',
      'RootOperation',
      'UseAuthOptions',
      'WsAuth',
      'WsAuthOptions',
      'WsConnectionContext',
      'WsSubscribePayload',
    ],
  },
  'scopegate/apollo': {
    values: ['apolloAuth'],
    types: [
      'ApolloAuth',
      'ApolloAuthOptions',
      'ApolloContextArgs',
      'AuthContext',
      'AuthErrorExtensions',
      'Precheck',
    ],
  },
  'scopegate/client': {
    values: [
      'AUTH_ERROR_CODES',
      'AUTH_ERROR_REASONS',
      'createAuthFetch',
      'dpopConnectionParams',
      'getAuthError',
      'isAuthError',
    ],
    types: [
      'AuthErrorCode',
      'AuthErrorInfo',
      'AuthErrorReason',
      'AuthFetch',
      'AuthFetchInit',
      'AuthFetchOptions',
      'DpopConnectionParams',
      'DpopConnectionParamsOptions',
      'DpopKeyPair',
    ],
  },
  'scopegate/testing': {
    values: ['createTestIssuer'],
    types: [
      'ServedIssuer',
      'SignOptions',
      'TestDpopKey',
      'TestIssuer',
      'TestIssuerOptions',
      'TestProofOptions',
      'TestVerifierOptions',
    ],
  },
  'scopegate/redis': {
    values: ['RedisUnavailableError', 'redisKeyCache', 'redisReplayStore'],
    types: ['RedisClientLike', 'RedisKeyCacheOptions', 'RedisReplayStore', 'RedisStoreOptions'],
  },
};

/** package.json `exports`: subpath -> src entry (`./dist/x/index.js` is built from `src/x/index.ts`). */
function entries(): Map<string, string> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    exports: Record<string, string | { default: string }>;
  };
  const map = new Map<string, string>();
  for (const [key, target] of Object.entries(pkg.exports)) {
    if (key === './package.json') continue;
    const js = typeof target === 'string' ? target : target.default;
    const match = /^\.\/dist\/(.+)\.js$/.exec(js);
    if (!match) throw new Error(`exports["${key}"] does not point into dist/: ${js}`);
    map.set(key === '.' ? 'scopegate' : `scopegate/${key.slice(2)}`, join(src, `${match[1]}.ts`));
  }
  return map;
}

/**
 * Every name an entry module's source exports (values and types), read with the TypeScript parser.
 * Barrels list their names: `export *` and default exports are refused, so nothing joins the
 * surface without a line in the entry module.
 */
function declaredExports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const names: string[] = [];
  for (const statement of source.statements) {
    if (ts.isExportDeclaration(statement)) {
      const clause = statement.exportClause;
      if (!clause || !ts.isNamedExports(clause)) throw new Error(`${file}: \`export *\` is not allowed`);
      for (const element of clause.elements) names.push(element.name.text);
    } else if (ts.isExportAssignment(statement)) {
      throw new Error(`${file}: default exports are not allowed`);
    } else if (ts.canHaveModifiers(statement)) {
      const modifiers = ts.getModifiers(statement) ?? [];
      if (!modifiers.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword)) continue;
      if (modifiers.some((modifier) => modifier.kind === ts.SyntaxKind.DefaultKeyword)) {
        throw new Error(`${file}: default exports are not allowed`);
      }
      if (ts.isVariableStatement(statement)) {
        for (const declaration of statement.declarationList.declarations) {
          if (ts.isIdentifier(declaration.name)) names.push(declaration.name.text);
        }
      } else {
        const name = (statement as ts.DeclarationStatement).name;
        if (name && ts.isIdentifier(name)) names.push(name.text);
      }
    }
  }
  return [...new Set(names)].sort();
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

describe('public surface (exact)', () => {
  it('snapshots every subpath of package.json exports, and only those', () => {
    expect([...entries().keys()].sort()).toEqual(Object.keys(SURFACE).sort());
  });

  it('snapshot lists are sorted and disjoint (one name per line, a one-line change each)', () => {
    for (const { values, types } of Object.values(SURFACE)) {
      expect([...values]).toEqual([...values].sort(byName));
      expect([...types]).toEqual([...types].sort(byName));
      expect(values.filter((name) => types.includes(name))).toEqual([]);
    }
  });

  for (const [specifier, file] of entries()) {
    const expected = SURFACE[specifier];
    it(`${specifier}: runtime exports are exactly the snapshot`, async () => {
      const module = (await import(file)) as Record<string, unknown>;
      expect(Object.keys(module).sort(byName)).toEqual(expected?.values);
    });

    it(`${specifier}: exported types are exactly the snapshot`, () => {
      const all = [...(expected?.values ?? []), ...(expected?.types ?? [])].sort(byName);
      expect(declaredExports(file).sort(byName)).toEqual(all);
    });
  }
});

/**
 * The README's names: the imports table (`| import | what |`, runtime names) and the list under
 * "Exported types" (`- \`scopegate/x\`: \`T\`, ...`). Subpath -> its backticked identifiers.
 */
function readmeNames(): { values: Map<string, string[]>; types: Map<string, string[]> } {
  const names = { values: new Map<string, string[]>(), types: new Map<string, string[]>() };
  const identifiers = (text: string) =>
    [...text.matchAll(/`([A-Za-z_$][\w$]*)`/g)].map((match) => match[1] as string).sort(byName);
  let inTable = false;
  let inTypes = false;
  for (const line of readFileSync(join(root, 'README.md'), 'utf8').split('\n')) {
    if (/^\|\s*import\s*\|\s*what\s*\|/.test(line)) inTable = true;
    else if (!line.startsWith('|')) inTable = false;
    if (line.includes('<summary>Exported types')) inTypes = true;
    else if (line.startsWith('</details>')) inTypes = false;
    const row = inTable ? /^\|\s*`(scopegate[\w/]*)`\s*\|(.*)\|\s*$/.exec(line) : null;
    if (row?.[1] && row[2] !== undefined) names.values.set(row[1], identifiers(row[2]));
    const item = inTypes ? /^- `(scopegate[\w/]*)`:(.*)$/.exec(line) : null;
    if (item?.[1] && item[2] !== undefined) names.types.set(item[1], identifiers(item[2]));
  }
  return names;
}

describe('README documents the surface', () => {
  const { values, types } = readmeNames();
  for (const [specifier, expected] of Object.entries(SURFACE)) {
    it(`${specifier}: the imports table lists its runtime names, "Exported types" its types`, () => {
      expect(values.get(specifier)).toEqual([...expected.values].sort(byName));
      expect(types.get(specifier)).toEqual([...expected.types].sort(byName));
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Layering

interface ImportEdge {
  /** The importing file, relative to the repository root (`src/trpc/errors.ts`). */
  readonly from: string;
  /** A bare specifier (`@trpc/server`), or the imported file relative to the root. */
  readonly to: string;
  readonly bare: boolean;
  /** `import type` / `export type`: erased, no runtime dependency. */
  readonly typeOnly: boolean;
}

const MAX_FILES = 500;

function sourceFiles(dir: string, found: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    if (found.length >= MAX_FILES) throw new Error(`more than ${MAX_FILES} files under src/`);
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, found);
    else if (name.endsWith('.ts')) found.push(path);
  }
  return found;
}

/** Every static import, re-export, `import('x')` and `import('x').T` of a file, comments excluded. */
function importsOf(file: string): ImportEdge[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const edges: ImportEdge[] = [];
  const from = relative(root, file);
  const add = (specifier: string, typeOnly: boolean) => {
    const bare = !specifier.startsWith('.');
    let to = specifier;
    if (!bare) {
      // The sources import `./x.js`; the file on disk is `./x.ts`.
      to = relative(root, resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      if (!existsSync(join(root, to))) throw new Error(`${from}: cannot resolve ${specifier}`);
    }
    edges.push({ from, to, bare, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, node.importClause?.isTypeOnly === true);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      add(node.moduleSpecifier.text, node.isTypeOnly);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      add(node.arguments[0].text, false);
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      add(node.argument.literal.text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

const area = (path: string): string | undefined => /^src\/([^/.]+)\//.exec(path)?.[1];

const GRAPHQL_PACKAGES =
  /^(graphql|graphql\/.*|graphql-yoga|graphql-ws(\/.*)?|@graphql-tools\/.*|@envelop\/.*)$/;

/** The layering rules; each broken rule is one line naming the edge. */
function violations(edges: readonly ImportEdge[]): string[] {
  const found: string[] = [];
  for (const edge of edges) {
    const from = area(edge.from);
    const to = edge.bare ? undefined : area(edge.to);
    const say = (rule: string) => found.push(`${edge.from} -> ${edge.to}: ${rule}`);

    if (from === 'core') {
      // Core depends on jose and Node only.
      if (edge.bare && !(edge.to === 'jose' || edge.to.startsWith('node:'))) {
        say('src/core imports only jose and node:*');
      }
      if (to !== undefined && to !== 'core') say('src/core imports nothing outside src/core');
    }
    if (
      from === 'trpc' &&
      (to === 'graphql' || to === 'apollo' || (edge.bare && GRAPHQL_PACKAGES.test(edge.to)))
    ) {
      say('src/trpc never imports the GraphQL adapters or graphql');
    }
    if (
      from === 'graphql' &&
      (to === 'trpc' || to === 'apollo' || (edge.bare && /^(@trpc|@apollo)\//.test(edge.to)))
    ) {
      say('src/graphql never imports tRPC or Apollo');
    }
    if (from === 'client') {
      if (edge.bare && edge.to !== 'dpop') say('src/client imports no package but dpop');
      if (to !== undefined && to !== 'client' && edge.to !== 'src/core/reasons.ts') {
        say('src/client imports only src/client and src/core/reasons.ts');
      }
    }
    if (from === 'redis' && edge.bare && /^(redis|@redis\/.*)$/.test(edge.to) && !edge.typeOnly) {
      say('src/redis imports no Redis client at runtime (the user passes theirs)');
    }
    if (from !== 'core' && edge.to === 'src/core/index.ts') {
      say('adapters import the core module that defines a name, never the core barrel');
    }
  }
  return found;
}

describe('layering of src/', () => {
  const files = sourceFiles(src);
  const edges = files.flatMap(importsOf);

  it('reads every module and its imports (the rules below see the real graph)', () => {
    expect(files.length).toBeGreaterThan(40);
    for (const name of ['core', 'trpc', 'graphql', 'apollo', 'client', 'redis', 'cli', 'testing']) {
      expect(edges.some((edge) => area(edge.from) === name)).toBe(true);
    }
    expect(edges).toContainEqual({
      from: 'src/trpc/errors.ts',
      to: '@trpc/server',
      bare: true,
      typeOnly: false,
    });
    expect(edges).toContainEqual({
      from: 'src/client/index.ts',
      to: 'src/core/reasons.ts',
      bare: false,
      typeOnly: false,
    });
  });

  it('holds: core is transport-free, the adapters are independent, client and redis stay light', () => {
    expect(violations(edges)).toEqual([]);
  });

  it('each rule catches the edge it forbids', () => {
    const edge = (from: string, to: string, typeOnly = false): ImportEdge => ({
      from,
      to,
      bare: !to.startsWith('src/'),
      typeOnly,
    });
    const forbidden = [
      edge('src/core/x.ts', '@trpc/server'),
      edge('src/core/x.ts', 'graphql'),
      edge('src/core/x.ts', 'graphql-yoga'),
      edge('src/core/x.ts', '@apollo/server'),
      edge('src/core/x.ts', 'redis'),
      edge('src/core/x.ts', 'src/trpc/errors.ts'),
      edge('src/core/x.ts', 'src/graphql/errors.ts'),
      edge('src/core/x.ts', 'src/apollo/index.ts'),
      edge('src/core/x.ts', 'src/redis/index.ts'),
      edge('src/core/x.ts', 'src/client/index.ts'),
      edge('src/core/x.ts', 'src/cli/check.ts'),
      edge('src/trpc/x.ts', 'src/graphql/errors.ts'),
      edge('src/trpc/x.ts', 'graphql'),
      edge('src/graphql/x.ts', 'src/trpc/errors.ts'),
      edge('src/graphql/x.ts', '@trpc/server', true),
      edge('src/client/x.ts', 'src/core/errors.ts'),
      edge('src/client/x.ts', 'jose'),
      edge('src/redis/index.ts', 'redis'),
      edge('src/graphql/x.ts', 'src/core/index.ts'),
      edge('src/cli/x.ts', 'src/core/index.ts'),
    ];
    for (const bad of forbidden) expect(violations([bad]), `${bad.from} -> ${bad.to}`).toHaveLength(1);
    // What the rules allow.
    expect(
      violations([
        edge('src/redis/index.ts', 'redis', true),
        edge('src/client/x.ts', 'src/core/reasons.ts'),
        edge('src/client/x.ts', 'dpop'),
        edge('src/apollo/index.ts', 'src/graphql/plugin.ts'),
        edge('src/core/x.ts', 'jose'),
        edge('src/core/x.ts', 'node:crypto'),
        edge('src/core/index.ts', 'src/core/errors.ts'),
      ]),
    ).toEqual([]);
  });
});
