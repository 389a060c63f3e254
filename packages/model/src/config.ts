/**
 * OLMoConfig: a plain, JSON-serialisable model configuration whose fields mirror HF `OlmoConfig` /
 * `Olmo2Config` (snake_case, same names), plus the OLMo training-side fields HF does not carry
 * (architecture, embedding padding, init scheme). Presets carry the real OLMo hyperparameters
 * (from OLMo's own training YAMLs).
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, NotFoundError } from './errors.js';

export type Architecture = 'olmo1' | 'olmo2';
/** OLMo's init schemes (olmo/model.py `reset_parameters`, olmo/initialization.py `init_normal`). */
export type InitFn = 'normal' | 'mitchell' | 'full_megatron';

export interface OLMoConfig {
  /** 'olmo1': non-parametric LayerNorm, pre-norm. 'olmo2': RMSNorm with weights, QK-norm, norm-after. */
  architecture: Architecture;
  /** Number of real token ids (the tokenizer's vocabulary). */
  vocab_size: number;
  /** Rows of the embedding / LM head (vocab padded, ≥ vocab_size). HF config.json calls this `vocab_size`. */
  embedding_size: number;
  hidden_size: number;
  /** SwiGLU inner size (HF `intermediate_size`; OLMo's mlp_hidden_size / 2). */
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** GQA/MQA: number of key/value heads (divides num_attention_heads). */
  num_key_value_heads: number;
  max_position_embeddings: number;
  rope_theta: number;
  /** OLMo-1 only: clamp q, k and v to [-clip_qkv, clip_qkv] after their projections. */
  clip_qkv: number | null;
  tie_word_embeddings: boolean;
  /** LayerNorm eps (olmo1, 1e-5) or RMSNorm eps (olmo2, `rms_norm_eps`, 1e-6). */
  layer_norm_eps: number;
  eos_token_id: number | null;
  pad_token_id: number | null;
  bos_token_id: number | null;
  init_fn: InitFn;
  init_std: number;
  init_cutoff_factor: number | null;
  emb_init_std: number | null;
}

type Overrides = Partial<OLMoConfig>;

const OLMO1_BASE: OLMoConfig = {
  architecture: 'olmo1',
  vocab_size: 50280,
  embedding_size: 50304,
  hidden_size: 2048,
  intermediate_size: 8192,
  num_hidden_layers: 16,
  num_attention_heads: 16,
  num_key_value_heads: 16,
  max_position_embeddings: 2048,
  rope_theta: 10000,
  clip_qkv: null,
  tie_word_embeddings: true,
  layer_norm_eps: 1e-5,
  eos_token_id: 50279,
  pad_token_id: 1,
  bos_token_id: null,
  init_fn: 'mitchell',
  init_std: 0.02,
  init_cutoff_factor: null,
  emb_init_std: null,
};

const OLMO2_BASE: OLMoConfig = {
  ...OLMO1_BASE,
  architecture: 'olmo2',
  vocab_size: 100278,
  embedding_size: 100352,
  max_position_embeddings: 4096,
  rope_theta: 500000,
  tie_word_embeddings: false,
  layer_norm_eps: 1e-6,
  eos_token_id: 100257,
  pad_token_id: 100277,
  init_fn: 'normal',
  init_std: 0.02,
  init_cutoff_factor: 3,
};

function make(base: OLMoConfig, o: Overrides = {}): OLMoConfig {
  const c = { ...base, ...o };
  if (o.num_attention_heads !== undefined && o.num_key_value_heads === undefined) c.num_key_value_heads = c.num_attention_heads;
  return validateConfig(c);
}

/** Rounds a vocabulary size up to a multiple (OLMo pads 50280 → 50304 with 128). */
export function padVocab(vocabSize: number, multiple = 128): number {
  return Math.ceil(vocabSize / multiple) * multiple;
}

