/**
 * Fine-tuning run configuration (`olmo adapt CONFIG.yaml [--key.path=value ...]`): OLMo-style
 * top-level keys (seed, max_duration, global_train_batch_size, device_train_microbatch_size,
 * max_grad_norm, optimizer, scheduler, save_folder, save_interval, load_path, eval_interval,
 * evaluators) plus the adaptation keys (mode, init_from, tokenizer, data.paths, max_length,
 * over_length, packing, loss_normalization, dpo.beta, dpo.loss_type). Unknown keys and wrong types
 * are CONFIG_INVALID naming the key. See configs/adapt-sft.yaml and configs/adapt-dpo.yaml.
 */
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { ConfigError } from './errors.js';
import { parseOverrides } from './config.js';

export interface AdaptConfig {
  run_name: string;
  seed: number;
  mode: 'sft' | 'dpo';
  /** HF model folder (config.json + safetensors) or an adaptation checkpoint stepN/ (its model/). */
  init_from: string;
  /** tokenizer.json or a tokenizer folder; default: the init_from folder. */
  tokenizer: string | null;
  data: { paths: string[] };
  max_length: number;
  over_length: 'truncate' | 'skip';
  packing: boolean;
  loss_normalization: 'token' | 'sum';
  dpo: { beta: number; loss_type: 'dpo' | 'dpo_norm' };
  optimizer: { learning_rate: number; weight_decay: number; betas: number[]; eps: number };
  scheduler: { name: 'linear_with_warmup' | 'constant_with_warmup'; t_warmup: number };
  max_duration: number;
  global_train_batch_size: number;
  device_train_microbatch_size: number;
  max_grad_norm: number | null;
  save_folder: string;
  save_interval: number | null;
  load_path: string | null;
  eval_interval: number;
  evaluators: Array<{ label: string; data: { paths: string[] } }>;
}

export const ADAPT_DEFAULTS: AdaptConfig = {
  run_name: 'adapt', seed: 0, mode: 'sft', init_from: '', tokenizer: null, data: { paths: [] },
  max_length: 2048, over_length: 'truncate', packing: true, loss_normalization: 'token',
  dpo: { beta: 0.1, loss_type: 'dpo' },
  optimizer: { learning_rate: 2e-5, weight_decay: 0, betas: [0.9, 0.999], eps: 1e-8 },
  scheduler: { name: 'linear_with_warmup', t_warmup: 0 },
  max_duration: 100, global_train_batch_size: 16, device_train_microbatch_size: 16, max_grad_norm: 1,
  save_folder: 'runs/adapt', save_interval: null, load_path: null, eval_interval: 50, evaluators: [],
};

type Kind = 'string' | 'int' | 'number' | 'bool' | 'string[]' | 'number[]' | 'evaluators';
const SPEC: Record<string, { kind: Kind; nullable?: boolean; enum?: readonly string[]; min?: number; gt?: number }> = {
  run_name: { kind: 'string' }, seed: { kind: 'int', min: 0 }, mode: { kind: 'string', enum: ['sft', 'dpo'] },
  init_from: { kind: 'string' }, tokenizer: { kind: 'string', nullable: true }, 'data.paths': { kind: 'string[]' },
  max_length: { kind: 'int', min: 2 }, over_length: { kind: 'string', enum: ['truncate', 'skip'] }, packing: { kind: 'bool' },
  loss_normalization: { kind: 'string', enum: ['token', 'sum'] }, 'dpo.beta': { kind: 'number', gt: 0 }, 'dpo.loss_type': { kind: 'string', enum: ['dpo', 'dpo_norm'] },
  'optimizer.learning_rate': { kind: 'number', gt: 0 }, 'optimizer.weight_decay': { kind: 'number', min: 0 }, 'optimizer.betas': { kind: 'number[]' }, 'optimizer.eps': { kind: 'number', gt: 0 },
  'scheduler.name': { kind: 'string', enum: ['linear_with_warmup', 'constant_with_warmup'] }, 'scheduler.t_warmup': { kind: 'int', min: 0 },
  max_duration: { kind: 'int', min: 1 }, global_train_batch_size: { kind: 'int', min: 1 }, device_train_microbatch_size: { kind: 'int', min: 1 },
  max_grad_norm: { kind: 'number', nullable: true, gt: 0 }, save_folder: { kind: 'string' }, save_interval: { kind: 'int', nullable: true, min: 1 },
  load_path: { kind: 'string', nullable: true }, eval_interval: { kind: 'int', min: 1 }, evaluators: { kind: 'evaluators' },
};
const SECTIONS = new Set(['data', 'dpo', 'optimizer', 'scheduler']);

