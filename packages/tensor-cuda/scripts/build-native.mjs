#!/usr/bin/env node
// Builds the native addon with cmake-js. Sources come from ./native when this package was
// installed from its tarball (prepack copies them in), else from the monorepo's ../../native.
// Node-API only: cmake-js takes the headers from the node-api-headers package, so nothing is
// downloaded at build time.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(pkgDir, 'package.json'));
const bundled = path.join(pkgDir, 'native');
const monorepo = path.resolve(pkgDir, '../../native');
const sourceDir = existsSync(path.join(bundled, 'CMakeLists.txt')) ? bundled : monorepo;
if (!existsSync(path.join(sourceDir, 'CMakeLists.txt'))) {
  console.error('[olmo] native sources not found (looked in ./native and ../../native)');
  process.exit(1);
}
const addonApiDir = require('node-addon-api').include_dir.replace(/^"|"$/g, '');
const cmakeJs = path.join(path.dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const jobs = String(Math.max(1, (await import('node:os')).availableParallelism?.() ?? 2));
// 'build' (not 'compile'): a failing incremental build must not trigger cmake-js's clean full rebuild.
const args = [cmakeJs, 'build', '-d', sourceDir, '-O', path.join(pkgDir, 'build'), '-p', jobs,
  `--CDNODE_ADDON_API_DIR=${path.resolve(pkgDir, addonApiDir)}`];
// Both options are always passed: a value left in CMakeCache.txt by an earlier build with the
// variable set (e.g. OLMO_NO_CUDA=1 while iterating) must not silently stick to later builds.
args.push(`--CDOLMO_PORTABLE=${process.env.OLMO_PORTABLE === '1' ? 'ON' : 'OFF'}`);
args.push(`--CDOLMO_ENABLE_CUDA=${process.env.OLMO_NO_CUDA === '1' ? 'OFF' : 'ON'}`);
// cmake-js 'build' configures only a fresh folder: in an existing one the -D options above are
// ignored. So when CMakeCache.txt holds other values (a folder last built with OLMO_NO_CUDA=1),
// reconfigure it in place first; otherwise a normal build would silently stay CPU-only.
const wanted = { OLMO_PORTABLE: process.env.OLMO_PORTABLE === '1' ? 'ON' : 'OFF', OLMO_ENABLE_CUDA: process.env.OLMO_NO_CUDA === '1' ? 'OFF' : 'ON' };
const cachePath = path.join(pkgDir, 'build', 'CMakeCache.txt');
if (existsSync(cachePath)) {
  const cache = (await import('node:fs')).readFileSync(cachePath, 'utf8');
  const stale = Object.entries(wanted).filter(([k, v]) => !new RegExp(`^${k}:[A-Z]+=${v}$`, 'm').test(cache));
  if (stale.length > 0) {
    console.log(`[olmo] reconfiguring the existing build folder (${stale.map(([k, v]) => `${k}=${v}`).join(', ')})`);
    const rc = spawnSync('cmake', [...Object.entries(wanted).map(([k, v]) => `-D${k}=${v}`), '.'], { cwd: path.join(pkgDir, 'build'), stdio: 'inherit' });
    if (rc.status !== 0) process.exit(rc.status ?? 1);
  }
}
console.log(`[olmo] building the native addon from ${sourceDir} (cmake-js, ${jobs} jobs)`);
// Serialise concurrent builds of the same build folder (parallel test runs, workspace scripts):
// two ninja processes in one build tree corrupt each other's state.
const lock = path.join(pkgDir, 'build', '.build.lock');
(await import('node:fs')).mkdirSync(path.dirname(lock), { recursive: true });
const hasFlock = spawnSync('flock', ['--version'], { stdio: 'ignore' }).status === 0;
const r = hasFlock
  ? spawnSync('flock', [lock, process.execPath, ...args], { cwd: pkgDir, stdio: 'inherit' })
  : spawnSync(process.execPath, args, { cwd: pkgDir, stdio: 'inherit' });
if (r.status !== 0) {
  console.error('[olmo] native build failed. On Debian/Ubuntu: apt-get install -y cmake g++ libopenblas-dev');
  process.exit(r.status ?? 1);
}
