/**
 * A float64 reference of OLMo training under the amp_bf16 recipe, written from its definition
 * (independent of the implementation: plain loops over Float64Arrays and a hand-written backward):
 *   - every linear layer (q/k/v/o, gate/up/down, LM head) computes bf16(x) · bf16(W)ᵀ, and its
 *     backward bf16(g) · bf16(W) and bf16(g)ᵀ · bf16(x) — operands rounded to bfloat16 (nearest
 *     even), products and sums exact (float64 here, float32 accumulation in the implementation);
 *   - bf16 activation storage: the inputs of attention (q and k after RoPE, v) and of SwiGLU (gate,
 *     up) are rounded to bfloat16 where they enter the op; the op computes forward and backward
 *     from the rounded values, and the gradient passes the rounding unchanged (as a cast's does);
 *   - everything else (embedding, norms, RoPE, clamp, the attention and SwiGLU arithmetic, softmax,
 *     residual adds, cross-entropy, grad-norm clipping, AdamW with float32 master weights) unrounded.
 * With `round: false` it is plain OLMo in float64, which must reproduce the golden fixtures — the
 * check that this reference itself is right.
 * Architectures: OLMo-1 (non-parametric LayerNorm pre-norm, clip_qkv, tied/untied) and OLMo-2
 * (RMSNorm with weights, QK-norm, norm-after), GQA by repeating kv heads (kv head = h / (NH/NKV)).
 */
import { bf16BitsToF32, f32ToBf16Bits } from '@olmo/tensor-cuda';

export interface RefConfig {
  olmo2: boolean; V: number; C: number; I: number; L: number; NH: number; NKV: number;
  theta: number; clip: number | null; tied: boolean; eps: number;
}

export function refConfig(hf: Record<string, unknown>): RefConfig {
  const olmo2 = hf.model_type === 'olmo2';
  return {
    olmo2, V: hf.vocab_size as number, C: hf.hidden_size as number, I: hf.intermediate_size as number,
    L: hf.num_hidden_layers as number, NH: hf.num_attention_heads as number,
    NKV: (hf.num_key_value_heads as number | undefined) ?? (hf.num_attention_heads as number),
    theta: hf.rope_theta as number, clip: (hf.clip_qkv as number | null | undefined) ?? null,
    tied: !!hf.tie_word_embeddings, eps: olmo2 ? (hf.rms_norm_eps as number) : 1e-5,
  };
}

type Params = Map<string, Float64Array>;

/** A value with its gradient (allocated on first use). */
class Val {
  g: Float64Array | null = null;
  constructor(readonly d: Float64Array) {}
  grad(): Float64Array { return (this.g ??= new Float64Array(this.d.length)); }
}

/** Records backward closures in forward order; backward() runs them in reverse. */
class Tape {
  private fns: Array<() => void> = [];
  /** round: the GEMM-operand rounding (bf16 or identity); arith: storage rounding of every value and gradient (identity = float64, Math.fround = float32). */
  constructor(readonly round: (x: number) => number, readonly arith: (x: number) => number, readonly gradRound: (x: number) => number = round,
    readonly storeRound: (x: number) => number = round) {}
  /** Registers y's backward; y's value is stored in `arith` precision, and so is its gradient once complete. */
  push(y: Val, fn: () => void) {
    const a = this.arith;
    for (let i = 0; i < y.d.length; i++) y.d[i] = a(y.d[i]!);
    this.fns.push(() => {
      if (!y.g) return;
      for (let i = 0; i < y.g.length; i++) y.g[i] = a(y.g[i]!);
      fn();
    });
  }
  backward() { for (let i = this.fns.length - 1; i >= 0; i--) this.fns[i]!(); }

