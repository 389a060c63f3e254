/** Shared test helpers for @olmo/model. */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const sharedDir = path.resolve(repoRoot, '../shared');

export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

/** Every golden fixture folder: ../shared/golden/* plus OLMO_GOLDEN_DIRS (colon-separated). */
export function goldenDirs(): { dirs: string[]; reason: string | null } {
  const dirs: string[] = [];
  const base = path.join(sharedDir, 'golden');
  let reason: string | null = null;
  if (existsSync(base)) {
    for (const d of readdirSync(base, { withFileTypes: true })) {
      if (d.isDirectory() && existsSync(path.join(base, d.name, 'config.json'))) dirs.push(path.join(base, d.name));
    }
  } else reason = `${base} not found`;
  for (const d of (process.env.OLMO_GOLDEN_DIRS ?? '').split(':').filter(Boolean)) dirs.push(path.resolve(d));
  return { dirs, reason };
}

export function tmpDir(prefix = 'olmo-model-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}
