/**
 * OLMo-style run configuration: the same section and key names as OLMo's `TrainConfig`
 * (olmo/config.py), loaded from YAML, merged over defaults, overridden by dotted `--key=value`
 * arguments (values parsed as YAML), validated against a schema (unknown keys and type changes
 * are rejected with CONFIG_INVALID naming the key path and the valid keys) and resolved
 * (`${key.path}` / `${oc.env:VAR,default}` interpolation, max_duration → steps).
 */
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { OlmoError } from '@olmo/tensor-cuda';
import { ConfigError, configDocHint } from './errors.js';
import { applyInitFrom } from './finetune-config.js';

export interface ModelSection {
  d_model: number; n_heads: number; n_kv_heads: number | null; n_layers: number;
  mlp_ratio: number; mlp_hidden_size: number | null; weight_tying: boolean;
  alibi: boolean; rope: boolean; rope_theta: number; flash_attention: boolean;
  attention_dropout: number; attention_layer_norm: boolean; multi_query_attention: boolean | null;
  clip_qkv: number | null; include_bias: boolean; block_type: string;
  layer_norm_type: 'default' | 'rms' | 'low_precision'; layer_norm_with_affine: boolean; layer_norm_eps: number | null;
  bias_for_layer_norm: boolean | null; attention_layer_norm_with_affine: boolean; norm_after: boolean;
  activation_type: string; residual_dropout: number; embedding_dropout: number;
  max_sequence_length: number; vocab_size: number; embedding_size: number | null;
  eos_token_id: number; pad_token_id: number; init_device: string | null;
  init_fn: 'normal' | 'mitchell' | 'full_megatron'; init_std: number; init_cutoff_factor: number | null;
}
export interface OptimizerSection {
  name: 'adamw' | 'lionw'; learning_rate: number; weight_decay: number; betas: number[]; eps: number;
  decay_norm_and_bias: boolean; decay_embeddings: boolean; metrics_log_interval: number | null;
}
export interface SchedulerSection {
  name: 'constant' | 'linear_with_warmup' | 'cosine_with_warmup' | 'inverse_sqrt_with_warmup';
  units: 'steps' | 'tokens'; t_warmup: number; t_max: number | null; alpha_f: number;
  warmup_min_lr: number | null; grad_clip_warmup_steps: number | null; grad_clip_warmup_factor: number | null;
}
export interface DataSection {
  paths: string[] | null; datasets: Record<string, string[]> | null; mix: unknown; memmap_dtype: 'uint16' | 'uint32' | null;
  drop_last: boolean; num_workers: number; pin_memory: boolean; prefetch_factor: number | null;
  persistent_workers: boolean; timeout: number; pad_direction: string; seed: number | null;
}
export interface EvaluatorConfig { label: string; type?: string; data?: Record<string, unknown>; [k: string]: unknown }
export interface TrainConfig {
  run_name: string; seed: number; epoch: number | null; dry_run: boolean; device: string; num_threads: number | null;
  model: ModelSection; optimizer: OptimizerSection; scheduler: SchedulerSection; data: DataSection;
  tokenizer: { identifier: string | null; truncate_direction: string };
  save_folder: string; save_overwrite: boolean; save_interval: number | null; save_num_checkpoints_to_keep: number;
  save_interval_unsharded: number | null; save_num_unsharded_checkpoints_to_keep: number;
  load_path: string | null; try_load_latest_save: boolean; reset_optimizer_state: boolean; reset_trainer_state: boolean;
  force_resume: boolean;
  max_duration: number | string; stop_at: number | null; time_limit: number | null;
  global_train_batch_size: number; device_train_microbatch_size: number;
  precision: 'fp32' | 'amp_bf16'; max_grad_norm: number | null; max_grad_norm_ratio: number | null;
  softmax_auxiliary_loss: boolean; auxiliary_loss_multiplier: number; loss_normalization: 'target_tokens' | 'input_tokens' | 'sum';
  console_log_interval: number; progress: boolean | null; mfu_peak_flops: number | null;
  speed_monitor: { window_size: number };
  eval_interval: number | null; eval_subset_num_batches: number; device_eval_batch_size: number | null;
  evaluators: EvaluatorConfig[];
  wandb: unknown; compile: unknown; fsdp: unknown; ddp: unknown; distributed_strategy: string | null;
  gen1_gc_interval: number | null; remote_save_folder: string | null;
  fused_loss: boolean | null; save_interval_ephemeral: number | null; sharded_checkpointer: string | null;
  /** OLMo's strategy (single-process training; FSDP units already recompute in backward). */
  activation_checkpointing: 'whole_layer' | 'one_in_two' | 'one_in_three' | 'one_in_four' | 'fine_grained' | null;
  /** Fine-tuning (SFT / DPO on jsonl data.paths); mode null = pretraining. See finetune-config.ts. */
  finetune: FinetuneSection;
}
export interface FinetuneSection {
  mode: 'sft' | 'dpo' | null;
  /** HF model folder, or a checkpoint folder holding model/ (its weights and config.json). */
  init_from: string | null;
  /** Tokens per example / packed row (default: model.max_sequence_length). */
  max_length: number | null;
  over_length: 'truncate' | 'skip';
  packing: boolean;
  beta: number;
  dpo_loss_type: 'dpo' | 'dpo_norm';
}