  /** y[R,N] = r(x)[R,K] · r(w)[N,K]ᵀ */
  linear(x: Val, w: Val, R: number, K: number, N: number): Val {
    const r = this.round, xr = x.d.map(r), wr = w.d.map(r);
    const y = new Val(new Float64Array(R * N));
    for (let i = 0; i < R; i++) for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += xr[i * K + k]! * wr[n * K + k]!;
      y.d[i * N + n] = s;
    }
    this.push(y, () => {
      const gr = y.g!.map(this.gradRound), gx = x.grad(), gw = w.grad();
      for (let i = 0; i < R; i++) for (let k = 0; k < K; k++) {
        let s = 0;
        for (let n = 0; n < N; n++) s += gr[i * N + n]! * wr[n * K + k]!;
        gx[i * K + k] += s;
      }
      for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) {
        let s = 0;
        for (let i = 0; i < R; i++) s += gr[i * N + n]! * xr[i * K + k]!;
        gw[n * K + k] += s;
      }
    });
    return y;
  }

  /** bf16 activation storage: y = round(x) (the recipe's bf16 rounding); dy passes to x unchanged. */
  store(x: Val): Val {
    const y = new Val(x.d.map(this.storeRound));
    this.push(y, () => { const gx = x.grad(); y.g!.forEach((g, i) => { gx[i] += g; }); });
    return y;
  }

  embedding(ids: number[], w: Val, C: number): Val {
    const y = new Val(new Float64Array(ids.length * C));
    ids.forEach((id, i) => { for (let c = 0; c < C; c++) y.d[i * C + c] = w.d[id * C + c]!; });
    this.push(y, () => {
      const gw = w.grad();
      ids.forEach((id, i) => { for (let c = 0; c < C; c++) gw[id * C + c] += y.g![i * C + c]!; });
    });
    return y;
  }

  add(a: Val, b: Val): Val {
    const y = new Val(a.d.map((v, i) => v + b.d[i]!));
    this.push(y, () => { const ga = a.grad(), gb = b.grad(); y.g!.forEach((g, i) => { ga[i] += g; gb[i] += g; }); });
    return y;
  }

  /** LayerNorm without affine (OLMo-1) or RMSNorm with weight w (OLMo-2), over rows of width C. */
  norm(x: Val, C: number, eps: number, rms: boolean, w: Val | null): Val {
    const R = x.d.length / C, y = new Val(new Float64Array(x.d.length));
    const xhat = new Float64Array(x.d.length), inv = new Float64Array(R);
    for (let r = 0; r < R; r++) {
      let mu = 0;
      if (!rms) { for (let c = 0; c < C; c++) mu += x.d[r * C + c]!; mu /= C; }
      let v = 0;
      for (let c = 0; c < C; c++) v += (x.d[r * C + c]! - mu) ** 2;
      inv[r] = 1 / Math.sqrt(v / C + eps);
      for (let c = 0; c < C; c++) {
        xhat[r * C + c] = (x.d[r * C + c]! - mu) * inv[r]!;
        y.d[r * C + c] = xhat[r * C + c]! * (w ? w.d[c]! : 1);
      }
    }
    this.push(y, () => {
      const gx = x.grad(), gw = w ? w.grad() : null;
      for (let r = 0; r < R; r++) {
        let m1 = 0, m2 = 0;
        const gh = new Float64Array(C);
        for (let c = 0; c < C; c++) {
          const g = y.g[r * C + c]!;
          if (gw) gw[c] += g * xhat[r * C + c]!;
          gh[c] = g * (w ? w.d[c]! : 1);
          m1 += gh[c]!; m2 += gh[c]! * xhat[r * C + c]!;
        }
        m1 /= C; m2 /= C;
        for (let c = 0; c < C; c++) gx[r * C + c] += inv[r]! * (gh[c]! - (rms ? 0 : m1) - xhat[r * C + c]! * m2);
      }
    });
    return y;
  }

  clamp(x: Val, lim: number): Val {
    const y = new Val(x.d.map((v) => Math.min(lim, Math.max(-lim, v))));
    this.push(y, () => { const gx = x.grad(); x.d.forEach((v, i) => { if (v >= -lim && v <= lim) gx[i] += y.g![i]!; }); });
    return y;
  }

  /** RoPE (rotate-half) on x [B, T, H, HS] at positions t. */
  rope(x: Val, B: number, T: number, H: number, HS: number, theta: number): Val {
    const half = HS / 2, y = new Val(new Float64Array(x.d.length));
    const cs = new Float64Array(T * half), sn = new Float64Array(T * half);
    for (let t = 0; t < T; t++) for (let i = 0; i < half; i++) {
      const a = t * theta ** (-(2 * i) / HS);
      cs[t * half + i] = Math.cos(a); sn[t * half + i] = Math.sin(a);
    }
    const each = (f: (o: number, t: number) => void) => { for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) f(((b * T + t) * H + h) * HS, t); };
    each((o, t) => {
      for (let i = 0; i < half; i++) {
        const x1 = x.d[o + i]!, x2 = x.d[o + i + half]!, c = cs[t * half + i]!, s = sn[t * half + i]!;
        y.d[o + i] = x1 * c - x2 * s; y.d[o + i + half] = x2 * c + x1 * s;
      }
    });
    this.push(y, () => {
      const gx = x.grad();
      each((o, t) => {
        for (let i = 0; i < half; i++) {
          const g1 = y.g![o + i]!, g2 = y.g![o + i + half]!, c = cs[t * half + i]!, s = sn[t * half + i]!;
          gx[o + i] += g1 * c + g2 * s; gx[o + i + half] += -g1 * s + g2 * c;
        }
      });
    });
    return y;
  }

  /** Causal softmax attention, q [B,T,NH,HS], k/v [B,T,NKV,HS] → [B,T,NH,HS], scale 1/√HS. */
  attention(q: Val, k: Val, v: Val, B: number, T: number, NH: number, NKV: number, HS: number): Val {
    const y = new Val(new Float64Array(B * T * NH * HS)), rep = NH / NKV, sc = 1 / Math.sqrt(HS);
    const P = new Float64Array(B * NH * T * T);
    const qi = (b: number, t: number, h: number) => ((b * T + t) * NH + h) * HS;
    const ki = (b: number, t: number, h: number) => ((b * T + t) * NKV + Math.floor(h / rep)) * HS;
    for (let b = 0; b < B; b++) for (let h = 0; h < NH; h++) for (let t = 0; t < T; t++) {
      const p = P.subarray(((b * NH + h) * T + t) * T, ((b * NH + h) * T + t + 1) * T);
      let mx = -Infinity;
      for (let s = 0; s <= t; s++) {
        let d = 0;
        for (let e = 0; e < HS; e++) d += q.d[qi(b, t, h) + e]! * k.d[ki(b, s, h) + e]!;
        p[s] = d * sc; mx = Math.max(mx, p[s]!);
      }
      let z = 0;
      for (let s = 0; s <= t; s++) { p[s] = Math.exp(p[s]! - mx); z += p[s]!; }
      for (let s = 0; s <= t; s++) {
        p[s] /= z;
        for (let e = 0; e < HS; e++) y.d[qi(b, t, h) + e] += p[s]! * v.d[ki(b, s, h) + e]!;
      }
    }
    this.push(y, () => {
      const gq = q.grad(), gk = k.grad(), gv = v.grad();
      for (let b = 0; b < B; b++) for (let h = 0; h < NH; h++) for (let t = 0; t < T; t++) {
        const p = P.subarray(((b * NH + h) * T + t) * T, ((b * NH + h) * T + t + 1) * T);
        const dp = new Float64Array(t + 1);
        let dot = 0;
        for (let s = 0; s <= t; s++) {
          let d = 0;
          for (let e = 0; e < HS; e++) { d += y.g![qi(b, t, h) + e]! * v.d[ki(b, s, h) + e]!; gv[ki(b, s, h) + e] += p[s]! * y.g![qi(b, t, h) + e]!; }
          dp[s] = d; dot += d * p[s]!;
        }
        for (let s = 0; s <= t; s++) {
          const ds = p[s]! * (dp[s]! - dot) * sc;
          for (let e = 0; e < HS; e++) { gq[qi(b, t, h) + e] += ds * k.d[ki(b, s, h) + e]!; gk[ki(b, s, h) + e] += ds * q.d[qi(b, t, h) + e]!; }
        }
      }
    });
    return y;
  }

  /** silu(g) * u */
  swiglu(g: Val, u: Val): Val {
    const sig = g.d.map((x) => 1 / (1 + Math.exp(-x)));
    const y = new Val(g.d.map((x, i) => x * sig[i]! * u.d[i]!));
    this.push(y, () => {
      const gg = g.grad(), gu = u.grad();
      y.g!.forEach((dy, i) => {
        const x = g.d[i]!, s = sig[i]!;
        gu[i] += dy * x * s; gg[i] += dy * u.d[i]! * s * (1 + x * (1 - s));
      });
    });
    return y;
  }

  /** Mean next-token cross-entropy over positions 0..T-2 of logits [B·T, V]; seeds the backward. */
  crossEntropy(logits: Val, ids: number[][], V: number): number {
    const B = ids.length, T = ids[0]!.length, N = B * (T - 1);
    let loss = 0;
    const gl = logits.grad();
    for (let b = 0; b < B; b++) for (let t = 0; t < T - 1; t++) {
      const o = (b * T + t) * V;
      let mx = -Infinity;
      for (let j = 0; j < V; j++) mx = Math.max(mx, logits.d[o + j]!);
      let z = 0;
      for (let j = 0; j < V; j++) z += Math.exp(logits.d[o + j]! - mx);
      const tgt = ids[b]![t + 1]!;
      loss += mx + Math.log(z) - logits.d[o + tgt]!;
      for (let j = 0; j < V; j++) gl[o + j] += Math.exp(logits.d[o + j]! - mx) / z / N;
      gl[o + tgt] -= 1 / N;
    }
    return loss / N;
  }
}

