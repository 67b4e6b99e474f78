import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

// CI runs the suite on graphql 16 (Node 20) and 17 (Node 22, 24). Apollo Server 5 declares graphql
// 16 as its peer, so its tests run on graphql 16 only.
const graphqlMajor = Number(
  (
    JSON.parse(readFileSync(new URL('./node_modules/graphql/package.json', import.meta.url), 'utf8')) as {
      version: string;
    }
  ).version.split('.')[0],
);
const apolloTests = graphqlMajor >= 17 ? ['test/apollo/**', 'examples/apollo/**'] : [];

export default defineConfig({
  // Vite would resolve `graphql` to its .mjs build while yoga, graphql-ws and graphql-tools load
  // the CommonJS one through Node: two copies break `instanceof GraphQLError` and schema checks
  // ("from another realm"). Plain Node (users, the examples, dist/) loads one copy already.
  resolve: {
    alias: [
      // Examples import the package by name, as users do; tests run them against src/.
      { find: /^scopegate$/, replacement: fileURLToPath(new URL('./src/core/index.ts', import.meta.url)) },
      {
        find: /^scopegate\/(trpc|graphql|apollo|client|testing)$/,
        replacement: fileURLToPath(new URL('./src/$1/index.ts', import.meta.url)),
      },
      // The file Node's own `require('graphql')` loads: index.js for graphql 16; for graphql 17 on
      // Node 22+, index.mjs (its "module-sync" condition serves require and import alike).
      { find: /^graphql$/, replacement: createRequire(import.meta.url).resolve('graphql') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...apolloTests],
    testTimeout: 20_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'coverage/vitest-results.json' },
    hookTimeout: 20_000,
    typecheck: {
      enabled: true,
      include: ['test/**/*.test-d.ts'],
      tsconfig: './tsconfig.json',
    },
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'text'],
      thresholds: {
        'src/core/**': { lines: 95 },
      },
    },
  },
});