type LeafType = 'int' | 'number' | 'string' | 'bool' | 'any' | 'string[]' | 'number[]' | 'duration' | 'object';
interface Leaf { __leaf: true; t: LeafType; nullable?: boolean; enum?: readonly string[]; min?: number; gt?: number; max?: number }
type Schema = { [k: string]: Leaf | Schema };
const L = (t: LeafType, o: Omit<Leaf, '__leaf' | 't'> = {}): Leaf => ({ __leaf: true, t, ...o });
const isLeaf = (x: Leaf | Schema): x is Leaf => (x as Leaf).__leaf === true;

export const SCHEMA: Schema = {
  run_name: L('string'), seed: L('int', { min: 0 }), epoch: L('int', { nullable: true, min: 0 }), dry_run: L('bool'),
  device: L('string'), num_threads: L('int', { nullable: true, min: 1 }),
  model: {
    d_model: L('int', { min: 1 }), n_heads: L('int', { min: 1 }), n_kv_heads: L('int', { nullable: true, min: 1 }),
    n_layers: L('int', { min: 1 }), mlp_ratio: L('number', { gt: 0 }), mlp_hidden_size: L('int', { nullable: true, min: 2 }),
    weight_tying: L('bool'), alibi: L('bool'), rope: L('bool'), rope_theta: L('number', { gt: 0 }), flash_attention: L('bool'),
    attention_dropout: L('number', { min: 0, max: 1 }), attention_layer_norm: L('bool'), multi_query_attention: L('bool', { nullable: true }),
    clip_qkv: L('number', { nullable: true, gt: 0 }), include_bias: L('bool'), block_type: L('string', { enum: ['sequential'] }),
    layer_norm_type: L('string', { enum: ['default', 'rms', 'low_precision'] }), layer_norm_with_affine: L('bool'),
    layer_norm_eps: L('number', { nullable: true, gt: 0 }), bias_for_layer_norm: L('bool', { nullable: true }),
    attention_layer_norm_with_affine: L('bool'), norm_after: L('bool'), activation_type: L('string', { enum: ['swiglu'] }),
    residual_dropout: L('number', { min: 0, max: 1 }), embedding_dropout: L('number', { min: 0, max: 1 }),
    max_sequence_length: L('int', { min: 2 }), vocab_size: L('int', { min: 2 }), embedding_size: L('int', { nullable: true, min: 2 }),
    eos_token_id: L('int', { min: 0 }), pad_token_id: L('int', { min: 0 }), init_device: L('string', { nullable: true }),
    init_fn: L('string', { enum: ['normal', 'mitchell', 'full_megatron'] }), init_std: L('number', { gt: 0 }),
    init_cutoff_factor: L('number', { nullable: true, gt: 0 }),
  },
  optimizer: {
    name: L('string', { enum: ['adamw', 'lionw'] }), learning_rate: L('number', { gt: 0 }), weight_decay: L('number', { min: 0 }),
    betas: L('number[]'), eps: L('number', { gt: 0 }), decay_norm_and_bias: L('bool'), decay_embeddings: L('bool'),
    metrics_log_interval: L('int', { nullable: true, min: 1 }),
  },
  scheduler: {
    name: L('string', { enum: ['constant', 'linear_with_warmup', 'cosine_with_warmup', 'inverse_sqrt_with_warmup'] }),
    units: L('string', { enum: ['steps', 'tokens'] }), t_warmup: L('number', { min: 0 }), t_max: L('number', { nullable: true, gt: 0 }),
    alpha_f: L('number', { min: 0, max: 1 }), warmup_min_lr: L('number', { nullable: true, min: 0 }),
    grad_clip_warmup_steps: L('number', { nullable: true, min: 0 }), grad_clip_warmup_factor: L('number', { nullable: true, gt: 0 }),
  },
  data: {
    paths: L('string[]', { nullable: true }), datasets: L('object', { nullable: true }), mix: L('any', { nullable: true }),
    memmap_dtype: L('string', { nullable: true, enum: ['uint16', 'uint32'] }), drop_last: L('bool'), num_workers: L('int', { min: 0 }),
    pin_memory: L('bool'), prefetch_factor: L('int', { nullable: true, min: 0 }), persistent_workers: L('bool'), timeout: L('number', { min: 0 }),
    pad_direction: L('string', { enum: ['right', 'left'] }), seed: L('int', { nullable: true, min: 0 }),
  },
  tokenizer: { identifier: L('string', { nullable: true }), truncate_direction: L('string', { enum: ['right', 'left'] }) },
  save_folder: L('string'), save_overwrite: L('bool'), save_interval: L('int', { nullable: true, min: 1 }),
  save_num_checkpoints_to_keep: L('int', { min: -1 }), save_interval_unsharded: L('int', { nullable: true, min: 1 }),
  save_num_unsharded_checkpoints_to_keep: L('int', { min: -1 }), load_path: L('string', { nullable: true }),
  try_load_latest_save: L('bool'), reset_optimizer_state: L('bool'), reset_trainer_state: L('bool'), force_resume: L('bool'),
  max_duration: L('duration'), stop_at: L('int', { nullable: true, min: 1 }), time_limit: L('number', { nullable: true, gt: 0 }),
  global_train_batch_size: L('int', { min: 1 }), device_train_microbatch_size: L('int', { min: 1 }),
  precision: L('string', { enum: ['fp32', 'amp_bf16', 'amp_fp16'] }), max_grad_norm: L('number', { nullable: true, gt: 0 }),
  max_grad_norm_ratio: L('number', { nullable: true, gt: 0 }), softmax_auxiliary_loss: L('bool'),
  auxiliary_loss_multiplier: L('number', { min: 0 }), loss_normalization: L('string', { enum: ['target_tokens', 'input_tokens', 'sum'] }),
  console_log_interval: L('int', { min: 1 }), progress: L('bool', { nullable: true }), mfu_peak_flops: L('number', { nullable: true, gt: 0 }),
  speed_monitor: { window_size: L('int', { min: 1 }) },
  eval_interval: L('int', { nullable: true, min: 1 }), eval_subset_num_batches: L('int', { min: -1 }),
  device_eval_batch_size: L('int', { nullable: true, min: 1 }), evaluators: L('any'),
  wandb: L('any', { nullable: true }), compile: L('any', { nullable: true }), fsdp: L('any', { nullable: true }), ddp: L('any', { nullable: true }),
  distributed_strategy: L('string', { nullable: true }), gen1_gc_interval: L('int', { nullable: true }), remote_save_folder: L('string', { nullable: true }),
  fused_loss: L('bool', { nullable: true }), save_interval_ephemeral: L('int', { nullable: true, min: 1 }), sharded_checkpointer: L('string', { nullable: true }),
  activation_checkpointing: L('string', { nullable: true, enum: ['whole_layer', 'one_in_two', 'one_in_three', 'one_in_four', 'fine_grained'] }),
  finetune: {
    mode: L('string', { nullable: true, enum: ['sft', 'dpo'] }), init_from: L('string', { nullable: true }),
    max_length: L('int', { nullable: true, min: 2 }), over_length: L('string', { enum: ['truncate', 'skip'] }), packing: L('bool'),
    beta: L('number', { gt: 0 }), dpo_loss_type: L('string', { enum: ['dpo', 'dpo_norm'] }),
  },
};

