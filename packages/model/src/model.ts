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
 *
 * This file is the OLMo class: parameter storage and access, the forward pass (blocks, sharded
 * units, the fused-loss head) and the generation entry points. Around it: forward-options.ts
 * (forward's options / output, activation-checkpointing strategies), forward-inputs.ts (ids,
 * targets and document tensors), kv-cache.ts, init-weights.ts (OLMo.init's weight draws),
 * pretrained.ts (fromPretrained / savePretrained), decode.ts (fused batch-1 decode) and
 * generate.ts (sampling loops).
 */
import {
  FlatBuffer, QTensor, Tensor, add, castInto, quantize, checkpoint, linearCrossEntropy, fillInPlace, isLowpWeight, linear, linearMulti, lowpLinearMulti, noGrad, tidy, isGradEnabled, autocastDtype, storeBf16, gemmBf16Isa, roundBf16Into,
  type Device,
} from '@olmo/tensor-cuda';
import { OLMoConfig, countParameters, flopsPerToken, headDim, parameterSpecs, validateConfig, type ParamSpec } from './config.js';
import { ConfigError, OlmoError } from './errors.js';
import { attention, clamp, crossEntropy, embedding, layerNorm, rmsNorm, rope, swiglu } from './ops.js';
import type { SaveDType } from './safetensors.js';
import { canDecodeFused, decodeBlocksFused } from './decode.js';
import { generate as generateImpl, generateBatch as generateBatchImpl, type GenerateOptions } from './generate.js';
import { checkpointsBlock, type ActivationCheckpointing, type ForwardOptions, type ForwardOutput, type UnitRunner } from './forward-options.js';
import { docsTensors, idsTensor, targetsTensor, type Docs } from './forward-inputs.js';
import { initFlatWeights, initLowpWeights, type InitOptions } from './init-weights.js';
import { KVCache } from './kv-cache.js';
import { loadPretrained, savePretrained, type FromPretrainedOptions } from './pretrained.js';
import { allocateWeights, disposeWeights, parsePrecision, type Precision, type Weight } from './weights.js';

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
  /**
   * q8_0 models with a tied head: a q8_0 copy of the embedding for the LM head GEMV (built on the
   * first forward, freed with the model). The embedding itself stays in the model dtype because
   * its row gather needs addressable rows; without the copy every decoded token would stream the
   * float32 embedding as the head — 412 MB of OLMo-1B's 1.55 GB per token (llama.cpp's q8_0 file
   * quantizes its head too). The copy is derived once: weights changed in place later are not
   * seen by it.
   */
  private tiedHeadQ8: QTensor | null = null;
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
    initFlatWeights(m.config, m.specs, m.flat, opts.seed ?? 0, opts.fill);
    m.requiresGrad_(opts.requiresGrad ?? true);
    return m;
  }

  /** init() for low-precision weights: the same float32 values (same seed), converted chunk by chunk. */
  private initLowp(seed: number, requiresGrad: boolean | undefined): OLMo {
    if (requiresGrad) {
      this.dispose();
      throw new OlmoError('DTYPE_UNSUPPORTED', `OLMo.init: ${this.precision.quantize ?? this.precision.dtype} weights are for inference and cannot require grad`, "train in float32 (the default dtype), then save and load in low precision");
    }
    try {
      initLowpWeights(this.config, this.specs, this.lowp!, seed);
    } catch (e) {
      this.dispose();
      throw e;
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
    return loadPretrained(dir, opts, (config, precision, weights) => new OLMo(config, opts.device ?? 'cpu', precision, weights));
  }

  /** Writes config.json and the weights (HF names, loadable by transformers) into `dir`. */
  async savePretrained(dir: string, opts: { dtype?: SaveDType; maxShardSize?: number | string } = {}): Promise<string[]> {
    this.requireLoaded();
    return savePretrained(dir, this.config, this.specs, (name) => this.weight(name), opts);
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

  /**
   * The weight the LM head multiplies by: lm_head.weight, the embedding when tied, or — in a q8_0
   * model with a tied head on the cpu — the q8_0 copy of the embedding that forward uses.
   */
  headWeight(): Tensor | QTensor {
    this.requireLoaded();
    const c = this.config;
    if (!c.tie_word_embeddings) return this.weight('lm_head.weight');
    const emb = this.weight('model.embed_tokens.weight') as Tensor;
    if (this.precision.quantize !== 'q8_0' || !this.lowp || emb.deviceIndex !== -1 || emb.shape[1]! % 32 !== 0) return emb;
    this.tiedHeadQ8 ??= quantize(emb);
    return this.tiedHeadQ8;
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
      if (!ws.some((w) => isLowpWeight(w))) return linearMulti(x, ws as Tensor[]);  // float32 GGUF weights: one fused call
      // float32 weights among them (a float32 embedding as tied head, mapped float32 weights)
      return ws.map((w) => (isLowpWeight(w) ? lowpLinearMulti(x, [w])[0]! : linear(x, w as Tensor)));
    }
    // amp_bf16 activation storage: the linears reading x share one bf16 copy of it (GEMM operand and
    // saved-for-backward input), instead of one each; skipped for a no-grad CPU pass (the kernel rounds while packing).
    const xBf16 = names.length > 1 && autocastDtype() === 'bfloat16' && (isGradEnabled() || x.deviceIndex >= 0) ? storeBf16(x) : null;
    try {
      // one native call for the float32 CPU inference case (linearMulti); separate linears otherwise
      return linearMulti(x, names.map((n) => this.p(n)), names.map((n) => this.computeCopy(n)), xBf16);
    } finally {
      xBf16?.dispose();
    }
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
      const headName = c.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
      // the head's amp_bf16 compute copy (refreshed with the others after each optimizer step)
      return linearCrossEntropy(hN.reshape([B * T, c.hidden_size]), P.view(headName), targets, { ignoreIndex: opts.ignoreIndex, zLossMultiplier: opts.zLossMultiplier, chunkRows: opts.chunkRows, wCompute: this.computeCopy(headName) });
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
      const ids = idsTensor(inputIds, c.embedding_size, this.device as Device);
      const [B, T] = ids.shape as [number, number];
      const pos = opts.cache ? opts.cache.length : 0;
      if (opts.cache && opts.cache.batch !== B) throw new OlmoError('SHAPE_MISMATCH', `KV cache batch ${opts.cache.batch} != input batch ${B}`);
      if (opts.cache && opts.documentIds) throw new OlmoError('INVALID_ARGUMENT', 'documentIds cannot be combined with a KV cache');
      const docs = docsTensors(opts.documentIds, B, T, this.device as Device);
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
      const head = this.headWeight();
      const logits = head instanceof QTensor && !this.paramSource ? lowpLinearMulti(hN, [head])[0]! : this.linears(hN, [c.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight'])[0]!;
      let loss: Tensor | null = null, zLoss: Tensor | null = null;
      if (opts.labels !== undefined) {
        if (opts.lastOnly) throw new OlmoError('INVALID_ARGUMENT', 'labels and lastOnly cannot be combined');
        const ignore = opts.ignoreIndex ?? -100;
        const targets = targetsTensor(opts.labels, B, T, ignore, this.device as Device);
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
      const ids = idsTensor(inputIds, c.embedding_size, this.device as Device);
      const [B, T] = ids.shape as [number, number];
      const embedName = 'model.embed_tokens.weight';
      const docs = docsTensors(opts.documentIds, B, T, this.device as Device);
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
      const targets = opts.labels !== undefined && !opts.lossFn ? targetsTensor(opts.labels, B, T, ignore, this.device as Device) : null;
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
    this.tiedHeadQ8?.dispose();
    this.tiedHeadQ8 = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