function check(key: string, v: unknown): void {
  const s = SPEC[key]!;
  if (v === null && s.nullable) return;
  const fail = (what: string) => { throw new ConfigError(key, `${what}, got ${JSON.stringify(v)}`); };
  switch (s.kind) {
    case 'string': if (typeof v !== 'string') fail('must be a string'); break;
    case 'bool': if (typeof v !== 'boolean') fail('must be true or false'); break;
    case 'int': if (typeof v !== 'number' || !Number.isInteger(v)) fail('must be an integer'); break;
    case 'number': if (typeof v !== 'number' || !Number.isFinite(v)) fail('must be a number'); break;
    case 'string[]': if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail('must be a list of strings'); break;
    case 'number[]': if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) fail('must be a list of numbers'); break;
    case 'evaluators':
      if (!Array.isArray(v) || v.some((e) => !e || typeof e.label !== 'string' || !Array.isArray(e.data?.paths))) fail('must be a list of { label, data: { paths: [...] } }');
      break;
  }
  if (s.enum && !s.enum.includes(v as string)) throw new ConfigError(key, `must be one of ${s.enum.join(', ')}, got ${JSON.stringify(v)}`);
  if (s.min !== undefined && (v as number) < s.min) throw new ConfigError(key, `must be >= ${s.min}, got ${String(v)}`);
  if (s.gt !== undefined && !((v as number) > s.gt)) throw new ConfigError(key, `must be > ${s.gt}, got ${String(v)}`);
}

/** Merges `layers` (YAML objects, later wins) over the defaults and validates every key. */
export function resolveAdaptConfig(...layers: Array<Record<string, unknown>>): AdaptConfig {
  const out = structuredClone(ADAPT_DEFAULTS) as unknown as Record<string, unknown>;
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer ?? {})) {
      if (SECTIONS.has(k)) {
        if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(k, 'must be a mapping');
        for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) {
          const key = `${k}.${k2}`;
          if (!SPEC[key]) throw new ConfigError(key, 'unknown key', `valid keys: ${Object.keys(SPEC).filter((x) => x.startsWith(`${k}.`)).join(', ')}`);
          check(key, v2);
          (out[k] as Record<string, unknown>)[k2] = v2;
        }
      } else {
        if (!SPEC[k]) throw new ConfigError(k, 'unknown key', `valid keys: ${Object.keys(SPEC).map((x) => x.split('.')[0]).filter((x, i, a) => a.indexOf(x) === i).join(', ')}`);
        check(k, v);
        out[k] = v;
      }
    }
  }
  const c = out as unknown as AdaptConfig;
  if (!c.init_from) throw new ConfigError('init_from', 'is required (an HF model folder or an adaptation checkpoint)');
  if (!c.data.paths.length) throw new ConfigError('data.paths', 'needs at least one jsonl file');
  if (c.optimizer.betas.length !== 2) throw new ConfigError('optimizer.betas', 'must be two numbers');
  return c;
}

/** Reads a YAML file and applies `--key.path=value` overrides. */
export function loadAdaptConfig(path: string | null, overrides: readonly string[] = []): AdaptConfig {
  let base: Record<string, unknown> = {};
  if (path) {
    let text: string;
    try { text = readFileSync(path, 'utf8'); } catch (e) { throw new ConfigError('', `cannot read ${path}: ${(e as Error).message}`, 'check the path'); }
    let v: unknown;
    try { v = YAML.parse(text); } catch (e) { throw new ConfigError('', `${path} is not valid YAML: ${(e as Error).message}`); }
    if (v !== null && (typeof v !== 'object' || Array.isArray(v))) throw new ConfigError('', `${path} must hold a YAML mapping`);
    base = (v ?? {}) as Record<string, unknown>;
  }
  return resolveAdaptConfig(base, parseOverrides(overrides));
}
