/**
 * OLMo-1 and OLMo-2 decoder-only transformers over @olmo/tensor-cuda.
 *
 * OLMo-1 block (HF OlmoDecoderLayer): pre-norm, non-parametric LayerNorm (eps 1e-5),
 *   h = x + o_proj(attn(rope(clip(q_proj(ln(x)))), rope(clip(k_proj(ln(x)))), clip(v_proj(ln(x)))))
 *   out = h + down_proj(silu(gate_proj(ln(h))) * up_proj(ln(h)))
 * OLMo-2 block (HF Olmo2DecoderLayer): RMSNorm with weights, QK-norm over the full q / k
 *   projections before the head split, norm-after ordering:
 *   h = x + post_attention_layernorm(attn(x));  out = h + post_feedforward_layernorm(mlp(h))
 * Final norm, then the LM head (tied to embed_tokens or untied lm_head). No biases anywhere.
 *
 * All parameters live in one FlatBuffer (HF names, load/save order), so gradients and optimizer
 * state can be flat too. forward() runs in a tidy scope: intermediates are disposed while the
 * autograd graph keeps its own handles; only logits / loss reach the caller.
 *
 * Inference models may instead keep their weights in bfloat16 or q8_0 (`dtype` / `quantize`
 * options; see weights.ts): then there is no flat buffer, linear layers run the low-precision
 * kernels (lowpLinear), q/k/v and gate/up each run as one fused native call, and activations,
 * accumulation, norms and softmax stay float32.
 */
import { mkdir, rename, writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  FlatBuffer, Generator, QTensor, Tensor, add, castInto, checkpoint, copyInto, dequantize, linearCrossEntropy, deviceIndex, fillInPlace, isLowpWeight, linear, lowpLinearMulti, noGrad, tensor, tidy, isGradEnabled, autocastDtype, storeBf16, gemmBf16Isa, roundBf16Into,
  type Device,
} from '@olmo/tensor-cuda';
import { OLMoConfig, countParameters, flopsPerToken, headDim, parameterSpecs, validateConfig, type ParamSpec } from './config.js';
import { CheckpointError, ConfigError, OlmoError } from './errors.js';
import { initSpecFor } from './init.js';
import { attention, clamp, crossEntropy, documentLayout, embedding, layerNorm, rmsNorm, rope, swiglu } from './ops.js';
import { SafetensorsSet, saveSafetensorsDir, type SaveDType } from './safetensors.js';
import { canDecodeFused, decodeBlocksFused } from './decode.js';
import { generate as generateImpl, generateBatch as generateBatchImpl, type GenerateOptions } from './generate.js';
import {
  allocateWeights, disposeWeights, loadLowpWeights, newStage, parsePrecision, writeF32Chunk,
  type Precision, type Quantization, type Weight, type WeightDType,
} from './weights.js';

export interface FromPretrainedOptions {
  device?: Device;
  /**
   * Weight storage dtype (default 'float32'; for a GGUF file given neither dtype nor quantize:
   * the file's own types). 'bfloat16' keeps weights in bf16 — mapped straight from a bf16
   * checkpoint on the cpu, no copy — for inference; activations stay float32.
   */
  dtype?: WeightDType;
  /** 'q8_0': linear weights as llama.cpp Q8_0 blocks (8.5 bits/weight; cpu only; inference; mapped from a q8_0 GGUF). */
  quantize?: Quantization;
  /** Mark parameters as requiring gradients (default false: inference). */
  requiresGrad?: boolean;
  /** Reject tensors the model does not use (default true). */
  strict?: boolean;
}

export interface InitOptions {
  seed?: number;
  /** 'meta': shapes only, no storage (parameter counts and FLOPs at any size). */
  device?: Device | 'meta';
  /** Default true for float32 (a freshly initialised model is for training); false — and must stay false — for bfloat16 / q8_0 weights. */
  requiresGrad?: boolean;
  /** Weight storage dtype, as in fromPretrained (default 'float32'). */
  dtype?: WeightDType;
  /** 'q8_0' linear weights, as in fromPretrained. */
  quantize?: Quantization;
  /**
   * 'random' (default): every element drawn from its init distribution. 'tiled': one 2^20-value
   * random block per tensor, repeated — the right scale and no zeros, for throughput benchmarks at
   * 7B scale where drawing every element in JS takes minutes. Not for real training.
   */
  fill?: 'random' | 'tiled';
}

/**
 * OLMo's `activation_checkpointing` strategies: whole_layer = every block recomputed in backward;
 * one_in_N = blocks whose index is a multiple of N; fine_grained = inside every block, the input
 * norms, the attention core (RoPE + softmax attention) and the SwiGLU activation (OLMo's
 * attn_norm / attention / ff_norm / act wrapping).
 */
export type ActivationCheckpointing = 'whole_layer' | 'one_in_two' | 'one_in_three' | 'one_in_four' | 'fine_grained';
export const ACTIVATION_CHECKPOINTING: readonly ActivationCheckpointing[] = ['whole_layer', 'one_in_two', 'one_in_three', 'one_in_four', 'fine_grained'];

function checkpointsBlock(s: ActivationCheckpointing | null | undefined, l: number): boolean {
  switch (s) {
    case 'whole_layer': return true;
    case 'one_in_two': return l % 2 === 0;
    case 'one_in_three': return l % 3 === 0;
    case 'one_in_four': return l % 4 === 0;
    default: return false;
  }
}

