/** Dolma-style YAML configs: unknown keys are errors (listing the valid ones), types are checked. */
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { configInvalid, notFound } from '../errors.js';

export type Cfg = Record<string, unknown>;

export function loadYamlConfig(file: string, keys: readonly string[]): Cfg {
  if (!existsSync(file)) throw notFound(file, 'config file not found');
  let c: unknown;
  try {
    c = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw configInvalid(`cannot parse YAML: ${(e as Error).message}`, 'fix the YAML syntax', file);
  }
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw configInvalid('config must be a mapping', 'see the @olmo/data README', file);
  for (const k of Object.keys(c)) if (!keys.includes(k)) throw configInvalid(`unknown key '${k}'`, `valid keys: ${keys.join(', ')}`, file);
  return c as Cfg;
}

export function str(c: Cfg, k: string, file?: string): string | undefined {
  const v = c[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw configInvalid(`'${k}' must be a string`, 'fix the config', file);
  return v;
}
export function int(c: Cfg, k: string, file?: string): number | undefined {
  const v = c[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw configInvalid(`'${k}' must be a non-negative integer`, 'fix the config', file);
  return v;
}
export function num(c: Cfg, k: string, file?: string): number | undefined {
  const v = c[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw configInvalid(`'${k}' must be a number`, 'fix the config', file);
  return v;
}
export function bool(c: Cfg, k: string, file?: string): boolean | undefined {
  const v = c[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw configInvalid(`'${k}' must be true or false`, 'fix the config', file);
  return v;
}
export function list(c: Cfg, k: string, file?: string): string[] | undefined {
  const v = c[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw configInvalid(`'${k}' must be a list of strings`, 'fix the config', file);
  return v as string[];
}
export function obj(c: Cfg, k: string, file?: string): Cfg | undefined {
  const v = c[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw configInvalid(`'${k}' must be a mapping`, 'fix the config', file);
  return v as Cfg;
}
