/**
 * An independent float64 forward of OLMo-1 / OLMo-2 written from the published formulas (HF
 * OlmoDecoderLayer / Olmo2DecoderLayer), for any layer count, GQA, clip_qkv and tied heads. Used to
 * check low-precision models: pass it the weights exactly as they are stored (bf16-rounded,
 * q8_0-dequantized) and compare logits. One sequence at a time; logits [T, V].
 */
import type { OLMoConfig } from '../src/index.js';

export type RefWeights = Map<string, Float64Array>;

/** y[t] = x[t] @ w^T, x [T, K], w [N, K]. */
export function lin(x: Float64Array, T: number, K: number, w: Float64Array, N: number): Float64Array {
  const y = new Float64Array(T * N);
  for (let t = 0; t < T; t++) for (let n = 0; n < N; n++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += x[t * K + k]! * w[n * K + k]!;
    y[t * N + n] = s;
  }
  return y;
}

/** RMSNorm of each of T rows of width D, times w. */
export function rms(x: Float64Array, T: number, D: number, w: Float64Array, eps: number): Float64Array {
  const y = new Float64Array(T * D);
  for (let t = 0; t < T; t++) {
    let ms = 0;
    for (let d = 0; d < D; d++) ms += x[t * D + d]! ** 2;
    const r = 1 / Math.sqrt(ms / D + eps);
    for (let d = 0; d < D; d++) y[t * D + d] = x[t * D + d]! * r * w[d]!;
  }
  return y;
}

function layerNorm(x: Float64Array, T: number, D: number, eps: number): Float64Array {
  const y = new Float64Array(T * D);
  for (let t = 0; t < T; t++) {
    let mean = 0, v = 0;
    for (let d = 0; d < D; d++) mean += x[t * D + d]!;
    mean /= D;
    for (let d = 0; d < D; d++) v += (x[t * D + d]! - mean) ** 2;
    const r = 1 / Math.sqrt(v / D + eps);
    for (let d = 0; d < D; d++) y[t * D + d] = (x[t * D + d]! - mean) * r;
  }
  return y;
}

/** Rotate-half RoPE on [T, H, HS] in place. */
function rope(x: Float64Array, T: number, H: number, HS: number, theta: number): void {
  const half = HS / 2;
  for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) {
    const o = (t * H + h) * HS;
    for (let i = 0; i < half; i++) {
      const ang = t * theta ** (-(2 * i) / HS);
      const c = Math.cos(ang), s = Math.sin(ang);
      const a = x[o + i]!, b = x[o + i + half]!;
      x[o + i] = a * c - b * s;
      x[o + i + half] = b * c + a * s;
    }
  }
}

const clamp = (x: Float64Array, c: number | null) => (c === null ? x : x.map((v) => Math.min(c, Math.max(-c, v))));
const add = (a: Float64Array, b: Float64Array) => a.map((v, i) => v + b[i]!);

export function referenceForward(cfg: OLMoConfig, w: RefWeights, seq: readonly number[]): Float64Array {
  const C = cfg.hidden_size, F = cfg.intermediate_size, NH = cfg.num_attention_heads, NKV = cfg.num_key_value_heads;
  const HS = C / NH, T = seq.length, eps = cfg.layer_norm_eps, olmo2 = cfg.architecture === 'olmo2';
  const g = (n: string) => { const v = w.get(n); if (!v) throw new Error(`reference: no weight ${n}`); return v; };
  const emb = g('model.embed_tokens.weight');
  const V = emb.length / C;
  let x = new Float64Array(T * C);
  seq.forEach((id, t) => x.set(emb.subarray(id * C, (id + 1) * C), t * C));
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = (n: string) => g(`model.layers.${l}.${n}`);
    const a = olmo2 ? x : layerNorm(x, T, C, eps);
    let q = clamp(lin(a, T, C, p('self_attn.q_proj.weight'), NH * HS), cfg.clip_qkv);
    let k = clamp(lin(a, T, C, p('self_attn.k_proj.weight'), NKV * HS), cfg.clip_qkv);
    const v = clamp(lin(a, T, C, p('self_attn.v_proj.weight'), NKV * HS), cfg.clip_qkv);
    if (olmo2) {
      q = rms(q, T, NH * HS, p('self_attn.q_norm.weight'), eps);
      k = rms(k, T, NKV * HS, p('self_attn.k_norm.weight'), eps);
    }
    rope(q, T, NH, HS, cfg.rope_theta);
    rope(k, T, NKV, HS, cfg.rope_theta);
    const att = new Float64Array(T * C);
    for (let h = 0; h < NH; h++) {
      const kh = Math.floor(h / (NH / NKV));
      for (let t = 0; t < T; t++) {
        const s = new Float64Array(t + 1);
        let mx = -Infinity;
        for (let u = 0; u <= t; u++) {
          let d = 0;
          for (let i = 0; i < HS; i++) d += q[(t * NH + h) * HS + i]! * k[(u * NKV + kh) * HS + i]!;
          s[u] = d / Math.sqrt(HS);
          mx = Math.max(mx, s[u]!);
        }
        let z = 0;
        for (let u = 0; u <= t; u++) { s[u] = Math.exp(s[u]! - mx); z += s[u]!; }
        for (let i = 0; i < HS; i++) {
          let o = 0;
          for (let u = 0; u <= t; u++) o += (s[u]! / z) * v[(u * NKV + kh) * HS + i]!;
          att[t * C + h * HS + i] = o;
        }
      }
    }
    let o = lin(att, T, C, p('self_attn.o_proj.weight'), C);
    if (olmo2) o = rms(o, T, C, p('post_attention_layernorm.weight'), eps);
    const hres = add(x, o);
    const m = olmo2 ? hres : layerNorm(hres, T, C, eps);
    const gate = lin(m, T, C, p('mlp.gate_proj.weight'), F), up = lin(m, T, C, p('mlp.up_proj.weight'), F);
    const act = gate.map((gv, i) => (gv / (1 + Math.exp(-gv))) * up[i]!);
    let d = lin(act, T, F, p('mlp.down_proj.weight'), C);
    if (olmo2) d = rms(d, T, C, p('post_feedforward_layernorm.weight'), eps);
    x = add(hres, d);
  }
  const hN = olmo2 ? rms(x, T, C, g('model.norm.weight'), eps) : layerNorm(x, T, C, eps);
  // a tied model's head is the embedding unless the weights name a separate head (a q8_0 model
  // multiplies by a q8_0 copy of its tied embedding: the reference gets that copy as lm_head.weight)
  return lin(hN, T, C, cfg.tie_word_embeddings && !w.has('lm_head.weight') ? emb : g('lm_head.weight'), V);
}

/** Greedy continuation by full recomputation each step. */
export function referenceGreedy(cfg: OLMoConfig, w: RefWeights, prompt: readonly number[], steps: number): { ids: number[]; margins: number[] } {
  const seq = [...prompt];
  const ids: number[] = [], margins: number[] = [];
  for (let s = 0; s < steps; s++) {
    const logits = referenceForward(cfg, w, seq);
    const V = logits.length / seq.length;
    const last = logits.subarray((seq.length - 1) * V);
    let best = 0, second = -Infinity;
    for (let i = 1; i < V; i++) if (last[i]! > last[best]!) best = i;
    for (let i = 0; i < V; i++) if (i !== best && last[i]! > second) second = last[i]!;
    ids.push(best);
    margins.push(last[best]! - second);
    seq.push(best);
  }
  return { ids, margins };
}