export interface ForwardOptions {
  /** Recompute activations in backward instead of keeping them (training memory); see ActivationCheckpointing. */
  activationCheckpointing?: ActivationCheckpointing | null;
  /** HF semantics: labels [B, T] aligned with the inputs; position t predicts labels[t + 1]; -100 is ignored. */
  labels?: number[][] | Tensor;
  ignoreIndex?: number;
  /** Adds OLMo's z-loss (multiplier · logsumexp²), returned separately as zLoss. */
  zLossMultiplier?: number;
  /** Compute logits only for the last position of each row ([B, 1, V]). */
  lastOnly?: boolean;
  /** KV cache for incremental decoding (inference only). */
  cache?: KVCache;
  /** One token of one sequence with a cache on the cpu runs each block as one native call (decode.ts); false: op by op. Default true. */
  fusedDecode?: boolean;
  /**
   * Sharded execution (FSDP, from @olmo/tensor-cuda): the model runs as units — the embedding
   * lookup, each block, and the head — through `units.run`, reading parameters through
   * `units.param(name)` (gathered just in time) instead of its own flat buffer, which may then be
   * released. Under it, `logits` are returned detached; the differentiable output is `loss`,
   * computed inside the head unit by `lossFn` (or the default mean cross-entropy with labels).
   */
  units?: UnitRunner;
  /**
   * Loss on the logits [B, T, V], computed inside the head (for training under `units`). It runs
   * again during backward (recomputation), so tensors it captures must stay alive until then.
   */
  lossFn?: (logits: Tensor) => Tensor;
  /**
   * Packed sequences: per-token document ids [B][T] (or flat, row-major). A document is a run of
   * equal ids in a row; attention never crosses a document boundary and RoPE positions restart
   * at 0 in every document (so a packed row computes what its documents would compute alone).
   */
  documentIds?: number[][] | ArrayLike<number>;
}

/** Device tensors of a packed-document layout (attention mask starts and RoPE positions). */
interface Docs {
  docStart: Tensor;
  positions: Tensor;
}

/** What the model needs from a sharded-execution engine (FSDP in @olmo/tensor-cuda satisfies it). */
export interface UnitRunner {
  run(units: readonly string[], inputs: readonly Tensor[], fn: (inputs: Tensor[]) => Tensor[]): Tensor[];
  param(name: string): Tensor;
  unitName(paramName: string): string;
}

export interface ForwardOutput {
  /** [B, T, V] (V = embedding_size), row-major. The caller owns it. */
  logits: Tensor;
  /** Mean next-token cross-entropy (scalar) when labels were given. */
  loss: Tensor | null;
  zLoss: Tensor | null;
}

/** Per-layer key/value cache: [B, maxLen, NKV, HS] buffers, filled up to `length`. */
export class KVCache {
  readonly k: Tensor[] = [];
  readonly v: Tensor[] = [];
  length = 0;

  constructor(readonly config: OLMoConfig, readonly batch: number, readonly maxLength: number, device: Device) {
    const shape = [batch, maxLength, config.num_key_value_heads, headDim(config)];
    for (let l = 0; l < config.num_hidden_layers; l++) {
      this.k.push(Tensor.allocate(shape, 'float32', deviceIndex(device), false).keep());
      this.v.push(Tensor.allocate(shape, 'float32', deviceIndex(device), false).keep());
    }
  }

  /** Writes new keys/values [B, T, NKV, HS] at positions [length, length+T) and returns the filled prefix views. */
  append(layer: number, k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
    const T = k.shape[1]!;
    const end = this.length + T;
    if (end > this.maxLength) throw new OlmoError('INVALID_ARGUMENT', `KV cache overflow: ${end} positions > capacity ${this.maxLength}`, 'allocate a larger cache (maxNewTokens + prompt length)');
    for (const [buf, src] of [[this.k[layer]!, k], [this.v[layer]!, v]] as const) {
      if (this.batch === 1) {
        const dst = buf.slice(1, this.length, end);
        copyInto(dst, src);
        dst.dispose();
      } else {
        for (let b = 0; b < this.batch; b++) {
          const row = buf.slice(0, b, b + 1);
          const dst = row.slice(1, this.length, end);
          const s = src.slice(0, b, b + 1);
          copyInto(dst, s);
          dst.dispose(); row.dispose(); s.dispose();
        }
      }
    }
    return { k: this.k[layer]!.slice(1, 0, end), v: this.v[layer]!.slice(1, 0, end) };
  }

  dispose(): void {
    for (const t of [...this.k, ...this.v]) t.dispose();
    this.k.length = 0;
    this.v.length = 0;
  }
}

export class OLMo {
  readonly config: OLMoConfig;
  readonly device: Device | 'meta';
  readonly specs: readonly ParamSpec[];
  /** All parameters in one flat float32 buffer (null for a 'meta' model or low-precision weights). */
  readonly flat: FlatBuffer | null;
  /** Weight storage: dtype of the weights and the linear-layer quantization (see weights.ts). */
  readonly precision: Precision;
  /** Low-precision weights by HF name (null for float32 models). */
  private lowp: Map<string, Weight> | null = null;
  private gradFlat: FlatBuffer | null = null;
  private disposed = false;
  /** amp_bf16: bf16 copies of the parameters for the GEMMs (enableComputeCopies; on an avx2 CPU float32 holding bf16 values). */
  private bf16Flat: Tensor | null = null;
  private bf16Views = new Map<string, Tensor>();
  /** Where forward reads parameters (a FSDP unit runner while one is active). */
  private paramSource: ((name: string) => Tensor) | null = null;

