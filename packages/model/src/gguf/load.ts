/**
 * `OLMo.fromPretrained('model.gguf', { dtype?, quantize? })`: the config comes from the GGUF
 * metadata (llama.cpp's keys). Without dtype / quantize the model keeps the file's own types
 * (ggufFilePrecision); inference weights are views into the mapped file where the stored type is
 * the model's (load-weights.ts), converted otherwise. A trainable model (requiresGrad) gets its
 * float32 flat buffer, decoded into tensor by tensor (OLMo-1 q/k rows un-permuted back to HF's
 * rotate-half layout).
 */
import type { Device } from '@olmo/tensor-cuda';
import { OLMoConfig, headDim, parameterSpecs, validateConfig, type OLMoConfig as Config } from '../config.js';
import { CheckpointError, ConfigError, OlmoError } from '../errors.js';
import { ggufTensorName, permuteRopeRows } from './format.js';
import { GgufFile, type GgufMetaValue } from './reader.js';
import { ggufFilePrecision, loadGgufWeights } from './load-weights.js';
import { disposeWeights, parsePrecision, type Precision, type Weight } from '../weights.js';
import { tokenizerJsonFromGguf } from './tokenizer-metadata.js';

/** What the loader needs from a model: its flat parameter storage (OLMo satisfies it). */
export interface GgufLoadTarget {
  parameter(name: string): { buf: { write(byteOffset: number, values: Float32Array): void }; byteOffset: number };
  requiresGrad_(flag: boolean): unknown;
  dispose(): void;
}

/**
 * GGUF stores eps / rope base as float32; the shortest decimal that rounds to the same float32
 * gives back the config value that was written (1e-6, not 9.99999997e-7). Both compute identically.
 */
function shortestFloat32(v: number): number {
  if (Number.isInteger(v)) return v;
  const f = Math.fround(v);
  for (let p = 1; p <= 9; p++) {
    const d = Number(f.toPrecision(p));
    if (Math.fround(d) === f) return d;
  }
  return v;
}

