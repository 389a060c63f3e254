/**
 * Enforces the package dependency direction of docs/architecture.md:
 *   tokenizer, tensor-cuda → model, data → eval → trainer
 * by reading each package.json and every static import in its sources. A dynamic import of a
 * package outside the allowed set is accepted only when it is declared as an optional peer
 * dependency (e.g. the model's generate CLI can use @olmo/tokenizer when it is installed).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const ALLOWED: Record<string, string[]> = {
  'tensor-cuda': [],
  tokenizer: [],
  model: ['tensor-cuda'],
  data: ['tensor-cuda', 'tokenizer'],
  eval: ['tensor-cuda', 'tokenizer', 'model', 'data'],
  trainer: ['tensor-cuda', 'tokenizer', 'model', 'data', 'eval'],
};

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.(ts|mts|js|mjs)$/.test(name)) out.push(p);
  }
  return out;
}

describe('package dependency direction', () => {
  for (const [pkg, allowed] of Object.entries(ALLOWED)) {
    it(`@olmo/${pkg} depends only on ${allowed.length ? allowed.map((a) => '@olmo/' + a).join(', ') : 'no other @olmo package'}`, () => {
      const dir = path.join(root, 'packages', pkg);
      const json = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
      const declared = Object.keys({ ...json.dependencies, ...json.devDependencies }).filter((d) => d.startsWith('@olmo/'));
      for (const d of declared) expect(allowed, `${pkg}/package.json declares ${d}`).toContain(d.slice(6));
      const optionalPeers = new Set(Object.entries(json.peerDependenciesMeta ?? {}).filter(([, m]) => (m as { optional?: boolean }).optional).map(([n]) => n));
      for (const file of sources(path.join(dir, 'src'))) {
        const text = readFileSync(file, 'utf8');
        for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*)['"](@olmo\/[\w-]+)/g)) {
          const target = m[1]!.slice(6);
          if (target === pkg) continue;
          const dynamic = m[0].startsWith('import');
          if (dynamic && optionalPeers.has(m[1]!)) continue;
          expect(allowed, `${path.relative(root, file)} imports ${m[1]}`).toContain(target);
        }
        expect(text, `${path.relative(root, file)} imports another package by relative path`).not.toMatch(/from\s+['"]\.\.\/\.\.\/(tensor-cuda|tokenizer|model|data|eval|trainer)\//);
      }
    });
  }
});
