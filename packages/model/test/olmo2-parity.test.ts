/**
 * OLMo-2 parity against an independent float64 reference written here from the published
 * formulas (HF Olmo2DecoderLayer / OLMo-2 paper): RMSNorm with weights, QK-norm over the full q / k
 * projections before the head split, rotate-half RoPE (theta 500000), GQA causal attention,
 * norm-after residuals, SwiGLU MLP, final RMSNorm, untied head. Checks logits, loss and gradients
 * (central finite differences of the float64 reference).
 */
import { describe, expect, it } from 'vitest';
import { copyInto, tensor } from '@olmo/tensor-cuda';
import { OLMo, OLMoConfig } from '../src/index.js';
import { relErr } from './helpers.js';
import { lin, rms } from './reference-forward.js';

type W = Map<string, Float64Array>;

const cfg = OLMoConfig.from({
  architecture: 'olmo2', vocab_size: 48, embedding_size: 48, hidden_size: 24, intermediate_size: 40,
  num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 2, tie_word_embeddings: false,
  rope_theta: 500000, layer_norm_eps: 1e-6,
});
const C = cfg.hidden_size, F = cfg.intermediate_size, NH = cfg.num_attention_heads, NKV = cfg.num_key_value_heads, HS = C / NH, V = cfg.embedding_size;

/** Rotate-half RoPE on [T, H, HS] in place. */
function ropeRef(x: Float64Array, T: number, H: number, theta: number): void {
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

/** One sequence → logits [T, V] through embedding, one OLMo-2 block, final norm, head. */
function reference(w: W, seq: number[]): Float64Array {
  const T = seq.length, eps = cfg.layer_norm_eps;
  const emb = w.get('model.embed_tokens.weight')!;
  const x = new Float64Array(T * C);
  seq.forEach((id, t) => x.set(emb.subarray(id * C, (id + 1) * C), t * C));
  const L = 'model.layers.0.';
  const q = rms(lin(x, T, C, w.get(L + 'self_attn.q_proj.weight')!, C), T, C, w.get(L + 'self_attn.q_norm.weight')!, eps);
  const k = rms(lin(x, T, C, w.get(L + 'self_attn.k_proj.weight')!, NKV * HS), T, NKV * HS, w.get(L + 'self_attn.k_norm.weight')!, eps);
  const v = lin(x, T, C, w.get(L + 'self_attn.v_proj.weight')!, NKV * HS);
  ropeRef(q, T, NH, cfg.rope_theta);
  ropeRef(k, T, NKV, cfg.rope_theta);
  const att = new Float64Array(T * C);
  for (let h = 0; h < NH; h++) {
    const g = Math.floor(h / (NH / NKV));
    for (let i = 0; i < T; i++) {
      const sc = new Float64Array(i + 1);
      let mx = -Infinity;
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let d = 0; d < HS; d++) s += q[(i * NH + h) * HS + d]! * k[(j * NKV + g) * HS + d]!;
        sc[j] = s / Math.sqrt(HS);
        mx = Math.max(mx, sc[j]!);
      }
      let den = 0;
      for (let j = 0; j <= i; j++) { sc[j] = Math.exp(sc[j]! - mx); den += sc[j]!; }
      for (let d = 0; d < HS; d++) {
        let s = 0;
        for (let j = 0; j <= i; j++) s += sc[j]! * v[(j * NKV + g) * HS + d]!;
        att[(i * NH + h) * HS + d] = s / den;
      }
    }
  }
  const o = rms(lin(att, T, C, w.get(L + 'self_attn.o_proj.weight')!, C), T, C, w.get(L + 'post_attention_layernorm.weight')!, eps);
  const h1 = x.map((xi, i) => xi + o[i]!);
  const gt = lin(h1, T, C, w.get(L + 'mlp.gate_proj.weight')!, F);
  const up = lin(h1, T, C, w.get(L + 'mlp.up_proj.weight')!, F);
  const act = gt.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]!);
  const d = rms(lin(act, T, F, w.get(L + 'mlp.down_proj.weight')!, C), T, C, w.get(L + 'post_feedforward_layernorm.weight')!, eps);
  const h2 = h1.map((hi, i) => hi + d[i]!);
  return lin(rms(h2, T, C, w.get('model.norm.weight')!, eps), T, C, w.get('lm_head.weight')!, V);
}

function refLoss(w: W, batch: number[][]): number {
  let total = 0, n = 0;
  for (const seq of batch) {
    const lg = reference(w, seq);
    for (let t = 0; t < seq.length - 1; t++) {
      const row = lg.subarray(t * V, (t + 1) * V);
      const mx = Math.max(...row);
      const lse = mx + Math.log(row.reduce((a, x) => a + Math.exp(x - mx), 0));
      total += lse - row[seq[t + 1]!]!;
      n++;
    }
  }
  return total / n;
}

describe('OLMo-2 block parity with an independent float64 reference', () => {
  it('logits, loss and gradients', () => {
    const model = OLMo.init(cfg, { seed: 21 });
    // Non-trivial norm weights so that every RMSNorm weight matters.
    let s = 1;
    for (const [n, p] of model.namedParameters()) {
      if (!n.endsWith('norm.weight')) continue;
      const vals = Float32Array.from({ length: p.size }, () => { s = (s * 16807) % 2147483647; return 0.5 + s / 2147483647; });
      const t = tensor(vals, { shape: p.shape });
      copyInto(p, t);
      t.dispose();
    }
    const w: W = new Map(model.namedParameters().map(([n, p]) => [n, Float64Array.from(p.toFloat32Array())]));
    const batch = [[3, 17, 42, 8, 8, 0, 31, 47, 12], [5, 6, 7, 1, 2, 44, 40, 9, 10]];
    const { logits, loss } = model.forward(batch, { labels: batch });
    const want = new Float64Array(batch.length * batch[0]!.length * V);
    batch.forEach((seq, b) => want.set(reference(w, seq), b * seq.length * V));
    expect(relErr(logits.toFloat32Array(), want)).toBeLessThan(1e-5);
    const lref = refLoss(w, batch);
    expect(Math.abs(loss!.item() - lref) / lref).toBeLessThan(1e-5);
    loss!.backward();
    // Finite differences of the float64 reference on a sample of entries of every parameter.
    const eps = 1e-5;
    for (const [n, p] of model.namedParameters()) {
      const g = p.grad!.toFloat32Array();
      const arr = w.get(n)!;
      const picks = Array.from({ length: 6 }, (_, i) => Math.floor(((i * 7919 + 13) % arr.length)));
      if (n === 'model.embed_tokens.weight') picks.push(17 * C + 3, 42 * C + 5);
      const num: number[] = [], ana: number[] = [];
      for (const i of picks) {
        const o = arr[i]!;
        arr[i] = o + eps; const fp = refLoss(w, batch);
        arr[i] = o - eps; const fm = refLoss(w, batch);
        arr[i] = o;
        num.push((fp - fm) / (2 * eps));
        ana.push(g[i]!);
      }
      if (num.every((x) => Math.abs(x) < 1e-9)) {
        // All sampled entries have a zero true gradient (e.g. embedding rows of tokens not in the
        // batch): relErr is meaningless there, so check that the analytic gradient is zero too.
        expect(Math.max(...ana.map(Math.abs)), `${n} grad must vanish where the reference's does`).toBeLessThan(1e-7);
        continue;
      }
      expect(relErr(ana, num), `${n} grad`).toBeLessThan(2e-3);
    }
    logits.dispose(); loss!.dispose(); model.dispose();
  });
});