/** OLMoConfig from a GGUF file's metadata and tensor shapes. */
export function configFromGguf(g: GgufFile): Config {
  const arch = g.get('general.architecture');
  if (arch !== 'olmo' && arch !== 'olmo2') {
    throw new ConfigError(`${g.path}: general.architecture is ${JSON.stringify(arch)}`, "olmo-ts loads GGUF architectures 'olmo' (OLMo-1) and 'olmo2' (OLMo-2)");
  }
  const num = (key: string, dflt?: number): number => {
    const v: GgufMetaValue | undefined = g.get(`${arch}.${key}`);
    if (v === undefined) {
      if (dflt === undefined) throw new CheckpointError(`${g.path}: metadata '${arch}.${key}' is missing`, 'the GGUF file is incomplete');
      return dflt;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new CheckpointError(`${g.path}: metadata '${arch}.${key}' must be a number, got ${JSON.stringify(String(v))}`, 'the GGUF file is corrupt');
    return shortestFloat32(v);
  };
  const optId = (key: string): number | null => {
    const v = g.get(key);
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null;
  };
  const emb = g.tensors.get('token_embd.weight');
  if (!emb || emb.shape.length !== 2) throw new CheckpointError(`${g.path}: no 2-D tensor 'token_embd.weight'`, 'the GGUF file is incomplete');
  const embeddingSize = emb.shape[0]!;
  const declared = g.get(`${arch}.vocab_size`);
  if (declared !== undefined && declared !== embeddingSize) throw new CheckpointError(`${g.path}: ${arch}.vocab_size ${String(declared)} disagrees with token_embd rows ${embeddingSize}`, 'the GGUF file is corrupt');
  const tokens = g.get('tokenizer.ggml.tokens');
  if (Array.isArray(tokens) && tokens.length !== embeddingSize) throw new CheckpointError(`${g.path}: ${tokens.length} tokens but token_embd has ${embeddingSize} rows`, 'the GGUF file is corrupt');
  const ours = g.get('olmo_ts.vocab_size');
  const heads = num('attention.head_count');
  const base = arch === 'olmo2' ? OLMoConfig.olmo2_1B() : OLMoConfig.olmo1B();
  let config: Config;
  try {
    config = validateConfig({
      ...base,
      architecture: arch === 'olmo2' ? 'olmo2' : 'olmo1',
      vocab_size: typeof ours === 'number' && ours <= embeddingSize ? ours : embeddingSize,
      embedding_size: embeddingSize,
      hidden_size: num('embedding_length'),
      intermediate_size: num('feed_forward_length'),
      num_hidden_layers: num('block_count'),
      num_attention_heads: heads,
      num_key_value_heads: num('attention.head_count_kv', heads),
      max_position_embeddings: num('context_length'),
      rope_theta: num('rope.freq_base', 10000),
      clip_qkv: arch === 'olmo' && g.get('olmo.attention.clamp_kqv') !== undefined ? num('attention.clamp_kqv') : null,
      tie_word_embeddings: !g.tensors.has('output.weight'),
      layer_norm_eps: arch === 'olmo2' ? num('attention.layer_norm_rms_epsilon') : num('attention.layer_norm_epsilon', 1e-5),
      bos_token_id: optId('tokenizer.ggml.bos_token_id'),
      eos_token_id: optId('tokenizer.ggml.eos_token_id'),
      pad_token_id: optId('tokenizer.ggml.padding_token_id'),
    });
  } catch (e) {
    if (e instanceof ConfigError) throw new CheckpointError(`${g.path}: the metadata describes an invalid model: ${e.message}`, 'the GGUF file is corrupt');
    throw e;
  }
  const rotDims = g.get(`${arch}.rope.dimension_count`);
  if (rotDims !== undefined && rotDims !== headDim(config)) {
    throw new OlmoError('CHECKPOINT_CORRUPT', `${g.path}: rope.dimension_count ${String(rotDims)} != head dim ${headDim(config)}`, 'partial rotary embeddings are not part of OLMo');
  }
  return config;
}

export interface LoadGgufOptions {
  device?: Device;
  requiresGrad?: boolean;
  /** Reject tensors the model does not use (default true). */
  strict?: boolean;
  /** Weight dtype; with neither dtype nor quantize the file's own types decide (ggufFilePrecision). */
  dtype?: unknown;
  quantize?: unknown;
}

/**
 * The model's precision: the file's own (ggufFilePrecision) when the caller gives neither dtype nor
 * quantize — float32 when it asks for gradients —, else the options as they mean for an HF folder.
 */
export function resolveGgufPrecision(filePrecision: Precision, opts: LoadGgufOptions): Precision {
  const device = opts.device ?? 'cpu';
  if (opts.dtype === undefined && opts.quantize === undefined) {
    if (opts.requiresGrad) return { dtype: 'float32', quantize: null };
    // q8_0 weights live on the cpu only; elsewhere a q8_0 file dequantizes into its float dtype.
    return device === 'cpu' ? filePrecision : { ...filePrecision, quantize: null };
  }
  return parsePrecision(opts, 'fromPretrained', device);
}

/** What the loader builds: a trainable float32 model (weights null) or one over the given weights. */
export type GgufConstruct<M> = (config: Config, precision: Precision, weights: Map<string, Weight> | null) => M;

/** Loads a GGUF file into a model built by `construct` (OLMo.fromPretrained's hook). */
export async function loadGguf<M extends GgufLoadTarget>(file: string, opts: LoadGgufOptions, construct: GgufConstruct<M>): Promise<M> {
  const g = await GgufFile.open(file);
  let model: M | null = null;
  try {
    const config = configFromGguf(g);
    const specs = parameterSpecs(config);
    const names = new Map(specs.map((s) => [s.name, ggufTensorName(s.name)]));
    const gname = (hf: string) => names.get(hf)!;
    const missing = specs.filter((s) => !g.tensors.has(gname(s.name))).map((s) => gname(s.name));
    if (missing.length) throw new CheckpointError(`${file}: missing tensors ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` (+${missing.length - 5} more)` : ''}`, 'the GGUF file is incomplete');
    if (opts.strict !== false) {
      const known = new Set(names.values());
      const extra = [...g.tensors.keys()].filter((n) => !known.has(n));
      if (extra.length) throw new CheckpointError(`${file}: unexpected tensors ${extra.slice(0, 5).join(', ')}`, 'the metadata does not describe these tensors (architecture, block_count), or pass { strict: false }');
    }
    for (const s of specs) {
      const info = g.info(gname(s.name));
      if (info.shape.length !== s.shape.length || info.shape.some((d, i) => d !== s.shape[i])) {
        throw new CheckpointError(`${file}: tensor '${info.name}' has shape [${info.shape.join(', ')}] but the metadata implies [${s.shape.join(', ')}]`, 'the GGUF metadata and tensors disagree');
      }
    }
    const precision = resolveGgufPrecision(ggufFilePrecision(g, specs, gname), opts);
    const lowp = precision.dtype !== 'float32' || precision.quantize !== null;
    if (lowp && opts.requiresGrad) {
      throw new OlmoError('DTYPE_UNSUPPORTED', `fromPretrained: ${precision.quantize ?? precision.dtype} weights are for inference and cannot require grad`, 'load in float32 (dtype: "float32") to train');
    }
    // Inference on the cpu (any precision) and low precision anywhere: mapped / converted weights.
    if (lowp || (!opts.requiresGrad && (opts.device ?? 'cpu') === 'cpu')) {
      const { weights } = await loadGgufWeights(g, config, specs, gname, precision, opts.device ?? 'cpu');
      try {
        return construct(config, precision, weights);
      } catch (e) {
        disposeWeights(weights);
        throw e;
      }
    }
    // Trainable float32 (or float32 on cuda): the model's own flat buffer, decoded into.
    model = construct(config, precision, null);
    const olmo1 = config.architecture === 'olmo1';
    for (const s of specs) {
      const view = model.parameter(s.name);
      const isQ = s.name.endsWith('self_attn.q_proj.weight'), isK = s.name.endsWith('self_attn.k_proj.weight');
      if (olmo1 && (isQ || isK)) {
        const w = await g.readFloat32(gname(s.name));
        view.buf.write(view.byteOffset, permuteRopeRows(w, s.shape[0]!, s.shape[1]!, isQ ? config.num_attention_heads : config.num_key_value_heads, true));
      } else {
        await g.readChunks(gname(s.name), (vals, off) => view.buf.write(view.byteOffset + off * 4, vals));
      }
    }
    model.requiresGrad_(opts.requiresGrad ?? false);
    return model;
  } catch (e) {
    model?.dispose();
    throw e;
  } finally {
    await g.close();
  }
}

/** An HF tokenizer.json object rebuilt from a GGUF file's vocabulary (see tokenizerJsonFromGguf). */
export async function readGgufTokenizerJson(file: string): Promise<Record<string, unknown>> {
  const g = await GgufFile.open(file);
  try {
    return tokenizerJsonFromGguf(g.metadata, file);
  } finally {
    await g.close();
  }
}