  private constructor(config: OLMoConfig, device: Device | 'meta', precision: Precision = { dtype: 'float32', quantize: null }, lowp?: Map<string, Weight>) {
    this.config = validateConfig({ ...config });
    this.device = device;
    this.specs = parameterSpecs(this.config);
    this.precision = precision;
    // float32 weights given from outside (a mapped GGUF) are used as they are, without a flat buffer.
    const full = precision.dtype === 'float32' && precision.quantize === null && !lowp;
    this.flat = device === 'meta' || !full ? null : new FlatBuffer(this.specs, { device });
    if (this.flat) for (const [name, v] of this.flat.views) v.name = name;
    if (!full && device !== 'meta') this.lowp = lowp ?? allocateWeights(this.specs, precision, device);
  }

  /** True when the weights are bfloat16 / q8_0 (inference only). */
  get lowPrecision(): boolean {
    return this.precision.dtype !== 'float32' || this.precision.quantize !== null;
  }

  // ---------------------------------------------------------------- construction

  /** A freshly initialised model (OLMo's init schemes; reproducible from `seed`). */
  static init(config: OLMoConfig, opts: InitOptions = {}): OLMo {
    const device = opts.device ?? 'cpu';
    const precision = parsePrecision(opts, 'OLMo.init', device);
    const m = new OLMo(config, device, precision);
    if (m.lowp) return m.initLowp(opts.seed ?? 0, opts.requiresGrad);
    if (!m.flat) return m;
    const gen = new Generator(opts.seed ?? 0);
    for (const s of m.specs) {
      const spec = initSpecFor(m.config, s.name);
      const n = s.shape.reduce((a, b) => a * b, 1);
      const view = m.flat.view(s.name);
      const chunk = 1 << 20;
      const buf = new Float32Array(Math.min(n, chunk));
      const tiled = opts.fill === 'tiled';
      for (let off = 0; off < n; off += chunk) {
        const k = Math.min(chunk, n - off);
        const arr = buf.subarray(0, k);
        if (tiled && off > 0) { view.buf.write(view.byteOffset + off * 4, buf.subarray(0, k)); continue; }
        if (spec.kind === 'ones') arr.fill(1);
        else if (spec.cutoff === null) gen.fillNormal(arr, 0, spec.std);
        else gen.fillTruncNormal(arr, 0, spec.std, -spec.cutoff * spec.std, spec.cutoff * spec.std);
        view.buf.write(view.byteOffset + off * 4, arr);
      }
    }
    m.requiresGrad_(opts.requiresGrad ?? true);
    return m;
  }

  /** init() for low-precision weights: the same float32 values (same seed), converted chunk by chunk. */
  private initLowp(seed: number, requiresGrad: boolean | undefined): OLMo {
    if (requiresGrad) {
      this.dispose();
      throw new OlmoError('DTYPE_UNSUPPORTED', `OLMo.init: ${this.precision.quantize ?? this.precision.dtype} weights are for inference and cannot require grad`, "train in float32 (the default dtype), then save and load in low precision");
    }
    const gen = new Generator(seed);
    const stage = newStage();
    try {
      for (const s of this.specs) {
        const spec = initSpecFor(this.config, s.name);
        const n = s.shape.reduce((a, b) => a * b, 1);
        const w = this.lowp!.get(s.name)!;
        const row = s.shape.length === 2 ? s.shape[1]! : 1;
        const chunk = Math.max(1, Math.floor((1 << 20) / row)) * row;  // whole rows (q8_0 blocks)
        const buf = new Float32Array(Math.min(n, chunk));
        for (let off = 0; off < n; off += chunk) {
          const arr = buf.subarray(0, Math.min(chunk, n - off));
          if (spec.kind === 'ones') arr.fill(1);
          else if (spec.cutoff === null) gen.fillNormal(arr, 0, spec.std);
          else gen.fillTruncNormal(arr, 0, spec.std, -spec.cutoff * spec.std, spec.cutoff * spec.std);
          writeF32Chunk(w, off, arr, stage);
        }
      }
    } catch (e) {
      this.dispose();
      throw e;
    } finally {
      stage.dispose();
    }
    return this;
  }

