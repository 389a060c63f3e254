/**
 * The data-related part of an OLMo-style run config (YAML): what `olmo data inspect` needs to
 * rebuild the exact global order the trainer consumes.
 *   seed, global_train_batch_size, model.max_sequence_length, epoch,
 *   data.{paths | datasets | mix, memmap_dtype, drop_last, seed}, tokenizer.identifier
 * `data.seed` overrides `seed` for the data order (as in OLMo). `data.mix` is an olmo-ts extension:
 * a named mix (configs/mixes/<name>.yaml), a path to a mix YAML, or an inline mix object.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configInvalid, notFound } from './errors.js';
import type { TokenDtype } from './manifest.js';
import { DataMix } from './mix.js';

export interface DataRunConfig {
  file?: string;
  seed: number;
  epoch: number;
  globalBatchSize: number;
  seqLen: number;
  dtype: TokenDtype;
  dropLast: boolean;
  /** Plain token-file list (data.paths or data.datasets, in order) with per-path metadata. */
  paths: string[];
  metadata: Record<string, unknown>[];
  mix?: DataMix;
  tokenizerFile?: string;
  /** Directory to cache the global order in (save_folder/train_data when set). */
  orderCacheDir?: string;
}

type Obj = Record<string, unknown>;

export function parseRunConfig(text: string, file?: string, overrides: Partial<DataRunConfig> = {}): DataRunConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw configInvalid(`invalid YAML: ${(e as Error).message}`, 'fix the YAML syntax', file);
  }
  if (!raw || typeof raw !== 'object') throw configInvalid('run config must be a YAML mapping', 'see configs/', file);
  const c = raw as Obj;
  const data = (c.data ?? {}) as Obj;
  const model = (c.model ?? {}) as Obj;
  // Relative paths resolve against the working directory (as OLMo and the trainer do), falling
  // back to the config file's directory when they exist only there.
  const cfgDir = file ? path.dirname(path.resolve(file)) : process.cwd();
  const base = process.cwd();
  const rel = (p: string) => {
    const a = path.resolve(base, p);
    if (existsSync(a) || path.isAbsolute(p)) return a;
    const b = path.resolve(cfgDir, p);
    return existsSync(b) ? b : a;
  };
  const num = (v: unknown, name: string, dflt?: number): number => {
    if (v === undefined || v === null) {
      if (dflt !== undefined) return dflt;
      throw configInvalid(`${name} is required`, `set ${name} in the run config`, file);
    }
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw configInvalid(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`, '', file);
    return v;
  };
  const seed = num(data.seed ?? c.seed, 'seed', 6198);
  const globalBatchSize = num(c.global_train_batch_size, 'global_train_batch_size');
  if (globalBatchSize < 1) throw configInvalid('global_train_batch_size must be >= 1', '', file);
  const seqLen = num(model.max_sequence_length ?? c.max_sequence_length, 'model.max_sequence_length');
  if (seqLen < 1) throw configInvalid('model.max_sequence_length must be >= 1', '', file);
  const dtype = (data.memmap_dtype ?? 'uint16') as string;
  if (dtype !== 'uint16' && dtype !== 'uint32') throw configInvalid(`data.memmap_dtype ${dtype} is not supported (uint16 | uint32)`, '', file);
  const resolveP = (p: unknown): string => {
    if (typeof p !== 'string') throw configInvalid(`data path ${JSON.stringify(p)} is not a string`, '', file);
    if (/^[a-z]+:\/\//.test(p)) throw configInvalid(`remote data path ${p} is not supported`, 'download the files and use local paths', file);
    return rel(p);
  };
  const paths: string[] = [];
  const metadata: Obj[] = [];
  if (Array.isArray(data.paths)) {
    for (const p of data.paths) {
      paths.push(resolveP(p));
      metadata.push({ path: String(p) });
    }
  }
  if (data.datasets && typeof data.datasets === 'object') {
    for (const [label, list] of Object.entries(data.datasets as Obj)) {
      if (!Array.isArray(list)) throw configInvalid(`data.datasets.${label} must be a list of paths`, '', file);
      for (const p of list) {
        paths.push(resolveP(p));
        metadata.push({ label, path: String(p) });
      }
    }
  }
  let mix: DataMix | undefined;
  if (data.mix !== undefined && data.mix !== null) {  // the trainer writes `mix: null` in resolved configs
    if (typeof data.mix === 'string') {
      const asPath = rel(data.mix);
      mix = DataMix.load(existsSync(asPath) ? asPath : data.mix, findMixesDir(cfgDir));
    } else {
      mix = DataMix.fromObject(data.mix, file);
    }
  }
  if (!paths.length && !mix) throw configInvalid('the run config has no data (data.paths, data.datasets or data.mix)', 'add data.paths', file);
  const tokenizer = (c.tokenizer ?? {}) as Obj;
  const ident = tokenizer.identifier;
  const tokenizerFile = typeof ident === 'string' && existsSync(rel(ident)) ? rel(ident) : undefined;
  const saveFolder = typeof c.save_folder === 'string' && !c.save_folder.includes('${') ? path.join(rel(c.save_folder), 'train_data') : undefined;
  return {
    file,
    seed,
    epoch: num(c.epoch, 'epoch', 0),
    globalBatchSize,
    seqLen,
    dtype,
    dropLast: data.drop_last === undefined ? false : Boolean(data.drop_last),
    paths,
    metadata,
    mix,
    tokenizerFile,
    orderCacheDir: saveFolder,
    ...overrides,
  };
}

function findMixesDir(start: string): string {
  let d = start;
  for (;;) {
    const cand = path.join(d, 'configs', 'mixes');
    if (existsSync(cand)) return cand;
    const up = path.dirname(d);
    if (up === d) return path.resolve('configs', 'mixes');
    d = up;
  }
}

export function loadRunConfig(file: string, overrides: Partial<DataRunConfig> = {}): DataRunConfig {
  if (!existsSync(file)) throw notFound(file, 'run config not found');
  return parseRunConfig(readFileSync(file, 'utf8'), file, overrides);
}
