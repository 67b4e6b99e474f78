/**
 * The published surface: every subpath of the exports map resolves by package name (Node's
 * self-reference, as a user's import would) to built JS with its declarations, and exposes the
 * same names as its source (snapshotted exactly in surface.test.ts). `npm test` builds before
 * vitest runs, so dist/ is current.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as {
  exports: Record<string, string | { types: string; default: string }>;
  dependencies: Record<string, string>;
  sideEffects: boolean;
};

/** The subpaths of the exports map, by the name a user imports them with. */
const SUBPATHS = Object.keys(pkg.exports)
  .filter((key) => key !== './package.json')
  .map((key) => (key === '.' ? 'scopegate' : `scopegate/${key.slice(2)}`));

/** Imports a specifier in a fresh Node process from the package root, as a user would. */
function exportedNames(specifier: string): string[] {
  const output = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `console.log(JSON.stringify(Object.keys(await import(${JSON.stringify(specifier)}))))`,
    ],
    { cwd: root, encoding: 'utf8' },
  );
  return JSON.parse(output) as string[];
}

describe('package exports', () => {
  it('is ESM-only, side-effect free, with jose and dpop as its only runtime dependencies', () => {
    expect(pkg.sideEffects).toBe(false);
    // jose for the core; dpop (panva) signs proofs in scopegate/client's auth fetch, nothing else.
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['dpop', 'jose']);
  });

  for (const specifier of SUBPATHS) {
    it(`${specifier} resolves to built JS and declarations, exporting what its source exports`, async () => {
      const entry = pkg.exports[specifier === 'scopegate' ? '.' : `./${specifier.split('/')[1]}`];
      expect(entry).toBeTypeOf('object');
      const { types, default: js } = entry as { types: string; default: string };
      expect(existsSync(`${root}/${js}`)).toBe(true);
      expect(existsSync(`${root}/${types}`)).toBe(true);
      // The exact names are snapshotted from src in surface.test.ts; dist must match them.
      const source = (await import(
        `${root}/${js.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')}`
      )) as object;
      expect(exportedNames(specifier).sort()).toEqual(Object.keys(source).sort());
    });
  }

  it('the redis entry imports no Redis client: the user passes theirs (an optional peer)', () => {
    const js = readFileSync(`${root}/dist/redis/index.js`, 'utf8');
    expect([...js.matchAll(/^import [^;]* from ['"]([^'"]+)['"]/gm)].map((match) => match[1])).toEqual([
      'node:crypto',
    ]);
  });

  it('the client entry pulls in no server code (every module it reaches, transitively)', () => {
    // Follow the import/export statements from dist/client/index.js (not the examples in doc
    // comments); bare specifiers may only be `dpop`.
    const pending = [`${root}/dist/client/index.js`];
    const seen = new Set<string>();
    const bare = new Set<string>();
    while (pending.length > 0 && seen.size < 100) {
      const file = pending.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      const js = readFileSync(file, 'utf8');
      for (const [, specifier] of js.matchAll(
        /^(?:(?:import|export)\b[^'";]*?\bfrom\s*|import\s*)['"]([^'"]+)['"]/gm,
      )) {
        if (!specifier) continue;
        if (specifier.startsWith('.')) pending.push(fileURLToPath(new URL(specifier, `file://${file}`)));
        else bare.add(specifier);
      }
    }
    expect(seen.size).toBeGreaterThan(3);
    expect([...seen].every((file) => /\/dist\/(client\/|core\/reasons\.js)/.test(file))).toBe(true);
    expect([...bare]).toEqual(['dpop']);
  });
});