export function defaultConfig(): TrainConfig {
  return {
    run_name: 'olmo-run', seed: 6198, epoch: null, dry_run: false, device: 'cpu', num_threads: null,
    model: {
      d_model: 768, n_heads: 12, n_kv_heads: null, n_layers: 12, mlp_ratio: 4, mlp_hidden_size: null, weight_tying: true,
      alibi: false, rope: true, rope_theta: 10000, flash_attention: false, attention_dropout: 0, attention_layer_norm: false,
      multi_query_attention: null, clip_qkv: null, include_bias: false, block_type: 'sequential', layer_norm_type: 'default',
      layer_norm_with_affine: false, layer_norm_eps: null, bias_for_layer_norm: null, attention_layer_norm_with_affine: false,
      norm_after: false, activation_type: 'swiglu', residual_dropout: 0, embedding_dropout: 0, max_sequence_length: 1024,
      vocab_size: 50257, embedding_size: 50304, eos_token_id: 50256, pad_token_id: 50256, init_device: null,
      init_fn: 'normal', init_std: 0.02, init_cutoff_factor: null,
    },
    optimizer: { name: 'adamw', learning_rate: 1e-4, weight_decay: 0.01, betas: [0.9, 0.95], eps: 1e-5, decay_norm_and_bias: false, decay_embeddings: false, metrics_log_interval: null },
    scheduler: { name: 'cosine_with_warmup', units: 'steps', t_warmup: 100, t_max: null, alpha_f: 0.1, warmup_min_lr: null, grad_clip_warmup_steps: null, grad_clip_warmup_factor: null },
    data: { paths: null, datasets: null, mix: null, memmap_dtype: null, drop_last: false, num_workers: 0, pin_memory: false, prefetch_factor: null, persistent_workers: false, timeout: 0, pad_direction: 'right', seed: null },
    tokenizer: { identifier: null, truncate_direction: 'right' },
    save_folder: 'runs/${run_name}', save_overwrite: false, save_interval: 1000, save_num_checkpoints_to_keep: -1,
    save_interval_unsharded: null, save_num_unsharded_checkpoints_to_keep: -1, load_path: null, try_load_latest_save: false,
    reset_optimizer_state: false, reset_trainer_state: false, force_resume: false,
    max_duration: 10000, stop_at: null, time_limit: null, global_train_batch_size: 512, device_train_microbatch_size: 16,
    precision: 'fp32', max_grad_norm: null, max_grad_norm_ratio: null, softmax_auxiliary_loss: false, auxiliary_loss_multiplier: 1e-4,
    loss_normalization: 'target_tokens', console_log_interval: 1, progress: null, mfu_peak_flops: null, speed_monitor: { window_size: 20 },
    eval_interval: null, eval_subset_num_batches: -1, device_eval_batch_size: null, evaluators: [],
    wandb: null, compile: null, fsdp: null, ddp: null, distributed_strategy: null, gen1_gc_interval: null, remote_save_folder: null,
    fused_loss: null, save_interval_ephemeral: null, sharded_checkpointer: null, activation_checkpointing: null,
    finetune: { mode: null, init_from: null, max_length: null, over_length: 'truncate', packing: true, beta: 0.1, dpo_loss_type: 'dpo' },
  };
}

