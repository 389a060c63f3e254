#!/usr/bin/env node
// npm `install` hook: builds the native addon from source unless a build already exists.
// Set OLMO_SKIP_NATIVE_BUILD=1 to skip (e.g. when a prebuilt addon is provided via OLMO_NATIVE_PATH).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const pkgDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (process.env.OLMO_SKIP_NATIVE_BUILD === '1') {
  console.log('[olmo] OLMO_SKIP_NATIVE_BUILD=1: not building the native addon');
  process.exit(0);
}
if (existsSync(path.join(pkgDir, 'build', 'Release', 'olmo_native.node'))) process.exit(0);
const r = spawnSync(process.execPath, [path.join(pkgDir, 'scripts', 'build-native.mjs')], { stdio: 'inherit' });
process.exit(r.status ?? 1);
