/**
 * The `finetune:` section of the trainer config (SFT / DPO in `olmo train`), resolved with the rest
 * of the config:
 *
 *   finetune:
 *     mode: sft | dpo | null      # null = pretraining on token files (the default)
 *     init_from: DIR              # an HF model folder, or a checkpoint folder holding model/
 *     max_length: 128             # tokens per example and per packed row (default model.max_sequence_length)
 *     over_length: truncate       # truncate (Open Instruct) | skip (counted)
 *     packing: true               # SFT: several examples per row, document-aware attention
 *     beta: 0.1                   # DPO β
 *     dpo_loss_type: dpo          # dpo | dpo_norm (Tulu's length-normalised variant)
 *   data.paths: [chat.jsonl]      # SFT: {"messages": [...]}; DPO: {"prompt", "chosen", "rejected"}
 *   loss_normalization: target_tokens   # per-token mean over the batch | sum (per-example sums)
 *
 * `init_from` fills the `model:` section from the folder's config.json (so the model section of
 * the YAML need not repeat the architecture) and `tokenizer.identifier` from its tokenizer.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelSection, TrainConfig } from './config.js';
import { ConfigError } from './errors.js';

/** The HF folder an `init_from` names: the folder itself, or a checkpoint's model/. */
export function initFromFolder(p: string): string {
  if (existsSync(join(p, 'config.json'))) return p;
  if (existsSync(join(p, 'model', 'config.json'))) return join(p, 'model');
  throw new ConfigError('finetune.init_from', `${p} holds no config.json (nor model/config.json)`, 'point init_from at an HF model folder or an unsharded checkpoint stepN/ (sharded ones: `olmo checkpoint unshard` first)');
}

/** HF config.json (OlmoForCausalLM / Olmo2ForCausalLM) → the OLMo YAML model section. */
export function modelSectionFromHF(hf: Record<string, unknown>, base: ModelSection): ModelSection {
  const num = (k: string): number => {
    const v = hf[k];
    if (typeof v !== 'number') throw new ConfigError('finetune.init_from', `config.json has no numeric '${k}'`);
    return v;
  };
  const olmo2 = hf.model_type === 'olmo2';
  const extra = (hf.olmo_ts ?? {}) as Record<string, unknown>;
  const heads = num('num_attention_heads');
  const firstId = (v: unknown) => (Array.isArray(v) ? v[0] : v);
  const eos = firstId(hf.eos_token_id), pad = firstId(hf.pad_token_id);
  return {
    ...base,
    d_model: num('hidden_size'), n_heads: heads, n_kv_heads: typeof hf.num_key_value_heads === 'number' ? hf.num_key_value_heads : heads,
    n_layers: num('num_hidden_layers'), mlp_hidden_size: 2 * num('intermediate_size'), weight_tying: hf.tie_word_embeddings === true,
    rope: true, alibi: false, rope_theta: typeof hf.rope_theta === 'number' ? hf.rope_theta : base.rope_theta,
    clip_qkv: typeof hf.clip_qkv === 'number' ? hf.clip_qkv : null,
    layer_norm_type: olmo2 ? 'rms' : 'default', attention_layer_norm: olmo2, norm_after: olmo2,
    layer_norm_with_affine: olmo2, attention_layer_norm_with_affine: olmo2,
    layer_norm_eps: olmo2 ? (typeof hf.rms_norm_eps === 'number' ? hf.rms_norm_eps : 1e-6) : 1e-5,
    max_sequence_length: typeof hf.max_position_embeddings === 'number' ? hf.max_position_embeddings : base.max_sequence_length,
    vocab_size: typeof extra.vocab_size === 'number' ? extra.vocab_size : num('vocab_size'), embedding_size: num('vocab_size'),
    eos_token_id: typeof eos === 'number' ? eos : base.eos_token_id, pad_token_id: typeof pad === 'number' ? pad : (typeof eos === 'number' ? eos : base.pad_token_id),
    init_std: typeof hf.initializer_range === 'number' ? hf.initializer_range : base.init_std,
  };
}

/** Resolves `finetune:` in place (called by resolveConfig): model section and tokenizer from init_from, cross-checks. */
export function applyInitFrom(c: TrainConfig): void {
  const f = c.finetune;
  if (f.init_from) {
    const dir = initFromFolder(f.init_from);
    let hf: Record<string, unknown>;
    try { hf = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>; } catch (e) {
      throw new ConfigError('finetune.init_from', `${dir}/config.json is not valid JSON: ${(e as Error).message}`);
    }
    c.model = modelSectionFromHF(hf, c.model);
    if (!c.tokenizer.identifier && existsSync(join(dir, 'tokenizer.json'))) c.tokenizer.identifier = join(dir, 'tokenizer.json');
  }
  if (!f.mode) return;
  if (c.data.mix || c.data.datasets) throw new ConfigError('data', `finetune.mode ${f.mode} reads jsonl files from data.paths (not data.mix / data.datasets)`);
  if (c.fused_loss) throw new ConfigError('fused_loss', 'the fused LM-head loss has no document masking: not available with finetune.mode', 'set fused_loss: false');
  if (c.loss_normalization === 'input_tokens') throw new ConfigError('loss_normalization', 'input_tokens counts padding: fine-tuning uses target_tokens (per-token mean over the batch) or sum (per-example sums)');
  if (c.softmax_auxiliary_loss && f.mode === 'dpo') throw new ConfigError('softmax_auxiliary_loss', 'z-loss is not part of the DPO objective', 'set softmax_auxiliary_loss: false');
  if (!c.tokenizer.identifier) throw new ConfigError('tokenizer.identifier', 'fine-tuning needs a tokenizer (its chat template renders the data)', 'set tokenizer.identifier, or use an init_from folder that holds tokenizer.json');
}