function validKeys(s: Schema, prefix: string): string {
  return Object.keys(s).map((k) => (prefix ? `${prefix}.${k}` : k)).join(', ');
}

/** What a leaf accepts, for hints: "an integer >= 1 (or null)", "one of: a, b". */
function leafDescription(leaf: Leaf): string {
  const kind: Record<LeafType, string> = { any: 'any value', int: 'an integer', number: 'a number', bool: 'true or false', string: 'a string', 'string[]': 'a list of strings', 'number[]': 'a list of numbers', object: 'a mapping', duration: 'a step count, "<N>T" (tokens) or "<N>ep" (epochs)' };
  let d = leaf.enum ? `one of: ${leaf.enum.join(', ')}` : kind[leaf.t];
  const bounds = [leaf.min !== undefined ? `>= ${leaf.min}` : '', leaf.gt !== undefined ? `> ${leaf.gt}` : '', leaf.max !== undefined ? `<= ${leaf.max}` : ''].filter(Boolean);
  if (bounds.length) d += ` ${bounds.join(' and ')}`;
  return leaf.nullable ? `${d} (or null)` : d;
}

function checkLeaf(path: string, leaf: Leaf, v: unknown): unknown {
  if (v === null || v === undefined) {
    if (leaf.nullable || leaf.t === 'any') return null;
    throw new ConfigError(path, `must not be null (expected ${leaf.t})`, `set ${path} to ${leafDescription(leaf)}`);
  }
  const typeErr = (): never => { throw new ConfigError(path, `expected ${leaf.t}${leaf.nullable ? ' or null' : ''}, got ${JSON.stringify(v)} (${Array.isArray(v) ? 'array' : typeof v})`, `set ${path} to ${leafDescription(leaf)}`); };
  const range = (n: number) => {
    const hint = `${path} takes ${leafDescription(leaf)}`;
    if (!Number.isFinite(n)) throw new ConfigError(path, `must be finite, got ${n}`, hint);
    if (leaf.min !== undefined && n < leaf.min) throw new ConfigError(path, `must be >= ${leaf.min}, got ${n}`, hint);
    if (leaf.gt !== undefined && !(n > leaf.gt)) throw new ConfigError(path, `must be > ${leaf.gt}, got ${n}`, hint);
    if (leaf.max !== undefined && n > leaf.max) throw new ConfigError(path, `must be <= ${leaf.max}, got ${n}`, hint);
  };
  switch (leaf.t) {
    case 'any': return v;
    case 'int': if (typeof v !== 'number' || !Number.isInteger(v)) typeErr(); range(v as number); return v;
    case 'number': if (typeof v !== 'number') typeErr(); range(v as number); return v;
    case 'bool': if (typeof v !== 'boolean') typeErr(); return v;
    case 'string':
      if (typeof v !== 'string') typeErr();
      if (leaf.enum && !leaf.enum.includes(v as string)) throw new ConfigError(path, `unknown value '${String(v)}'; valid: ${leaf.enum.join(', ')}`, `set ${path} to one of: ${leaf.enum.join(', ')}`);
      return v;
    case 'string[]': if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) typeErr(); return v;
    case 'number[]': if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) typeErr(); return v;
    case 'object': if (typeof v !== 'object' || Array.isArray(v)) typeErr(); return v;
    case 'duration':
      if (typeof v === 'number') { if (!(v > 0)) throw new ConfigError(path, `must be > 0, got ${v}`); return v; }
      if (typeof v === 'string' && /^\s*[\d_.eE+]+\s*(ep|T|tok|tokens|steps?)?\s*$/.test(v)) return v;
      throw new ConfigError(path, `expected a step count, "<N>T" (tokens) or "<N>ep" (epochs), got ${JSON.stringify(v)}`, `e.g. ${path}: 1000 (steps), "2e9T" (tokens) or "1ep" (epochs)`);
  }
}

