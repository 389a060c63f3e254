#!/usr/bin/env node
// Copies the monorepo's native/ sources into this package so the packed tarball can build the
// addon from source (`npm install ./olmo-tensor-cuda-x.y.z.tgz` in an empty folder).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.resolve(pkgDir, '../../native');
const dst = path.join(pkgDir, 'native');
// Always pack freshly compiled JS.
const tsc = createRequire(path.join(pkgDir, 'package.json')).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', path.join(pkgDir, 'tsconfig.json')], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
if (!existsSync(path.join(src, 'CMakeLists.txt'))) {
  if (existsSync(path.join(dst, 'CMakeLists.txt'))) process.exit(0); // already bundled
  console.error('[olmo] prepack: ../../native not found');
  process.exit(1);
}
rmSync(dst, { recursive: true, force: true });
cpSync(src, dst, { recursive: true, filter: (p) => !p.includes(`${path.sep}dev${path.sep}`) && !p.endsWith(`${path.sep}dev`) });
console.log(`[olmo] prepack: bundled native sources into ${dst}`);