  /**
   * Loads an HF folder: config.json + model.safetensors (or a sharded set with its index), or a
   * `*.gguf` file (llama.cpp format, arch olmo / olmo2; f32/f16/bf16/q8_0). A GGUF file loads in
   * its own types unless dtype / quantize are given (f32 → float32, bf16 → bfloat16, q8_0 → q8_0
   * linear weights, f16 → float32), its weights mapped where the type is the model's (see
   * gguf/load-weights.ts); with requiresGrad it loads as trainable float32.
   */
  static async fromPretrained(dir: string, opts: FromPretrainedOptions = {}): Promise<OLMo> {
    const known = new Set(['device', 'dtype', 'quantize', 'requiresGrad', 'strict']);
    const unknown = Object.keys(opts).filter((k) => !known.has(k));
    if (unknown.length) throw new OlmoError('INVALID_ARGUMENT', `fromPretrained: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`, `valid options: ${[...known].join(', ')}`);
    if (/\.gguf$/i.test(dir)) {
      // GGUF: the file's own types unless dtype / quantize say otherwise (gguf/load.ts).
      const { loadGguf } = await import('./gguf/load.js');
      return loadGguf(dir, opts, (config, precision, weights) => new OLMo(config, opts.device ?? 'cpu', precision, weights ?? undefined));
    }
    const precision = parsePrecision(opts, 'fromPretrained', opts.device ?? 'cpu');
    const lowPrecision = precision.dtype !== 'float32' || precision.quantize !== null;
    if (lowPrecision && opts.requiresGrad) {
      throw new OlmoError('DTYPE_UNSUPPORTED', `fromPretrained: ${precision.quantize ?? precision.dtype} weights are for inference and cannot require grad`, 'load in float32 to train');
    }
    const config = await OLMoConfig.load(dir);
    const set = await SafetensorsSet.openDir(dir);
    let model: OLMo | null = null;
    try {
      const specs = parameterSpecs(config);
      const expected = new Set(specs.map((s) => s.name));
      const missing = specs.filter((s) => !set.has(s.name)).map((s) => s.name);
      if (missing.length) {
        throw new CheckpointError(`${dir}: missing tensors ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` (+${missing.length - 5} more)` : ''}`,
          config.tie_word_embeddings ? 'the checkpoint is incomplete' : 'the checkpoint is incomplete (or config.json should say tie_word_embeddings: true)');
      }
      if (opts.strict !== false) {
        const unexpected = set.names().filter((n) => !expected.has(n) && !/rotary_emb\.inv_freq$/.test(n));
        if (unexpected.length) {
          throw new CheckpointError(`${dir}: unexpected tensors ${unexpected.slice(0, 5).join(', ')}${unexpected.length > 5 ? ` (+${unexpected.length - 5} more)` : ''}`,
            'config.json does not describe this checkpoint (architecture, layer count, tie_word_embeddings), or pass { strict: false }');
        }
      }
      for (const s of specs) {
        const info = set.info(s.name);
        if (info.shape.length !== s.shape.length || info.shape.some((d, i) => d !== s.shape[i])) {
          throw new CheckpointError(`${dir}: tensor '${s.name}' has shape [${info.shape.join(', ')}] but config.json implies [${s.shape.join(', ')}]`, 'config.json and the weights disagree');
        }
      }
      if (lowPrecision) {
        const weights = await loadLowpWeights(set, specs, precision, opts.device ?? 'cpu');
        return new OLMo(config, opts.device ?? 'cpu', precision, weights);
      }
      model = new OLMo(config, opts.device ?? 'cpu');
      for (const s of specs) {
        const view = model.flat!.view(s.name);
        await set.file(s.name).readChunks(s.name, (vals, off) => view.buf.write(view.byteOffset + off * 4, vals));
      }
      model.requiresGrad_(opts.requiresGrad ?? false);
      return model;
    } catch (e) {
      model?.dispose();
      throw e;
    } finally {
      await set.close();
    }
  }