/** Unknown key: the message lists the valid keys at that level; the hint suggests the closest one. */
function unknownKey(path: string, key: string, schema: Schema, prefix: string): ConfigError {
  const near = closest(key, Object.keys(schema));
  return new ConfigError(path, `unknown key; valid keys${prefix ? ` under '${prefix}'` : ''}: ${validKeys(schema, prefix)}`,
    near ? `did you mean '${prefix ? `${prefix}.` : ''}${near}'?` : configDocHint(prefix));
}

function closest(word: string, options: string[]): string | null {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let prev = d[0]!; d[0] = i;
      for (let j = 1; j <= b.length; j++) { const t = d[j]!; d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1)); prev = t; }
    }
    return d[b.length]!;
  };
  let best: string | null = null, bd = Infinity;
  for (const o of options) { const x = dist(word, o); if (x < bd) { bd = x; best = o; } }
  return bd <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}

function validate(obj: unknown, schema: Schema, prefix: string): void {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new ConfigError(prefix, `expected a mapping with keys: ${validKeys(schema, prefix)}`);
  const o = obj as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const path = prefix ? `${prefix}.${k}` : k;
    const s = schema[k];
    if (!s) throw unknownKey(path, k, schema, prefix);
    if (isLeaf(s)) o[k] = checkLeaf(path, s, o[k]);
    else validate(o[k], s, path);
  }
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>, schema: Schema, prefix: string): void {
  for (const [k, v] of Object.entries(over)) {
    const path = prefix ? `${prefix}.${k}` : k;
    const s = schema[k];
    if (!s) throw unknownKey(path, k, schema, prefix);
    if (!isLeaf(s) && v && typeof v === 'object' && !Array.isArray(v)) {
      if (typeof base[k] !== 'object' || base[k] === null) base[k] = {};
      deepMerge(base[k] as Record<string, unknown>, v as Record<string, unknown>, s, path);
    } else base[k] = v;
  }
}

