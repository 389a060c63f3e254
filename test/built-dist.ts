/**
 * Tests that run compiled JS (examples, mpirun workers) import the packages' dist/, which may be
 * older than src/ in a working tree: rebuild (tsc only, dependencies first) each stale package.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '..');
/** Dependency order (see docs/architecture.md). */
const ORDER = ['tensor-cuda', 'tokenizer', 'model', 'data', 'eval', 'trainer'];

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir)) { const p = join(dir, e); const s = statSync(p); t = Math.max(t, s.isDirectory() ? newestMtime(p) : s.mtimeMs); }
  return t;
}

/** Rebuilds every package in `names` whose dist/index.js is older than its newest source file. */
export function ensureBuilt(names: string[] = ORDER): void {
  for (const name of ORDER.filter((n) => names.includes(n))) {
    const dir = join(repoRoot, 'packages', name);
    const marker = join(dir, 'dist/index.js');
    if (existsSync(marker) && statSync(marker).mtimeMs >= newestMtime(join(dir, 'src'))) continue;
    console.warn(`[build] rebuilding stale ${name} dist`);
    const r = spawnSync('npx', ['tsc', '-p', join(dir, 'tsconfig.json')], { cwd: repoRoot, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${name} build failed:\n${r.stdout}${r.stderr}`);
  }
}
