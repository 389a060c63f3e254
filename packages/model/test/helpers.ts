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

/**
 * Independent reference for float32 → bf16 / f16 rounding (round to nearest, ties to even), written
 * from the format definitions in float64 arithmetic — it shares no code with the bit-twiddling
 * conversions under test. `sigBits` counts the implicit bit (bf16: 8, f16: 11); `minExp` is the
 * smallest normal exponent (bf16: -126, f16: -14); `maxFinite` the largest finite value.
 */
function roundToFormat(x: number, sigBits: number, minExp: number, maxFinite: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--; // log2 can be off by one ulp next to powers of two
  if (2 ** (e + 1) <= a) e++;
  const ulp = 2 ** (Math.max(e, minExp) - (sigBits - 1)); // below minExp the spacing stays fixed (subnormals)
  const q = a / ulp; // exact: a has at most 24 significant bits
  let r = Math.floor(q);
  const frac = q - r;
  if (frac > 0.5 || (frac === 0.5 && r % 2 === 1)) r++;
  const v = r * ulp;
  // IEEE overflow: anything that rounds beyond maxFinite becomes infinity.
  return Math.sign(x) * (v > maxFinite ? Infinity : v);
}
export const bf16Reference = (x: number): number => roundToFormat(x, 8, -126, 3.3895313892515355e38);
export const f16Reference = (x: number): number => roundToFormat(x, 11, -14, 65504);