/** Parses `--a.b=value` / `a.b=value` strings (values parsed as YAML) into a nested object. */
export function parseOverrides(args: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const raw of args) {
    const a = raw.replace(/^--/, '');
    const eq = a.indexOf('=');
    if (eq <= 0) throw new ConfigError(a, `override must look like --key.path=value, got '${raw}'`);
    const key = a.slice(0, eq), valText = a.slice(eq + 1);
    let val: unknown;
    try { val = valText === '' ? null : YAML.parse(valText); } catch { val = valText; }
    const parts = key.split('.');
    let cur = out;
    for (let i = 0; i < parts.length - 1; i++) {
      const p = parts[i]!;
      if (typeof cur[p] !== 'object' || cur[p] === null) cur[p] = {};
      cur = cur[p] as Record<string, unknown>;
    }
    cur[parts[parts.length - 1]!] = val;
  }
  return out;
}

function getPath(o: unknown, path: string): unknown {
  let cur = o;
  for (const p of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/**
 * Resolves `${key.path}` and `${oc.env:VAR,default}` in string values (OmegaConf subset), innermost
 * first, so a default may itself interpolate (`${oc.env:SAVE,runs/${run_name}}`). As in OmegaConf,
 * an unset variable without a default is an error, and a value that is exactly one interpolation
 * keeps the referenced value's type.
 */
function interpolate(root: Record<string, unknown>): void {
  const INNERMOST = /\$\{([^${}]+)\}/; // an interpolation with no other one inside it
  const visit = (o: unknown, depth: number, keyPath: string): unknown => {
    if (typeof o === 'string' && o.includes('${')) {
      const resolve = (expr: string): unknown => {
        if (expr.startsWith('oc.env:')) {
          const [name, ...def] = expr.slice(7).split(',');
          const v = process.env[name!.trim()];
          if (v !== undefined) return v;
          if (def.length) return def.join(',').trim();
          throw new ConfigError(keyPath, `environment variable ${name!.trim()} is not set and \${${expr}} has no default`, `set ${name!.trim()} or write \${oc.env:${name!.trim()},DEFAULT}`);
        }
        if (expr.startsWith('path.choose:')) return expr.slice(12).split(',').pop();
        const v = getPath(root, expr.trim());
        if (v === undefined) throw new ConfigError(expr, `interpolation \${${expr}} refers to a missing key`);
        return depth < 8 ? visit(v, depth + 1, expr.trim()) : v;
      };
      const whole = /^\$\{([^${}]+)\}$/.exec(o);
      if (whole) return resolve(whole[1]!);
      let s = o;
      for (let i = 0; i < 32 && INNERMOST.test(s); i++) s = s.replace(INNERMOST, (_m, e: string) => String(resolve(e)));
      return s;
    }
    if (Array.isArray(o)) return o.map((x) => visit(x, depth, keyPath));
    if (o && typeof o === 'object') {
      for (const [k, v] of Object.entries(o)) (o as Record<string, unknown>)[k] = visit(v, depth, keyPath ? `${keyPath}.${k}` : k);
    }
    return o;
  };
  visit(root, 0, '');
}

/** Builds a validated, resolved TrainConfig from (already parsed) layers applied in order over the defaults. */
export function resolveConfig(...layers: Array<Record<string, unknown> | null | undefined>): TrainConfig {
  const cfg = defaultConfig() as unknown as Record<string, unknown>;
  for (const layer of layers) if (layer) deepMerge(cfg, structuredClone(layer), SCHEMA, '');
  interpolate(cfg);
  validate(cfg, SCHEMA, '');
  const c = cfg as unknown as TrainConfig;
  applyInitFrom(c);
  crossCheck(c);
  return c;
}

/** The precisions the trainer runs. OLMo's amp_fp16 is recognised only to be refused with its own hint. */
export const SUPPORTED_PRECISIONS = ['fp32', 'amp_bf16'] as const;

/** Throws CONFIG_INVALID unless `precision` is one the trainer runs (never a silent float32 fallback). */
export function checkPrecision(precision: unknown): asserts precision is TrainConfig['precision'] {
  if (precision === 'amp_fp16')
    throw new ConfigError('precision', 'amp_fp16 is not supported (no fp16 kernels and no loss scaling)',
      'use precision: amp_bf16 (same tensor-core speed, float32 exponent range so no loss scaling) or fp32');
  if (!(SUPPORTED_PRECISIONS as readonly unknown[]).includes(precision))
    throw new ConfigError('precision', `unknown value '${String(precision)}'; valid: ${SUPPORTED_PRECISIONS.join(', ')}`,
      `set precision to one of: ${SUPPORTED_PRECISIONS.join(', ')}`);
}

function crossCheck(c: TrainConfig): void {
  checkPrecision(c.precision);
  if (c.global_train_batch_size % c.device_train_microbatch_size !== 0)
    throw new ConfigError('device_train_microbatch_size', `${c.device_train_microbatch_size} does not divide global_train_batch_size ${c.global_train_batch_size}`, 'choose a microbatch size that divides the global batch size');
  if (c.optimizer.betas.length !== 2 || c.optimizer.betas.some((b) => b < 0 || b >= 1))
    throw new ConfigError('optimizer.betas', `expected two values in [0, 1), got [${c.optimizer.betas.join(', ')}]`);
  if (c.model.d_model % c.model.n_heads !== 0) throw new ConfigError('model.n_heads', `${c.model.n_heads} does not divide d_model ${c.model.d_model}`);
  const kv = c.model.n_kv_heads ?? (c.model.multi_query_attention ? 1 : c.model.n_heads);
  if (c.model.n_heads % kv !== 0) throw new ConfigError('model.n_kv_heads', `${kv} does not divide n_heads ${c.model.n_heads}`);
  if ((c.model.embedding_size ?? c.model.vocab_size) < c.model.vocab_size) throw new ConfigError('model.embedding_size', 'must be >= vocab_size');
  if (c.scheduler.warmup_min_lr !== null && c.scheduler.warmup_min_lr >= c.optimizer.learning_rate)
    throw new ConfigError('scheduler.warmup_min_lr', `must be < optimizer.learning_rate (${c.optimizer.learning_rate})`);
  if (!Array.isArray(c.evaluators)) throw new ConfigError('evaluators', 'expected a list of {label, type, data}');
  c.evaluators.forEach((e, i) => {
    if (!e || typeof e !== 'object' || typeof e.label !== 'string') throw new ConfigError(`evaluators.${i}.label`, 'each evaluator needs a string label');
  });
}

/** Requires a data source (called by the trainer, not for config printing). */
export function requireData(c: TrainConfig): void {
  const hasPaths = (c.data.paths?.length ?? 0) > 0 || (c.data.datasets && Object.keys(c.data.datasets).length > 0) || c.data.mix;
  if (!hasPaths) throw new ConfigError('data.paths', 'no training data: set data.paths (token .npy files), data.datasets or data.mix', 'run `olmo data prepare` first and point data.paths at its output');
}

export function loadConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') throw new OlmoError('NOT_FOUND', `config file ${path} does not exist`, 'check the path (configs/ has tiny.yaml, OLMo-1B.yaml, OLMo-7B.yaml)');
    throw new ConfigError('', `cannot read config file ${path}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try { doc = YAML.parse(text); } catch (e) { throw new ConfigError('', `${path} is not valid YAML: ${(e as Error).message}`); }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError('', `${path}: top level must be a mapping`);
  return doc as Record<string, unknown>;
}

/** `olmo train CONFIG.yaml --a.b=c ...` → resolved config. */
export function loadConfig(path: string | null, overrides: readonly string[] = []): TrainConfig {
  return resolveConfig(path ? loadConfigFile(path) : null, parseOverrides(overrides));
}

export function configToYAML(c: TrainConfig): string {
  return YAML.stringify(c, { lineWidth: 0 });
}

/** Sequence length (OLMo: model.max_sequence_length; fine-tuning: finetune.max_length when set). */
export function seqLenOf(c: TrainConfig): number {
  return (c.finetune.mode && c.finetune.max_length) || c.model.max_sequence_length;
}

/**
 * max_duration → number of optimizer steps. Accepts an integer step count, "<N>T" tokens or
 * "<N>ep" epochs (needs the dataset size in instances).
 */
export function maxStepsOf(c: TrainConfig, numInstances: number | null): number {
  const tokensPerStep = c.global_train_batch_size * seqLenOf(c);
  const d = c.max_duration;
  let steps: number;
  if (typeof d === 'number') steps = d;
  else {
    const s = d.replace(/_/g, '').trim();
    const m = /^([\d.eE+]+)\s*(ep|T|tok|tokens|steps?)?$/.exec(s);
    if (!m) throw new ConfigError('max_duration', `cannot parse ${JSON.stringify(d)}`);
    const n = Number(m[1]);
    if (m[2] === 'ep') {
      if (numInstances === null) throw new ConfigError('max_duration', 'epochs need a dataset');
      steps = Math.ceil((n * numInstances) / c.global_train_batch_size);
    } else if (m[2] === 'T' || m[2] === 'tok' || m[2] === 'tokens') steps = Math.ceil(n / tokensPerStep);
    else steps = n;
  }
  if (!Number.isFinite(steps) || steps < 1) throw new ConfigError('max_duration', `resolves to ${steps} steps`);
  return Math.floor(steps);
}