export function validateConfig(c: OLMoConfig): OLMoConfig {
  const posInt = (k: keyof OLMoConfig) => {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new ConfigError(`config.${k} must be a positive integer, got ${JSON.stringify(v)}`);
  };
  for (const k of ['vocab_size', 'embedding_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'max_position_embeddings'] as const) posInt(k);
  if (c.architecture !== 'olmo1' && c.architecture !== 'olmo2') throw new ConfigError(`config.architecture must be 'olmo1' or 'olmo2', got ${JSON.stringify(c.architecture)}`);
  if (c.embedding_size < c.vocab_size) throw new ConfigError(`embedding_size ${c.embedding_size} < vocab_size ${c.vocab_size}`, 'embedding_size is the padded vocabulary; it must be ≥ vocab_size');
  if (c.hidden_size % c.num_attention_heads !== 0) throw new ConfigError(`hidden_size ${c.hidden_size} is not divisible by num_attention_heads ${c.num_attention_heads}`);
  if (c.num_attention_heads % c.num_key_value_heads !== 0) throw new ConfigError(`num_attention_heads ${c.num_attention_heads} is not divisible by num_key_value_heads ${c.num_key_value_heads}`);
  if ((c.hidden_size / c.num_attention_heads) % 2 !== 0) throw new ConfigError(`head dim ${c.hidden_size / c.num_attention_heads} must be even for RoPE`);
  if (!(c.rope_theta > 0)) throw new ConfigError(`rope_theta must be > 0, got ${c.rope_theta}`);
  if (!(c.layer_norm_eps > 0)) throw new ConfigError(`layer_norm_eps must be > 0, got ${c.layer_norm_eps}`);
  if (c.clip_qkv !== null && !(c.clip_qkv > 0)) throw new ConfigError(`clip_qkv must be null or > 0, got ${c.clip_qkv}`);
  if (c.clip_qkv !== null && c.architecture === 'olmo2') throw new ConfigError('clip_qkv is an OLMo-1 option; OLMo-2 uses QK-norm');
  if (!['normal', 'mitchell', 'full_megatron'].includes(c.init_fn)) throw new ConfigError(`unknown init_fn '${c.init_fn}'`, "use 'normal', 'mitchell' or 'full_megatron'");
  if (!(c.init_std > 0)) throw new ConfigError(`init_std must be > 0, got ${c.init_std}`);
  return c;
}

/** HF config.json (OlmoConfig / Olmo2Config) → OLMoConfig. Unknown keys are ignored. */
function fromHF(hf: Record<string, unknown>): OLMoConfig {
  const mt = hf.model_type;
  const archs = Array.isArray(hf.architectures) ? (hf.architectures as string[]) : [];
  let architecture: Architecture;
  if (mt === 'olmo2' || archs.includes('Olmo2ForCausalLM')) architecture = 'olmo2';
  else if (mt === 'olmo' || archs.includes('OlmoForCausalLM') || mt === undefined) architecture = 'olmo1';
  else throw new ConfigError(`unsupported model_type '${String(mt)}'`, "this package loads HF 'olmo' (OlmoForCausalLM) and 'olmo2' (Olmo2ForCausalLM) checkpoints");
  const base = architecture === 'olmo2' ? OLMO2_BASE : OLMO1_BASE;
  const num = (k: string, d?: number): number => {
    const v = hf[k];
    if (v === undefined || v === null) {
      if (d === undefined) throw new ConfigError(`config.json is missing '${k}'`);
      return d;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`config.json '${k}' must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const optInt = (k: string): number | null => {
    const v = hf[k];
    if (v === undefined || v === null) return null;
    if (Array.isArray(v)) return typeof v[0] === 'number' ? v[0] : null;
    if (typeof v !== 'number') throw new ConfigError(`config.json '${k}' must be a number or null`);
    return v;
  };
  const embedding = num('vocab_size');
  const heads = num('num_attention_heads');
  if (hf.hidden_act !== undefined && hf.hidden_act !== 'silu') throw new ConfigError(`hidden_act '${String(hf.hidden_act)}' is not supported`, 'OLMo uses silu (SwiGLU)');
  if (hf.attention_bias === true) throw new ConfigError('attention_bias=true is not supported', 'OLMo has no biases');
  if (hf.rope_scaling !== undefined && hf.rope_scaling !== null) throw new ConfigError('rope_scaling is not supported');
  const olmoExtra = (hf.olmo_ts ?? {}) as Partial<OLMoConfig>;
  const clip = hf.clip_qkv;
  return validateConfig({
    ...base,
    architecture,
    vocab_size: typeof olmoExtra.vocab_size === 'number' ? olmoExtra.vocab_size : embedding,
    embedding_size: embedding,
    hidden_size: num('hidden_size'),
    intermediate_size: num('intermediate_size'),
    num_hidden_layers: num('num_hidden_layers'),
    num_attention_heads: heads,
    num_key_value_heads: num('num_key_value_heads', heads),
    max_position_embeddings: num('max_position_embeddings', base.max_position_embeddings),
    rope_theta: num('rope_theta', architecture === 'olmo2' ? 500000 : 10000),
    clip_qkv: clip === undefined || clip === null ? null : num('clip_qkv'),
    tie_word_embeddings: hf.tie_word_embeddings === true, // HF default: false
    layer_norm_eps: architecture === 'olmo2' ? num('rms_norm_eps', 1e-6) : 1e-5,
    eos_token_id: optInt('eos_token_id'),
    pad_token_id: optInt('pad_token_id'),
    bos_token_id: optInt('bos_token_id'),
    init_fn: olmoExtra.init_fn ?? base.init_fn,
    init_std: typeof olmoExtra.init_std === 'number' ? olmoExtra.init_std : num('initializer_range', base.init_std),
    init_cutoff_factor: olmoExtra.init_cutoff_factor !== undefined ? olmoExtra.init_cutoff_factor : base.init_cutoff_factor,
    emb_init_std: olmoExtra.emb_init_std ?? null,
  });
}

/** OLMoConfig → HF config.json object (loads in transformers as OlmoConfig / Olmo2Config). */
function toHF(c: OLMoConfig, dtype: 'float32' | 'bfloat16' | 'float16' = 'float32'): Record<string, unknown> {
  validateConfig(c);
  const olmo2 = c.architecture === 'olmo2';
  const out: Record<string, unknown> = {
    architectures: [olmo2 ? 'Olmo2ForCausalLM' : 'OlmoForCausalLM'],
    model_type: olmo2 ? 'olmo2' : 'olmo',
    vocab_size: c.embedding_size,
    hidden_size: c.hidden_size,
    intermediate_size: c.intermediate_size,
    num_hidden_layers: c.num_hidden_layers,
    num_attention_heads: c.num_attention_heads,
    num_key_value_heads: c.num_key_value_heads,
    hidden_act: 'silu',
    max_position_embeddings: c.max_position_embeddings,
    initializer_range: c.init_std,
    use_cache: true,
    pad_token_id: c.pad_token_id,
    bos_token_id: c.bos_token_id,
    eos_token_id: c.eos_token_id,
    tie_word_embeddings: c.tie_word_embeddings,
    rope_theta: c.rope_theta,
    rope_scaling: null,
    attention_bias: false,
    attention_dropout: 0.0,
  };
  if (olmo2) out.rms_norm_eps = c.layer_norm_eps;
  else out.clip_qkv = c.clip_qkv;
  out.torch_dtype = dtype;
  // Fields HF does not carry, kept so a round trip is lossless (transformers ignores unknown keys).
  out.olmo_ts = { vocab_size: c.vocab_size, init_fn: c.init_fn, init_std: c.init_std, init_cutoff_factor: c.init_cutoff_factor, emb_init_std: c.emb_init_std };
  return out;
}

async function load(dir: string): Promise<OLMoConfig> {
  const file = path.join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const what = existsSync(dir) ? `no config.json in model folder ${dir}` : `model folder ${dir} does not exist`;
    throw new NotFoundError(`${what} (${(e as Error).message})`, 'pass an HF model folder (config.json + model.safetensors)');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError(`${file} must hold a JSON object`);
  return fromHF(json as Record<string, unknown>);
}

/** Derived sizes. */
export function headDim(c: OLMoConfig): number {
  return c.hidden_size / c.num_attention_heads;
}

export interface ParamSpec {
  name: string;
  shape: number[];
}

/** The model's parameters (HF names and shapes, in load/save order) — lazy: no allocation. */
export function parameterSpecs(c: OLMoConfig): ParamSpec[] {
  const C = c.hidden_size, F = c.intermediate_size, hd = headDim(c);
  const kv = c.num_key_value_heads * hd;
  const specs: ParamSpec[] = [{ name: 'model.embed_tokens.weight', shape: [c.embedding_size, C] }];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    specs.push(
      { name: `${p}self_attn.q_proj.weight`, shape: [C, C] },
      { name: `${p}self_attn.k_proj.weight`, shape: [kv, C] },
      { name: `${p}self_attn.v_proj.weight`, shape: [kv, C] },
      { name: `${p}self_attn.o_proj.weight`, shape: [C, C] },
    );
    if (c.architecture === 'olmo2') {
      specs.push({ name: `${p}self_attn.q_norm.weight`, shape: [C] }, { name: `${p}self_attn.k_norm.weight`, shape: [kv] });
    }
    specs.push(
      { name: `${p}mlp.gate_proj.weight`, shape: [F, C] },
      { name: `${p}mlp.up_proj.weight`, shape: [F, C] },
      { name: `${p}mlp.down_proj.weight`, shape: [C, F] },
    );
    if (c.architecture === 'olmo2') {
      specs.push({ name: `${p}post_attention_layernorm.weight`, shape: [C] }, { name: `${p}post_feedforward_layernorm.weight`, shape: [C] });
    }
  }
  if (c.architecture === 'olmo2') specs.push({ name: 'model.norm.weight', shape: [C] });
  if (!c.tie_word_embeddings) specs.push({ name: 'lm_head.weight', shape: [c.embedding_size, C] });
  return specs;
}

/** Parameter count from shapes alone (works at 7B size without allocating anything). */
export function countParameters(c: OLMoConfig, opts: { includeEmbedding?: boolean } = {}): number {
  let n = 0;
  for (const s of parameterSpecs(c)) {
    if (opts.includeEmbedding === false && s.name === 'model.embed_tokens.weight') continue;
    n += s.shape.reduce((a, b) => a * b, 1);
  }
  return n;
}

/**
 * Training FLOPs per token as OLMo computes them (olmo/model.py num_fwd_flops + num_bck_flops):
 * forward 2·N(non-embedding) + 4·L·d·seqLen, backward 4·N(all) + 8·L·d·seqLen.
 */
export function flopsPerToken(c: OLMoConfig, seqLen: number = c.max_position_embeddings): number {
  const fwd = 2 * countParameters(c, { includeEmbedding: false }) + c.num_hidden_layers * 2 * 2 * c.hidden_size * seqLen;
  const bck = 4 * countParameters(c) + c.num_hidden_layers * 8 * c.hidden_size * seqLen;
  return fwd + bck;
}

/** Presets and HF conversion. `OLMoConfig` is both the type and this namespace of constructors. */
export const OLMoConfig = {
  /** OLMo-1B (allenai/OLMo-1B): d 2048, 16 layers, 16 heads, SwiGLU 8192, tied, 1,176,764,416 params. */
  olmo1B: (o?: Overrides): OLMoConfig => make(OLMO1_BASE, o),
  /** OLMo-7B (allenai/OLMo-7B): d 4096, 32 layers, 32 heads, SwiGLU 11008, untied, 6,888,095,744 params. */
  olmo7B: (o?: Overrides): OLMoConfig =>
    make({ ...OLMO1_BASE, hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 32, tie_word_embeddings: false }, o),
  /** OLMo-7B-0424: OLMo-7B with clip_qkv 8 and 4096 context. */
  olmo7B_0424: (o?: Overrides): OLMoConfig =>
    make({ ...OLMO1_BASE, hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 32, tie_word_embeddings: false, clip_qkv: 8, max_position_embeddings: 4096 }, o),
  /** OLMo-2 1B (stage-1 config): d 2048, 16 layers, 16 heads, SwiGLU 8192, dolma2 vocab, theta 500000. */
  olmo2_1B: (o?: Overrides): OLMoConfig => make(OLMO2_BASE, o),
  /** OLMo-2 7B (stage-1 config): d 4096, 32 layers, 32 heads, SwiGLU 11008. */
  olmo2_7B: (o?: Overrides): OLMoConfig =>
    make({ ...OLMO2_BASE, hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 32 }, o),
  /** Benchmark "tiny": d 256, 4 layers, 4 heads, SwiGLU 1024, vocab 50304 (OLMo-1 architecture). */
  tiny: (o?: Overrides): OLMoConfig =>
    make({ ...OLMO1_BASE, hidden_size: 256, intermediate_size: 1024, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 4, tie_word_embeddings: false }, o),
  /** Benchmark "small": d 512, 8 layers, 8 heads, SwiGLU 2048, vocab 50304. */
  small: (o?: Overrides): OLMoConfig =>
    make({ ...OLMO1_BASE, hidden_size: 512, intermediate_size: 2048, num_hidden_layers: 8, num_attention_heads: 8, num_key_value_heads: 8, tie_word_embeddings: false }, o),
  /** Fills defaults for `architecture` and validates a (possibly partial) config object. */
  from: (o: Overrides & { architecture?: Architecture }): OLMoConfig => make(o.architecture === 'olmo2' ? OLMO2_BASE : OLMO1_BASE, o),
  fromHF,
  toHF,
  load,
  validate: validateConfig,
  parameterSpecs,
  countParameters,
  flopsPerToken,
};
