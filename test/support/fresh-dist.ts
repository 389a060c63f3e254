/**
 * Tests that run compiled `dist/` JavaScript (MPI workers, the `olmo` CLI under mpirun, the demo,
 * kill-and-resume, npm pack) must never test stale code after a source edit. `ensureFreshDist`
 * compares every `src/**\/*.ts` with its `dist/**\/*.js` (mtime) for the named packages and the
 * @olmo packages they depend on, and rebuilds a stale package with `tsc -p` (dependencies first).
 * With OLMO_NO_REBUILD=1 it refuses instead: it throws, naming the stale file and the command.
 *
 * TypeScript only: the native addon (build/Release/olmo_native.node) is not checked here.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const packagesDir = path.join(repoRoot, 'packages');

/** Short package folder names ('model', 'tensor-cuda', ...) of the @olmo dependencies of `name`. */
function olmoDeps(name: string): string[] {
  const pj = JSON.parse(readFileSync(path.join(packagesDir, name, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  const all = { ...pj.dependencies, ...pj.peerDependencies, ...pj.optionalDependencies };
  return Object.keys(all).filter((d) => d.startsWith('@olmo/')).map((d) => d.slice('@olmo/'.length));
}

/** `names` plus their transitive @olmo dependencies, dependencies before dependents. */
export function withDependencies(names: string[]): string[] {
  const order: string[] = [];
  const visit = (n: string) => {
    if (order.includes(n)) return;
    for (const d of olmoDeps(n)) visit(d);
    order.push(n);
  };
  names.forEach(visit);
  return order;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/**
 * Why `name`'s dist is stale (a source file with no output, or an output older than its source), or
 * null when every src/**\/*.ts has a dist/**\/*.js at least as new.
 */
export function distStaleness(name: string, packagesRoot = packagesDir): string | null {
  const src = path.join(packagesRoot, name, 'src');
  const dist = path.join(packagesRoot, name, 'dist');
  for (const file of tsFiles(src)) {
    const rel = path.relative(src, file).replace(/\.ts$/, '.js');
    const out = path.join(dist, rel);
    if (!existsSync(out)) return `packages/${name}/dist/${rel} is missing`;
    if (statSync(out).mtimeMs < statSync(file).mtimeMs) return `packages/${name}/dist/${rel} is older than src/${path.relative(src, file)}`;
  }
  return null;
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** One rebuild at a time per package across parallel test files (a lock directory beside dist/). */
function withLock<T>(name: string, fn: () => T): T {
  const lock = path.join(packagesDir, name, '.dist-rebuild.lock');
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock left by a killed run is older than any real build; take it over.
      try { if (Date.now() - statSync(lock).mtimeMs > 10 * 60_000) rmdirSync(lock); } catch { /* gone meanwhile */ }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock} (another test is rebuilding ${name})`);
      sleep(200);
    }
  }
  try { return fn(); } finally { rmdirSync(lock); }
}

/**
 * Makes the dist of `names` (and of their @olmo dependencies) current, or throws. Returns the
 * packages that were rebuilt. Call it in a beforeAll (a rebuild takes ~10-60 s on 2 cores).
 */
export function ensureFreshDist(names: string[]): string[] {
  const rebuilt: string[] = [];
  for (const name of withDependencies(names)) {
    const why = distStaleness(name);
    if (!why) continue;
    const cmd = `npx tsc -p packages/${name}/tsconfig.json`;
    if (process.env.OLMO_NO_REBUILD === '1') {
      throw new Error(`stale dist: ${why}; these tests run the compiled JS, so they would test old code. Run \`${cmd}\` (or unset OLMO_NO_REBUILD to rebuild automatically).`);
    }
    withLock(name, () => {
      if (!distStaleness(name)) return; // rebuilt by a parallel test file while we waited
      console.warn(`[fresh-dist] ${why}: rebuilding (${cmd})`);
      const r = spawnSync(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', path.join(packagesDir, name, 'tsconfig.json')], { cwd: repoRoot, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`stale dist (${why}) and \`${cmd}\` failed:\n${r.stdout}${r.stderr}`);
      const still = distStaleness(name);
      if (still) throw new Error(`\`${cmd}\` succeeded but the dist is still stale: ${still}`);
    });
    rebuilt.push(name);
  }
  return rebuilt;
}