  /** Writes config.json and the weights (HF names, loadable by transformers) into `dir`. */
  async savePretrained(dir: string, opts: { dtype?: SaveDType; maxShardSize?: number | string } = {}): Promise<string[]> {
    this.requireLoaded();
    await mkdir(dir, { recursive: true });
    const entries = this.specs.map((s) => {
      const w = this.weight(s.name);
      if (w instanceof QTensor) return { name: s.name, shape: s.shape, data: () => noGrad(() => { const d = dequantize(w); try { return d.toFloat32Array(); } finally { d.dispose(); } }) };
      return {
        name: s.name, shape: s.shape, data: () => noGrad(() => w.toFloat32Array()),
        // bf16 weights saved as bf16: the bytes as they are (no float32 copy of a 7B-size tensor)
        raw: w.dtype === 'bfloat16' ? { dtype: 'BF16' as const, bytes: () => new Uint8Array(w.buf.read(w.byteOffset, w.size * 2)) } : undefined,
      };
    });
    const files = await saveSafetensorsDir(dir, entries, { dtype: opts.dtype, maxShardSize: opts.maxShardSize });
    const cfgFile = path.join(dir, 'config.json');
    const tmp = `${cfgFile}.tmp-${process.pid}`;
    try {
      await writeFile(tmp, JSON.stringify(OLMoConfig.toHF(this.config, opts.dtype ?? 'float32'), null, 2) + '\n');
      await rename(tmp, cfgFile);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    const gen: Record<string, unknown> = { _from_model_config: true, eos_token_id: this.config.eos_token_id, pad_token_id: this.config.pad_token_id };
    if (this.config.bos_token_id !== null) gen.bos_token_id = this.config.bos_token_id;
    await writeFile(path.join(dir, 'generation_config.json'), JSON.stringify(gen, null, 2) + '\n');
    return [...files, cfgFile];
  }

  // ---------------------------------------------------------------- parameters

  private requireLoaded(): void {
    if (this.disposed) throw new OlmoError('TENSOR_DISPOSED', 'the model was disposed');
    if (!this.flat && !this.lowp) throw new OlmoError('INVALID_ARGUMENT', "a 'meta' model has shapes only, no parameter storage", 'create it with OLMo.init(config, { device: "cpu" }) or fromPretrained');
  }

  private requireStorage(): FlatBuffer {
    this.requireLoaded();
    if (!this.flat) throw new OlmoError('DTYPE_UNSUPPORTED', `this model's weights are ${this.precision.quantize ?? this.precision.dtype} (inference only): there is no float32 parameter buffer`, 'load the model with dtype float32 to train it');
    return this.flat;
  }

  /** A weight in its storage format: a float32 / bfloat16 Tensor or a q8_0 QTensor. */
  weight(name: string): Tensor | QTensor {
    this.requireLoaded();
    if (this.flat) return this.flat.view(name);
    const w = this.lowp!.get(name);
    if (!w) throw new OlmoError('INVALID_ARGUMENT', `no parameter '${name}'`, 'see model.specs for the names');
    return w;
  }

  /** Parameters in HF order (views into the flat buffer, or the bfloat16 weights). q8_0 models: see weight(). */
  parameters(): Tensor[] {
    return this.specs.map((s) => this.parameter(s.name));
  }

  namedParameters(): Array<[string, Tensor]> {
    return this.specs.map((s) => [s.name, this.parameter(s.name)]);
  }

  parameter(name: string): Tensor {
    const w = this.weight(name);
    if (w instanceof QTensor) throw new OlmoError('DTYPE_UNSUPPORTED', `parameter '${name}' is a q8_0 QTensor, not a Tensor`, 'use model.weight(name)');
    return w;
  }

  numParameters(opts: { includeEmbedding?: boolean } = {}): number {
    return countParameters(this.config, opts);
  }

  /** Training FLOPs per token as OLMo computes them (forward + backward, incl. the attention term). */
  flopsPerToken(seqLen: number = this.config.max_position_embeddings): number {
    return flopsPerToken(this.config, seqLen);
  }

  requiresGrad_(flag = true): this {
    if (!this.flat) {
      this.requireLoaded();
      if (flag) throw new OlmoError('DTYPE_UNSUPPORTED', `${this.precision.quantize ?? this.precision.dtype} inference weights${this.lowPrecision ? '' : ' (mapped from a file)'} cannot require grad`, 'load the model in float32 with requiresGrad: true to train it');
      return this;
    }
    for (const p of this.parameters()) p.requiresGrad_(flag);
    return this;
  }

  /**
   * Gives every parameter a gradient view into one flat buffer (zeroed), so gradients accumulate
   * in place there (what fused clip / AdamW / FSDP kernels want). Idempotent.
   */
  flatGrads(): FlatBuffer {
    const flat = this.requireStorage();
    if (!this.gradFlat) {
      this.gradFlat = new FlatBuffer(this.specs, { device: this.device as Device });
      for (const s of this.specs) {
        const p = flat.view(s.name);
        p.grad?.dispose();
        p.grad = this.gradFlat.view(s.name).share().keep();
      }
    }
    return this.gradFlat;
  }

  /** Zeroes gradients (in place in the flat gradient buffer when there is one; else drops them). */
  zeroGrad(): void {
    if (this.gradFlat) fillInPlace(this.gradFlat.buffer, 0);
    else for (const p of this.parameters()) p.zeroGrad(true);
  }

  // ---------------------------------------------------------------- forward

  private idsTensor(inputIds: number[][] | Tensor): Tensor {
    if (inputIds instanceof Tensor) {
      if (inputIds.ndim !== 2) throw new OlmoError('SHAPE_MISMATCH', `inputIds must be [B, T], got [${inputIds.shape.join(', ')}]`);
      return inputIds.dtype === 'int32' ? inputIds.share() : inputIds.to('int32');
    }
    if (!Array.isArray(inputIds) || inputIds.length === 0 || !Array.isArray(inputIds[0])) {
      throw new OlmoError('INVALID_ARGUMENT', 'inputIds must be a non-empty number[][] ([B][T]) or an int32 Tensor', 'wrap a single sequence as [ids]');
    }
    const B = inputIds.length, T = inputIds[0]!.length;
    if (T === 0) throw new OlmoError('INVALID_ARGUMENT', 'inputIds rows are empty');
    const data = new Int32Array(B * T);
    const V = this.config.embedding_size;
    for (let b = 0; b < B; b++) {
      const row = inputIds[b]!;
      if (row.length !== T) throw new OlmoError('SHAPE_MISMATCH', `inputIds row ${b} has length ${row.length}, row 0 has ${T}`, 'pad rows to the same length');
      for (let t = 0; t < T; t++) {
        const id = row[t]!;
        if (!Number.isInteger(id) || id < 0 || id >= V) throw new OlmoError('INVALID_ARGUMENT', `token id ${id} at [${b}, ${t}] is outside [0, ${V})`);
        data[b * T + t] = id;
      }
    }
    return tensor(data, { shape: [B, T], dtype: 'int32', device: this.device as Device });
  }

  /** Next-token targets: targets[b, t] = labels[b, t+1], last position ignored. */
  private targetsTensor(labels: number[][] | Tensor, B: number, T: number, ignore: number): Tensor {
    let flatLabels: ArrayLike<number>;
    if (labels instanceof Tensor) {
      if (labels.ndim !== 2 || labels.shape[0] !== B || labels.shape[1] !== T) throw new OlmoError('SHAPE_MISMATCH', `labels [${labels.shape.join(', ')}] must be [${B}, ${T}]`);
      flatLabels = noGrad(() => labels.toTypedArray());
    } else {
      if (labels.length !== B || labels.some((r) => r.length !== T)) throw new OlmoError('SHAPE_MISMATCH', `labels must be [${B}][${T}]`);
      flatLabels = labels.flat();
    }
    const out = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T - 1; t++) out[b * T + t] = flatLabels[b * T + t + 1]!;
      out[b * T + T - 1] = ignore;
    }
    return tensor(out, { shape: [B * T], dtype: 'int32', device: this.device as Device });
  }

  private norm(x: Tensor, weightName: string | null): Tensor {
    const c = this.config;
    if (c.architecture === 'olmo1') return layerNorm(x, null, null, c.layer_norm_eps);
    return rmsNorm(x, weightName ? this.p(weightName) : null, c.layer_norm_eps);
  }

  /** The parameter forward uses: its own flat buffer / low-precision weights, or the gathered copy under sharding. */
  private p(name: string): Tensor {
    return this.paramSource ? this.paramSource(name) : this.flat ? this.flat.view(name) : this.lowp!.get(name) as Tensor;
  }

  /**
   * y_i = x · W_iᵀ: one fused native call for low-precision weights; separate GEMMs for float32
   * (with the amp_bf16 compute copy of each weight when enabled).
   */
  private linears(x: Tensor, names: readonly string[]): Tensor[] {
    if (this.lowp && !this.paramSource) {
      const ws: Weight[] = names.map((n) => this.lowp!.get(n)!);
      if (!ws.some((w) => !isLowpWeight(w))) return lowpLinearMulti(x, ws);
      // float32 weights among them (a float32 embedding as tied head, mapped float32 weights)
      return ws.map((w) => (isLowpWeight(w) ? lowpLinearMulti(x, [w])[0]! : linear(x, w as Tensor)));
    }
    // amp_bf16 activation storage: the linears reading x share one bf16 copy of it (GEMM operand and
    // saved-for-backward input), instead of one each; skipped for a no-grad CPU pass (the kernel rounds while packing).
    const xBf16 = names.length > 1 && autocastDtype() === 'bfloat16' && (isGradEnabled() || x.deviceIndex >= 0) ? storeBf16(x) : null;
    try {
      return names.map((n) => linear(x, this.p(n), this.computeCopy(n), xBf16));
    } finally {
      xBf16?.dispose();
    }
  }

  /** docStart / positions tensors [B, T] for ForwardOptions.documentIds (null without). */
  private docsTensors(documentIds: ForwardOptions['documentIds'], B: number, T: number): Docs | null {
    if (documentIds === undefined) return null;
    const flat = Array.isArray(documentIds) && Array.isArray(documentIds[0]) ? (documentIds as number[][]).flat() : (documentIds as ArrayLike<number>);
    const { docStart, positions } = documentLayout(flat, B, T);
    const dev = this.device as Device;
    return {
      docStart: tensor(docStart, { shape: [B, T], dtype: 'int32', device: dev }),
      positions: tensor(positions, { shape: [B, T], dtype: 'int32', device: dev }),
    };
  }

  private block(l: number, x: Tensor, B: number, T: number, cache: KVCache | undefined, pos: number, docs: Docs | null = null, fineGrained = false): Tensor {
    const c = this.config;
    // fine_grained activation checkpointing: these pieces keep only their inputs until backward
    const fg = (fn: (xs: Tensor[]) => Tensor, xs: Tensor[]) => (fineGrained ? checkpoint(fn, xs) : fn(xs));
    const w = (n: string) => this.p(`model.layers.${l}.${n}`);
    const NH = c.num_attention_heads, NKV = c.num_key_value_heads, HS = headDim(c), C = c.hidden_size;
    const olmo2 = c.architecture === 'olmo2';

    // --- attention
    const a = olmo2 ? x : fg(([t]) => layerNorm(t!, null, null, c.layer_norm_eps), [x]);
    const pre = `model.layers.${l}.`;
    let [q, k, v] = this.linears(a, [`${pre}self_attn.q_proj.weight`, `${pre}self_attn.k_proj.weight`, `${pre}self_attn.v_proj.weight`]) as [Tensor, Tensor, Tensor];
    if (c.clip_qkv !== null) {
      q = clamp(q, -c.clip_qkv, c.clip_qkv);
      k = clamp(k, -c.clip_qkv, c.clip_qkv);
      v = clamp(v, -c.clip_qkv, c.clip_qkv);
    }
    if (olmo2) {
      q = rmsNorm(q, w('self_attn.q_norm.weight'), c.layer_norm_eps);
      k = rmsNorm(k, w('self_attn.k_norm.weight'), c.layer_norm_eps);
    }
    let att: Tensor;
    if (cache) {
      const q4 = rope(q.reshape([B, T, NH, HS]), { theta: c.rope_theta, positionOffset: pos });
      const k4 = rope(k.reshape([B, T, NKV, HS]), { theta: c.rope_theta, positionOffset: pos });
      const kv = cache.append(l, k4, v.reshape([B, T, NKV, HS]));
      att = attention(q4, kv.k, kv.v, { causal: true });
    } else {
      // document tensors go in as checkpoint inputs (not captured), so a recomputation sees live ones
      const docIn = docs ? [docs.docStart, docs.positions] : [];
      att = fg(([q2, k2, v2, ds, ps]) => attention(
        rope(q2!.reshape([B, T, NH, HS]), { theta: c.rope_theta, positionOffset: pos, positions: ps }),
        rope(k2!.reshape([B, T, NKV, HS]), { theta: c.rope_theta, positionOffset: pos, positions: ps }),
        v2!.reshape([B, T, NKV, HS]), { causal: true, docStart: ds }), [q, k, v, ...docIn]);
    }
    let o = this.linears(att.reshape([B, T, C]), [`${pre}self_attn.o_proj.weight`])[0]!;
    if (olmo2) o = rmsNorm(o, w('post_attention_layernorm.weight'), c.layer_norm_eps);
    const h = add(x, o);

    // --- MLP
    const m = olmo2 ? h : fg(([t]) => layerNorm(t!, null, null, c.layer_norm_eps), [h]);
    const [g, u] = this.linears(m, [`${pre}mlp.gate_proj.weight`, `${pre}mlp.up_proj.weight`]) as [Tensor, Tensor];
    let d = this.linears(fg(([g2, u2]) => swiglu(g2!, u2!), [g, u]), [`${pre}mlp.down_proj.weight`])[0]!;
    if (olmo2) d = rmsNorm(d, w('post_feedforward_layernorm.weight'), c.layer_norm_eps);
    return add(h, d);
  }

  /**
   * amp_bf16: keeps a bfloat16 copy of every parameter (one flat buffer, half the master's bytes)
   * that the projections use as GEMM operand under withAutocast('bfloat16') instead of rounding
   * the float32 master on every call; gradients still go to the master. Call
   * refreshComputeCopies() after every parameter update (the Trainer does, before each step).
   * On a CPU without AVX512-BF16 (gemmBf16Isa() 'avx2', decided here) the copy holds the same bf16
   * values in float32 (the master's bytes again): the rounding + sgemm GEMM path reads that form in
   * place, where a bfloat16 copy would be widened into a scratch copy on every call.
   */
  enableComputeCopies(): void {
    const flat = this.requireStorage();
    if (this.bf16Flat) return;
    const dev = flat.buffer.deviceIndex;
    this.bf16Flat = Tensor.allocate([flat.numel], dev < 0 && gemmBf16Isa() === 'avx2' ? 'float32' : 'bfloat16', dev, false).keep();
    for (const e of flat.entries) this.bf16Views.set(e.name, this.bf16Flat._view(e.shape, e.offset).keep());
    this.refreshComputeCopies();
  }

  /** Re-rounds the bfloat16 compute copies from the float32 master parameters. */
  refreshComputeCopies(): void {
    if (!this.bf16Flat) return;
    if (this.bf16Flat.dtype === 'float32') roundBf16Into(this.bf16Flat, this.requireStorage().buffer);
    else castInto(this.bf16Flat, this.requireStorage().buffer);
  }

  /** The bf16 compute copy of a parameter (null when copies are off or under sharded execution). */
  private computeCopy(name: string): Tensor | null {
    return this.paramSource ? null : (this.bf16Views.get(name) ?? null);
  }

  /**
   * Training loss through the fused LM head (`linearCrossEntropy`: the [B·T, V] logits are never
   * materialised). ids int32 [B, T]; targets int32 [B·T], aligned with positions (position t's
   * target, `ignoreIndex` for none). Returns the SUM of cross-entropy + z-loss over the targets
   * (differentiable; normalise it yourself) and the two parts as numbers. Single process only.
   */
  fusedLoss(ids: Tensor, targets: Tensor, opts: { ignoreIndex?: number; zLossMultiplier?: number; activationCheckpointing?: ActivationCheckpointing | null; chunkRows?: number } = {}): { loss: Tensor; ceSum: number; zSum: number } {
    const P = this.requireStorage();
    const c = this.config;
    return tidy(() => {
      const [B, T] = ids.shape as [number, number];
      let x = embedding(ids, P.view('model.embed_tokens.weight'));
      const ac = opts.activationCheckpointing;
      for (let l = 0; l < c.num_hidden_layers; l++) {
        if (checkpointsBlock(ac, l)) x = checkpoint(([t]) => this.block(l, t!, B, T, undefined, 0), [x]);
        else x = this.block(l, x, B, T, undefined, 0, null, ac === 'fine_grained');
      }
      const hN = this.norm(x, 'model.norm.weight');
      const head = c.tie_word_embeddings ? P.view('model.embed_tokens.weight') : P.view('lm_head.weight');
      return linearCrossEntropy(hN.reshape([B * T, c.hidden_size]), head, targets, { ignoreIndex: opts.ignoreIndex, zLossMultiplier: opts.zLossMultiplier, chunkRows: opts.chunkRows });
    });
  }

  /**
   * Runs the model. `inputIds`: number[][] [B][T] or an int32 Tensor [B, T]. With `labels`, also
   * returns the mean next-token cross-entropy (HF semantics: labels are the inputs, shifted inside).
   */
  forward(inputIds: number[][] | Tensor, opts: ForwardOptions = {}): ForwardOutput {
    if (opts.units) return this.forwardUnits(inputIds, opts, opts.units);
    this.requireLoaded();
    const c = this.config;
    if (opts.cache && isGradEnabled() && this.flat && this.parameters().some((p) => p.requiresGrad)) {
      return noGrad(() => this.forward(inputIds, opts));
    }
    return tidy(() => {
      const ids = this.idsTensor(inputIds);
      const [B, T] = ids.shape as [number, number];
      const pos = opts.cache ? opts.cache.length : 0;
      if (opts.cache && opts.cache.batch !== B) throw new OlmoError('SHAPE_MISMATCH', `KV cache batch ${opts.cache.batch} != input batch ${B}`);
      if (opts.cache && opts.documentIds) throw new OlmoError('INVALID_ARGUMENT', 'documentIds cannot be combined with a KV cache');
      const docs = this.docsTensors(opts.documentIds, B, T);
      const docIn = docs ? [docs.docStart, docs.positions] : [];
      let x = embedding(ids, this.p('model.embed_tokens.weight'));
      const ac = opts.cache ? null : opts.activationCheckpointing;
      const fused = opts.cache && B === 1 && T === 1 && opts.fusedDecode !== false && canDecodeFused(this.device, this.paramSource !== null, (n) => this.p(n), c);
      if (fused) decodeBlocksFused(x, (n) => this.p(n), c, opts.cache!, pos);
      else for (let l = 0; l < c.num_hidden_layers; l++) {
        if (checkpointsBlock(ac, l)) x = checkpoint(([t, ds, ps]) => this.block(l, t!, B, T, undefined, pos, ds ? { docStart: ds, positions: ps! } : null), [x, ...docIn]);
        else x = this.block(l, x, B, T, opts.cache, pos, docs, ac === 'fine_grained');
      }
      if (opts.cache) opts.cache.length = pos + T;
      if (opts.lastOnly && T > 1) x = x.slice(1, T - 1, T);
      const hN = this.norm(x, 'model.norm.weight');
      const headName = c.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
      const logits = this.linears(hN, [headName])[0]!;
      let loss: Tensor | null = null, zLoss: Tensor | null = null;
      if (opts.labels !== undefined) {
        if (opts.lastOnly) throw new OlmoError('INVALID_ARGUMENT', 'labels and lastOnly cannot be combined');
        const ignore = opts.ignoreIndex ?? -100;
        const targets = this.targetsTensor(opts.labels, B, T, ignore);
        const r = crossEntropy(logits.reshape([B * T, c.embedding_size]), targets, { ignoreIndex: ignore, reduction: 'mean', zLossMultiplier: opts.zLossMultiplier ?? 0 });
        loss = r.loss;
        zLoss = r.zLoss;
      }
      return { logits, loss, zLoss };
    });
  }

  /** forward() as units (see ForwardOptions.units): embedding, each block, head. */
  private forwardUnits(inputIds: number[][] | Tensor, opts: ForwardOptions, units: UnitRunner): ForwardOutput {
    if (this.disposed) throw new OlmoError('TENSOR_DISPOSED', 'the model was disposed');
    if (this.lowp) throw new OlmoError('DTYPE_UNSUPPORTED', 'sharded (FSDP) forward needs float32 weights', 'load the model with dtype float32');
    if (opts.cache || opts.lastOnly) throw new OlmoError('INVALID_ARGUMENT', 'sharded forward supports neither a KV cache nor lastOnly', 'generate with an unsharded model');
    const c = this.config;
    // Unit functions also run again inside backward (recomputation), so each one installs the
    // runner as the parameter source for its own duration.
    const inUnit = <T>(fn: () => T): T => {
      const prev = this.paramSource;
      this.paramSource = (n) => units.param(n);
      try {
        return fn();
      } finally {
        this.paramSource = prev;
      }
    };
    return tidy(() => {
      const ids = this.idsTensor(inputIds);
      const [B, T] = ids.shape as [number, number];
      const embedName = 'model.embed_tokens.weight';
      const docs = this.docsTensors(opts.documentIds, B, T);
      let [x] = units.run([units.unitName(embedName)], [ids], ([i]) => inUnit(() => [embedding(i!, this.p(embedName))]));
      for (let l = 0; l < c.num_hidden_layers; l++) {
        const unit = units.unitName(`model.layers.${l}.self_attn.q_proj.weight`);
        // Document tensors travel as unit inputs, like the targets below (recomputed in backward).
        [x] = docs
          ? units.run([unit], [x!, docs.docStart, docs.positions], ([h, d, p]) => inUnit(() => [this.block(l, h!, B, T, undefined, 0, { docStart: d!, positions: p! })]))
          : units.run([unit], [x!], ([h]) => inUnit(() => [this.block(l, h!, B, T, undefined, 0)]));
      }
      const headName = c.tie_word_embeddings ? embedName : 'lm_head.weight';
      const headUnits = [...new Set([units.unitName(headName), ...(c.architecture === 'olmo2' ? [units.unitName('model.norm.weight')] : [])])];
      const ignore = opts.ignoreIndex ?? -100;
      const targets = opts.labels !== undefined && !opts.lossFn ? this.targetsTensor(opts.labels, B, T, ignore) : null;
      // Targets travel as a unit input: the head may be recomputed during backward, after this
      // scope has disposed its own handles.
      const lossOf = opts.lossFn ?? (targets
        ? (logits: Tensor, tg?: Tensor) => {
          const r = crossEntropy(logits.reshape([B * T, c.embedding_size]), tg!, { ignoreIndex: ignore, reduction: 'mean', zLossMultiplier: opts.zLossMultiplier ?? 0 });
          return r.zLoss ? add(r.loss, r.zLoss) : r.loss;
        }
        : null);
      const inputs = targets ? [x!, targets] : [x!];
      const outs = units.run(headUnits, inputs, ([h, tg]) => inUnit(() => {
        const logits = linear(this.norm(h!, 'model.norm.weight'), this.p(headName));
        return lossOf ? [lossOf(logits, tg), logits] : [logits];
      }));
      return lossOf ? { logits: outs[1]!, loss: outs[0]!, zLoss: null } : { logits: outs[0]!, loss: null, zLoss: null };
    });
  }

  /**
   * Frees the parameter storage (FSDP keeps its own shards); forward then works only with `units`.
   * Parameter shapes and the config stay, so the model can still describe and count itself.
   */
  releaseStorage(): void {
    if (this.flat) for (const v of this.flat.views.values()) { v.grad?.dispose(); v.grad = null; }
    this.gradFlat?.dispose();
    this.gradFlat = null;
    this.flat?.dispose();
    (this as { flat: FlatBuffer | null }).flat = null;
  }

  // ---------------------------------------------------------------- generation

  /** Streams generated token ids (greedy unless temperature > 0). See GenerateOptions. */
  generate(promptIds: number[], opts: GenerateOptions = {}): AsyncGenerator<number, void, undefined> {
    return generateImpl(this, promptIds, opts);
  }

  /** Batched generation for evaluators: one continuation per prompt (prompts of equal length share a batch). */
  generateBatch(prompts: number[][], opts: GenerateOptions = {}): Promise<number[][]> {
    return generateBatchImpl(this, prompts, opts);
  }

  /** A KV cache sized for this model. */
  createCache(batch: number, maxLength: number): KVCache {
    if (this.device === 'meta') throw new ConfigError('a meta model cannot run');
    return new KVCache(this.config, batch, maxLength, this.device);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.flat) for (const v of this.flat.views.values()) { v.grad?.dispose(); v.grad = null; }
    this.gradFlat?.dispose();
    for (const v of this.bf16Views.values()) v.dispose();
    this.bf16Views.clear();
    this.bf16Flat?.dispose();
    this.bf16Flat = null;
    this.flat?.dispose();
    if (this.lowp) disposeWeights(this.lowp);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

