/**
 * The model side of the trainer: the small interface it trains (satisfied by @olmo/model's OLMo),
 * and OLMo-YAML `model:` → @olmo/model OLMoConfig conversion.
 */
import type { Tensor } from '@olmo/tensor-cuda';
import type { ModelSection, TrainConfig } from './config.js';
import { ConfigError } from './errors.js';
import type { NamedParam } from './optim.js';

export interface TrainableModel {
  forward(ids: number[][] | Tensor, opts?: { labels?: number[][] | Tensor }): { logits: Tensor; loss?: Tensor | null };
  parameters(): unknown;
  /** Writes an HF folder; @olmo/model's OLMo resolves to the files it wrote (the trainer ignores the value). */
  savePretrained?(dir: string, opts?: Record<string, unknown>): Promise<readonly string[] | void>;
  flopsPerToken?(seqLen: number): number;
  numParameters?(): number;
  config?: unknown;
}

/** Normalises whatever `parameters()` returns (Map, [name, t][], Record, Tensor[] with .name). */
export function namedParameters(model: TrainableModel): NamedParam[] {
  const m = model as unknown as { namedParameters?: () => unknown };
  const raw = typeof m.namedParameters === 'function' ? m.namedParameters() : model.parameters();
  const out: NamedParam[] = [];
  const push = (name: string, t: unknown) => out.push({ name, param: t as Tensor });
  if (raw instanceof Map) for (const [k, v] of raw) push(String(k), v);
  else if (Array.isArray(raw)) raw.forEach((x, i) => {
    if (Array.isArray(x)) push(String(x[0]), x[1]);
    else if (x && typeof x === 'object' && 'param' in x && 'name' in x) push(String((x as NamedParam).name), (x as NamedParam).param);
    else push((x as Tensor).name ?? `param${i}`, x);
  });
  else if (raw && typeof raw === 'object') for (const [k, v] of Object.entries(raw)) push(k, v);
  return out;
}

/** OLMo's YAML model section → @olmo/model OLMoConfig fields. */
export function toOLMoConfig(m: ModelSection): Record<string, unknown> {
  const olmo2 = m.layer_norm_type === 'rms' && (m.attention_layer_norm || m.norm_after);
  const hidden = m.mlp_hidden_size ?? Math.round(m.mlp_ratio * m.d_model);
  if (hidden % 2 !== 0) throw new ConfigError('model.mlp_hidden_size', `SwiGLU needs an even MLP hidden size, got ${hidden}`);
  return {
    architecture: olmo2 ? 'olmo2' : 'olmo1',
    vocab_size: m.vocab_size,
    embedding_size: m.embedding_size ?? m.vocab_size,
    hidden_size: m.d_model,
    intermediate_size: hidden / 2,
    num_hidden_layers: m.n_layers,
    num_attention_heads: m.n_heads,
    num_key_value_heads: m.n_kv_heads ?? (m.multi_query_attention ? 1 : m.n_heads),
    max_position_embeddings: m.max_sequence_length,
    rope_theta: m.rope_theta,
    clip_qkv: m.clip_qkv,
    tie_word_embeddings: m.weight_tying,
    layer_norm_eps: m.layer_norm_eps ?? (olmo2 ? 1e-6 : 1e-5),
    eos_token_id: m.eos_token_id,
    pad_token_id: m.pad_token_id,
    bos_token_id: null,
    init_fn: m.init_fn,
    init_std: m.init_std,
    init_cutoff_factor: m.init_cutoff_factor,
    emb_init_std: null,
  };
}

interface ModelModule {
  OLMo?: { init(cfg: unknown, o?: { seed?: number; device?: string }): TrainableModel; fromPretrained(dir: string, o?: Record<string, unknown>): Promise<TrainableModel> };
  OLMoConfig?: { from(o: Record<string, unknown>): unknown };
}

export async function loadModelModule(): Promise<Required<ModelModule>> {
  const mod = (await import('@olmo/model')) as unknown as ModelModule;
  if (!mod.OLMo || !mod.OLMoConfig) throw new ConfigError('model', '@olmo/model does not export OLMo / OLMoConfig yet', 'update @olmo/model');
  return mod as Required<ModelModule>;
}

export async function buildModel(c: TrainConfig): Promise<TrainableModel> {
  const mod = await loadModelModule();
  // fine-tuning: start from the weights of an HF folder (or a checkpoint's model/); the model
  // section was filled from its config.json when the config was resolved
  if (c.finetune.init_from) return mod.OLMo.fromPretrained((await import('./finetune-config.js')).initFromFolder(c.finetune.init_from));
  const cfg = mod.OLMoConfig.from(toOLMoConfig(c.model));
  return mod.OLMo.init(cfg, { seed: c.seed, device: c.device });
}

/** Model FLOPs per token (fwd + bwd) — the model's own count, else 6N + attention. */
export function flopsPerToken(model: TrainableModel, params: NamedParam[], seqLen: number, c?: ModelSection): number {
  if (typeof model.flopsPerToken === 'function') return model.flopsPerToken(seqLen);
  const n = params.reduce((s, p) => s + p.param.size, 0);
  const attn = c ? 12 * c.n_layers * c.d_model * seqLen : 0;
  return 6 * n + attn;
}
