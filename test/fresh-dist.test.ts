/** The stale-dist guard used by every test that runs compiled dist/ code (test/support/fresh-dist.ts). */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { distStaleness, withDependencies } from './support/fresh-dist.js';

const root = mkdtempSync(path.join(tmpdir(), 'olmo-fresh-dist-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function file(rel: string, mtimeS: number): void {
  const p = path.join(root, rel);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, '');
  utimesSync(p, mtimeS, mtimeS);
}

describe('distStaleness', () => {
  it('is null when every src .ts has a newer dist .js, and names the stale or missing file otherwise', () => {
    file('x/src/index.ts', 1000);
    file('x/src/ops/add.ts', 1000);
    file('x/src/types.d.ts', 5000); // declaration files emit nothing
    file('x/dist/index.js', 2000);
    file('x/dist/ops/add.js', 2000);
    expect(distStaleness('x', root)).toBeNull();
    file('x/src/ops/add.ts', 3000); // a source edit after the build
    expect(distStaleness('x', root)).toBe('packages/x/dist/ops/add.js is older than src/ops/add.ts');
    file('x/dist/ops/add.js', 3000);
    expect(distStaleness('x', root)).toBeNull();
    file('x/src/ops/mul.ts', 1000); // a new source never built
    expect(distStaleness('x', root)).toBe('packages/x/dist/ops/mul.js is missing');
  });
});

describe('withDependencies', () => {
  it('adds the @olmo dependencies, dependencies first', () => {
    const order = withDependencies(['trainer']);
    expect(new Set(order)).toEqual(new Set(['tensor-cuda', 'tokenizer', 'model', 'data', 'eval', 'trainer']));
    const at = (n: string) => order.indexOf(n);
    expect(at('tensor-cuda')).toBeLessThan(at('model'));
    expect(at('model')).toBeLessThan(at('eval'));
    expect(at('data')).toBeLessThan(at('eval'));
    expect(at('eval')).toBeLessThan(at('trainer'));
    expect(withDependencies(['tokenizer'])).toEqual(['tokenizer']);
  });
});
