#!/usr/bin/env node
// Removes the native/ copy made by prepack (it is git-ignored, but keep the tree clean).
import { rmSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (existsSync(path.resolve(pkgDir, '../../native/CMakeLists.txt'))) rmSync(path.join(pkgDir, 'native'), { recursive: true, force: true });