export const bf16Round = (x: number) => bf16BitsToF32(f32ToBf16Bits(x));

/** Loss and gradients (by HF name) of one batch. */
/**
 * round: 'bf16' = the recipe; 'none' = plain OLMo; 'forward-only' = a deliberately wrong variant
 * (backward GEMMs without rounding the incoming gradient) that tests use to show they can tell;
 * 'gemm-only' = the previous recipe (GEMM operands rounded, activations stored in float32).
 * float32Arithmetic: store every value and gradient in float32 — the same math with float32
 * rounding noise, to measure how far float32 arithmetic alone moves the recipe (bf16 rounding
 * decisions flip when a value moves across a rounding boundary).
 */
export type RoundMode = 'none' | 'bf16' | 'forward-only' | 'gemm-only';

export function refLossAndGrads(cfg: RefConfig, params: Params, ids: number[][], round: RoundMode, float32Arithmetic = false): { loss: number; grads: Params } {
  const id = (x: number) => x;
  const tape = new Tape(round === 'none' ? id : bf16Round, float32Arithmetic ? Math.fround : id, round === 'bf16' || round === 'gemm-only' ? bf16Round : id, round === 'gemm-only' ? id : undefined);
  const B = ids.length, T = ids[0]!.length, R = B * T, { C, I, NH, NKV, V } = cfg, HS = C / NH;
  const P = new Map<string, Val>([...params].map(([n, d]) => [n, new Val(d)]));
  const p = (n: string) => { const v = P.get(n); if (!v) throw new Error(`reference: missing parameter ${n}`); return v; };
  let x = tape.embedding(ids.flat(), p('model.embed_tokens.weight'), C);
  for (let l = 0; l < cfg.L; l++) {
    const w = (n: string) => p(`model.layers.${l}.${n}`);
    const a = cfg.olmo2 ? x : tape.norm(x, C, cfg.eps, false, null);
    let q = tape.linear(a, w('self_attn.q_proj.weight'), R, C, NH * HS);
    let k = tape.linear(a, w('self_attn.k_proj.weight'), R, C, NKV * HS);
    let v = tape.linear(a, w('self_attn.v_proj.weight'), R, C, NKV * HS);
    if (cfg.clip !== null) { q = tape.clamp(q, cfg.clip); k = tape.clamp(k, cfg.clip); v = tape.clamp(v, cfg.clip); }
    if (cfg.olmo2) {
      q = tape.norm(q, NH * HS, cfg.eps, true, w('self_attn.q_norm.weight'));
      k = tape.norm(k, NKV * HS, cfg.eps, true, w('self_attn.k_norm.weight'));
    }
    const q4 = tape.rope(q, B, T, NH, HS, cfg.theta), k4 = tape.rope(k, B, T, NKV, HS, cfg.theta);
    const att = tape.attention(tape.store(q4), tape.store(k4), tape.store(v), B, T, NH, NKV, HS);
    let o = tape.linear(att, w('self_attn.o_proj.weight'), R, C, C);
    if (cfg.olmo2) o = tape.norm(o, C, cfg.eps, true, w('post_attention_layernorm.weight'));
    const h = tape.add(x, o);
    const m = cfg.olmo2 ? h : tape.norm(h, C, cfg.eps, false, null);
    const g = tape.linear(m, w('mlp.gate_proj.weight'), R, C, I);
    const u = tape.linear(m, w('mlp.up_proj.weight'), R, C, I);
    let d = tape.linear(tape.swiglu(tape.store(g), tape.store(u)), w('mlp.down_proj.weight'), R, I, C);
    if (cfg.olmo2) d = tape.norm(d, C, cfg.eps, true, w('post_feedforward_layernorm.weight'));
    x = tape.add(h, d);
  }
  const hN = tape.norm(x, C, cfg.eps, cfg.olmo2, cfg.olmo2 ? p('model.norm.weight') : null);
  const logits = tape.linear(hN, p(cfg.tied ? 'model.embed_tokens.weight' : 'lm_head.weight'), R, C, V);
  const loss = tape.crossEntropy(logits, ids, V);
  tape.backward();
  const grads = new Map<string, Float64Array>();
  for (const [n, v] of P) grads.set(n, v.g ?? new Float64Array(v.d.length));
  return { loss, grads };
}

/**
 * Training as golden train.json defines it: global grad norm (pre-clip), clip with
 * coef = max_norm / (norm + 1e-6) when coef < 1, decoupled weight decay for params not in
 * no_decay, Adam with bias correction. Master parameters and Adam state are float32 in the
 * implementation: the reference rounds them to float32 after every update (fround), as that is
 * part of the recipe ("float32 master params, AdamW state float32").
 */
export function refTrain(cfg: RefConfig, params: Params, o: { lr: number[]; batches: number[][][]; betas: [number, number]; eps: number; weightDecay: number; noDecay: string[]; maxNorm: number }, round: RoundMode, float32Arithmetic = false) {
  const m = new Map<string, Float64Array>(), v = new Map<string, Float64Array>();
  const losses: number[] = [], norms: number[] = [];
  for (let s = 0; s < o.lr.length; s++) {
    const { loss, grads } = refLossAndGrads(cfg, params, o.batches[s]!, round, float32Arithmetic);
    losses.push(loss);
    let sq = 0;
    for (const g of grads.values()) for (const x of g) sq += x * x;
    const norm = Math.sqrt(sq);
    norms.push(norm);
    const coef = o.maxNorm / (norm + 1e-6);
    const lr = o.lr[s]!, t = s + 1, [b1, b2] = o.betas;
    for (const [n, p] of params) {
      const g = grads.get(n)!.map((x) => (coef < 1 ? x * coef : x));
      const mm = m.get(n) ?? new Float64Array(p.length), vv = v.get(n) ?? new Float64Array(p.length);
      m.set(n, mm); v.set(n, vv);
      const decay = !o.noDecay.includes(n);
      for (let i = 0; i < p.length; i++) {
        let x = p[i]!;
        if (decay) x -= lr * o.weightDecay * x;
        mm[i] = Math.fround(b1 * mm[i]! + (1 - b1) * g[i]!);
        vv[i] = Math.fround(b2 * vv[i]! + (1 - b2) * g[i]! * g[i]!);
        const mh = mm[i]! / (1 - b1 ** t), vh = vv[i]! / (1 - b2 ** t);
        p[i] = Math.fround(x - lr * mh / (Math.sqrt(vh) + o.eps));
      }
    }
  }
  return { losses, norms, params };
}
