/**
 * Low-precision inference weights against the golden fixtures and an independent float64
 * reference (reference-forward.ts):
 *  - bfloat16: each fixture saved as a bf16 checkpoint, loaded with { dtype: 'bfloat16' } (the
 *    weights are views into the mapped file) -> logits equal the float64 forward with bf16-rounded
 *    weights within 1e-4 relative (activations and accumulation are float32; the bound is the
 *    float32 one of the README); greedy continuations equal the reference's.
 *  - q8_0: same checkpoint with { quantize: 'q8_0' } -> with float32 activations
 *    (OLMO_Q8_ACT=f32) logits of a batched forward equal the float64 forward with
 *    q8_0-dequantized linear weights within 1e-4 — i.e. the only error is the weight
 *    quantization, computed exactly in the reference — and greedy equals the reference's. By
 *    default every q8_0 linear (batched GEMM and decode GEMV) also quantizes its activations per
 *    32-block as llama.cpp does (the per-linear bounds are proven in
 *    tensor-cuda/test/ops/lowplinear.test.ts): batched and step logits stay within the
 *    estimated activation-quantization error and tokens match while the reference's top-2 margin
 *    exceeds twice the measured logit error.
 *  - loading a float32 checkpoint with { dtype: 'bfloat16' } converts with the same rounding
 *    (identical logits), sharded checkpoints load, and bad options are typed errors.
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { QTensor, Tensor, dequantize, f32ToBf16Bits, bf16BitsToF32, memoryStats, noGrad, quantize, setLowpIsa, tensor } from '@olmo/tensor-cuda';
import { writeF32Chunk } from '../src/weights.js';
import { OLMo, OLMoConfig, SafetensorsFile } from '../src/index.js';
import { goldenDirs, relErr, tmpDir } from './helpers.js';
import { referenceForward, referenceGreedy, type RefWeights } from './reference-forward.js';

const TOL = 1e-4;
const { dirs, reason } = goldenDirs();
if (dirs.length === 0) console.warn(`[lowprec] golden part skipped: no fixtures (${reason ?? 'none listed'})`);

const bf16Round = (a: Float32Array) => Float64Array.from(a, (v) => bf16BitsToF32(f32ToBf16Bits(v)));

async function readWeights(dir: string, names: readonly string[]): Promise<Map<string, Float32Array>> {
  const f = await SafetensorsFile.open(path.join(dir, 'model.safetensors'));
  try {
    const out = new Map<string, Float32Array>();
    for (const n of names) out.set(n, await f.readFloat32(n));
    return out;
  } finally {
    await f.close();
  }
}

/** Weights as the q8_0 model stores them: linear weights q8_0(bf16(w)) dequantized, the rest bf16. */
function q8Reference(model: OLMo, bf: RefWeights): RefWeights {
  const out: RefWeights = new Map();
  for (const s of model.specs) {
    const w = model.weight(s.name);
    if (w instanceof QTensor) {
      const d = dequantize(w);
      out.set(s.name, Float64Array.from(d.toFloat32Array()));
      d.dispose();
    } else out.set(s.name, bf.get(s.name)!);
  }
  // a tied head: the model multiplies by a q8_0 copy of the embedding (its gather keeps the rows)
  const head = model.headWeight();
  if (model.config.tie_word_embeddings && head instanceof QTensor) {
    const d = dequantize(head);
    out.set('lm_head.weight', Float64Array.from(d.toFloat32Array()));
    d.dispose();
  }
  return out;
}

function logitsOf(model: OLMo, ids: number[][]): Float32Array {
  return noGrad(() => {
    const { logits } = model.forward(ids);
    const a = logits.toFloat32Array();
    logits.dispose();
    return a;
  });
}

async function greedy(model: OLMo, prompt: number[], n: number): Promise<number[]> {
  const got: number[] = [];
  for await (const id of model.generate(prompt, { maxNewTokens: n, stopTokenIds: [] })) got.push(id);
  return got;
}

describe.skipIf(dirs.length === 0)('low-precision weights on the golden fixtures', () => {
  for (const dir of dirs) {
    describe(path.basename(dir), () => {
      const inputs = JSON.parse(readFileSync(path.join(dir, 'inputs.json'), 'utf8')) as { input_ids: number[][] };
      const gen = JSON.parse(readFileSync(path.join(dir, 'generate.json'), 'utf8')) as { prompt: number[]; max_new_tokens: number };

      it('bfloat16 (mapped bf16 checkpoint) and q8_0: logits vs the float64 reference, greedy continuations', async () => {
        const cfg = await OLMoConfig.load(dir);
        const f32 = await OLMo.fromPretrained(dir);
        const bfDir = tmpDir('olmo-lowprec-');
        try {
          await f32.savePretrained(bfDir, { dtype: 'bfloat16' });
          const raw = await readWeights(dir, f32.specs.map((s) => s.name));
          f32.dispose();
          const bf: RefWeights = new Map([...raw].map(([n, v]) => [n, bf16Round(v)]));

          const before = memoryStats().mappedBuffers;
          const mb = await OLMo.fromPretrained(bfDir, { dtype: 'bfloat16' });
          try {
            expect(mb.precision).toEqual({ dtype: 'bfloat16', quantize: null });
            expect(mb.weight('model.layers.0.mlp.up_proj.weight')).toMatchObject({ dtype: 'bfloat16' });
            // zero-copy: the bf16 weights live in one mapping of the shard, not in allocated memory
            expect(memoryStats().mappedBuffers).toBe(before + 1);
            const got = logitsOf(mb, inputs.input_ids);
            const ref = inputs.input_ids.flatMap((seq) => [...referenceForward(cfg, bf, seq)]);
            const e = relErr(got, ref);
            expect(e, `bf16 logits rel err ${e}`).toBeLessThanOrEqual(TOL);
            const r = referenceGreedy(cfg, bf, gen.prompt, gen.max_new_tokens);
            expect(await greedy(mb, gen.prompt, gen.max_new_tokens)).toEqual(r.ids);
          } finally {
            mb.dispose();
          }
          expect(memoryStats().mappedBuffers).toBe(before);

          const mq = await OLMo.fromPretrained(bfDir, { dtype: 'bfloat16', quantize: 'q8_0' });
          try {
            expect(mq.weight('model.layers.0.self_attn.q_proj.weight')).toBeInstanceOf(QTensor);
            const qref = q8Reference(mq, bf);
            // the stored weights must be a q8_0 of the bf16 values: |d_h·q − w| ≤ d/2 + 127·|d_h − d|
            // with d = amax/127 and d_h its f16 rounding (|d_h − d| ≤ 2^-11·d): ≤ d·(0.5 + 127·2^-11)
            const q0 = qref.get('model.layers.0.mlp.down_proj.weight')!, b0 = bf.get('model.layers.0.mlp.down_proj.weight')!;
            for (let blk = 0; blk < q0.length / 32; blk++) {
              let amax = 0;
              for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(b0[blk * 32 + j]!));
              for (let j = 0; j < 32; j++) expect(Math.abs(q0[blk * 32 + j]! - b0[blk * 32 + j]!)).toBeLessThanOrEqual((amax / 127) * (0.5 + 127 * 2 ** -11) + 1e-12);
            }
            const ref = inputs.input_ids.flatMap((seq) => [...referenceForward(cfg, qref, seq)]);
            // float32 activations (OLMO_Q8_ACT=f32): the only error is the weight quantization
            setLowpIsa('native', false);
            try {
              const e = relErr(logitsOf(mq, inputs.input_ids), ref);
              expect(e, `q8_0 logits rel err ${e}`).toBeLessThanOrEqual(TOL);
            } finally {
              setLowpIsa('native');
            }
            // default: every q8_0 linear quantizes its input per 32-block (the batched GEMM too,
            // 2 x 16 rows here) -> within the activation-quantization estimate below (3e-2)
            const eq = relErr(logitsOf(mq, inputs.input_ids), ref);
            expect(eq, `q8_0 int8-activation logits rel err ${eq}`).toBeLessThanOrEqual(3e-2);
            const r = referenceGreedy(cfg, qref, gen.prompt, gen.max_new_tokens);
            console.log(`[lowprec] ${path.basename(dir)} q8_0 reference top-2 margins: ${r.margins.map((m) => m.toFixed(3)).join(' ')}`);
            // float32-activation decode (OLMO_Q8_ACT=f32): exact up to float32 rounding -> same tokens
            setLowpIsa('native', false);
            try {
              expect(await greedy(mq, gen.prompt, gen.max_new_tokens)).toEqual(r.ids);
            } finally {
              setLowpIsa('native');
            }
            // default decode (int8 activations, llama.cpp's scheme): each step's logits stay within
            // the activation-quantization error, estimated: per linear input, rounding to a 1/127
            // grid of the block max (≈2.5σ for these activations) adds ≈ 2.5/127/√12 ≈ 0.6% rms
            // relative noise; ≤ 7 quantized products per path through 2 blocks + head, so ≤ 3%
            // (asserted: 3e-2). Tokens must match the reference while its top-2 margin exceeds
            // twice the measured max logit error (after a legitimate flip the sequences differ).
            const seq = [...gen.prompt];
            const ours: number[] = [], steps: Float32Array[] = [];
            for await (const id of mq.generate(gen.prompt, { maxNewTokens: gen.max_new_tokens, stopTokenIds: [], onLogits: (l) => steps.push(l.slice()) })) ours.push(id);
            let agreeing = true;
            for (let i = 0; i < ours.length; i++) {
              const refAll = referenceForward(cfg, qref, seq);
              const V = refAll.length / seq.length;
              const ref = refAll.subarray((seq.length - 1) * V);
              const e = relErr(steps[i]!, ref);
              expect(e, `q8_0 decode step ${i} logits rel err ${e}`).toBeLessThanOrEqual(3e-2);
              let maxErr = 0, best = 0, second = -Infinity;
              for (let j = 0; j < V; j++) { maxErr = Math.max(maxErr, Math.abs(steps[i]![j]! - ref[j]!)); if (ref[j]! > ref[best]!) best = j; }
              for (let j = 0; j < V; j++) if (j !== best) second = Math.max(second, ref[j]!);
              if (agreeing && ref[best]! - second > 2 * maxErr) expect(ours[i], `step ${i}`).toBe(best);
              else agreeing = false;
              seq.push(ours[i]!);
            }
          } finally {
            mq.dispose();
          }

          // a float32 checkpoint loaded as bfloat16 converts with the same rounding (norm weights
          // stay float32, so they keep the checkpoint's unrounded values)
          const conv = await OLMo.fromPretrained(dir, { dtype: 'bfloat16' });
          const mapped = await OLMo.fromPretrained(bfDir, { dtype: 'bfloat16' });
          try {
            for (const s of conv.specs) {
              const a = conv.parameter(s.name);
              if (a.dtype === 'bfloat16') expect(a.toTypedArray(), s.name).toEqual(mapped.parameter(s.name).toTypedArray());
              else expect(a.toFloat32Array(), s.name).toEqual(raw.get(s.name));
            }
          } finally {
            conv.dispose();
            mapped.dispose();
          }
        } finally {
          await rm(bfDir, { recursive: true, force: true });
        }
      }, 120_000);
    });
  }
});

describe('low-precision options', () => {
  const cfg = OLMoConfig.from({
    architecture: 'olmo2', vocab_size: 96, embedding_size: 96, hidden_size: 64, intermediate_size: 128,
    num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, tie_word_embeddings: false,
  });

  it('OLMo.init with dtype/quantize holds the same values as float32 init, converted', () => {
    const f = OLMo.init(cfg, { seed: 3, requiresGrad: false });
    const b = OLMo.init(cfg, { seed: 3, dtype: 'bfloat16' , requiresGrad: false });
    const q = OLMo.init(cfg, { seed: 3, dtype: 'bfloat16', quantize: 'q8_0', requiresGrad: false });
    try {
      const name = 'model.layers.1.mlp.gate_proj.weight';
      const fv = f.parameter(name).toFloat32Array();
      expect(b.parameter(name).toFloat32Array()).toEqual(Float32Array.from(bf16Round(fv)));
      const qw = q.weight(name) as QTensor;
      const ref = quantize(tensor(fv, { shape: [...qw.shape] }));  // init quantizes the float32 values
      expect(qw.toBytes()).toEqual(ref.toBytes());
      ref.dispose();
      expect(q.weight('model.embed_tokens.weight')).toMatchObject({ dtype: 'bfloat16' });
      expect(q.weight('model.norm.weight')).toMatchObject({ dtype: 'float32' });
    } finally {
      for (const m of [f, b, q]) m.dispose();
    }
  });

  it('a tied head in a q8_0 model multiplies by a q8_0 copy of the embedding; the gather keeps the embedding', () => {
    const tied = OLMoConfig.from({ ...cfg, tie_word_embeddings: true });
    const q = OLMo.init(tied, { seed: 5, dtype: 'bfloat16', quantize: 'q8_0', requiresGrad: false });
    const b = OLMo.init(tied, { seed: 5, dtype: 'bfloat16', requiresGrad: false });
    const u = OLMo.init(cfg, { seed: 5, quantize: 'q8_0', requiresGrad: false });
    try {
      const emb = q.weight('model.embed_tokens.weight') as Tensor;
      expect(emb).toMatchObject({ dtype: 'bfloat16' });
      const head = q.headWeight();
      expect(head).toBeInstanceOf(QTensor);
      const ref = quantize(emb);
      expect((head as QTensor).toBytes()).toEqual(ref.toBytes());
      ref.dispose();
      expect(q.headWeight()).toBe(head);  // built once
      expect(b.headWeight()).toBe(b.weight('model.embed_tokens.weight'));  // bf16: the embedding itself
      expect(u.headWeight()).toBe(u.weight('lm_head.weight'));  // untied: lm_head (already q8_0)
      // that forward multiplies by this copy is checked against the float64 reference on the tied
      // golden fixture above (q8Reference hands the reference the dequantized copy as its head)
    } finally {
      for (const m of [q, b, u]) m.dispose();
    }
  });

  it('chunks longer than the staging buffer are written piece by piece (q8_0 whole rows, bf16, float32)', () => {
    // A bf16 checkpoint is read in chunks of STAGE_ELEMS * 2 bytes = 2 x STAGE_ELEMS values, twice
    // the stage: OLMo-1B's embedding (103 M values) hit this (regression of 2026-12-05). Here the
    // stage is 80 values and the chunks 7 rows of 32.
    const rows = 7, cols = 32, n = rows * cols;
    const vals = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 3);
    const stage = Tensor.allocate([80], 'float32', -1, false).keep();
    const q = QTensor.allocate([rows, cols]);
    const b = Tensor.allocate([rows, cols], 'bfloat16', -1, false).keep();
    const f = Tensor.allocate([rows, cols], 'float32', -1, false).keep();
    try {
      writeF32Chunk(q, 0, vals, stage);
      writeF32Chunk(b, 0, vals, stage);
      writeF32Chunk(f, 0, vals, stage);
      const ref = quantize(tensor(vals, { shape: [rows, cols] }));
      expect(q.toBytes()).toEqual(ref.toBytes());
      ref.dispose();
      expect(b.toFloat32Array()).toEqual(Float32Array.from(bf16Round(vals)));
      expect(f.toFloat32Array()).toEqual(vals);
      const tooShort = Tensor.allocate([16], 'float32', -1, false).keep();
      try { expect(() => writeF32Chunk(q, 0, vals, tooShort)).toThrow(/shorter than one row/); } finally { tooShort.dispose(); }
    } finally {
      for (const t of [stage, q, b, f]) t.dispose();
    }
  });

  it('sharded bf16 save (index.json) loads back mapped, shard by shard', async () => {
    const m = OLMo.init(cfg, { seed: 4, dtype: 'bfloat16', requiresGrad: false });
    const dir = tmpDir('olmo-lowprec-shard-');
    try {
      const files = await m.savePretrained(dir, { dtype: 'bfloat16', maxShardSize: 20_000 });
      expect(files.some((f) => f.endsWith('model.safetensors.index.json'))).toBe(true);
      const shards = files.filter((f) => /model-\d{5}-of-\d{5}\.safetensors$/.test(f)).length;
      expect(shards).toBeGreaterThan(2);
      const before = memoryStats().mappedBuffers;
      const back = await OLMo.fromPretrained(dir, { dtype: 'bfloat16' });
      try {
        expect(memoryStats().mappedBuffers - before).toBe(shards);
        for (const s of m.specs) expect(back.parameter(s.name).toFloat32Array()).toEqual(m.parameter(s.name).toFloat32Array());
        const ids = [[1, 5, 9, 33]];
        expect(logitsOf(back, ids)).toEqual(logitsOf(m, ids));
      } finally {
        back.dispose();
      }
    } finally {
      m.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('bad options are typed errors, never silently ignored', async () => {
    const expectCode = async (p: Promise<unknown> | (() => unknown), code: string) => {
      let err: unknown;
      try { await (typeof p === 'function' ? p() : p); } catch (e) { err = e; }
      expect((err as { code?: string })?.code, String(err)).toBe(code);
    };
    const dir = tmpDir('olmo-lowprec-opts-');
    const m = OLMo.init(cfg, { seed: 5, requiresGrad: false });
    try {
      await m.savePretrained(dir);
      await expectCode(OLMo.fromPretrained(dir, { quantize: 'q4_0' as never }), 'INVALID_ARGUMENT');
      await expectCode(OLMo.fromPretrained(dir, { dtype: 'float16' as never }), 'DTYPE_UNSUPPORTED');
      await expectCode(OLMo.fromPretrained(dir, { quantise: 'q8_0' } as never), 'INVALID_ARGUMENT');
      await expectCode(OLMo.fromPretrained(dir, { dtype: 'bfloat16', requiresGrad: true }), 'DTYPE_UNSUPPORTED');
      await expectCode(() => OLMo.init(cfg, { quantize: 'int4' as never }), 'INVALID_ARGUMENT');
      await expectCode(() => OLMo.init(cfg, { dtype: 'bfloat16', requiresGrad: true }), 'DTYPE_UNSUPPORTED');
      const b = await OLMo.fromPretrained(dir, { dtype: 'bfloat16' });
      await expectCode(() => b.requiresGrad_(true), 'DTYPE_UNSUPPORTED');
      await expectCode(() => b.flatGrads(), 'DTYPE_UNSUPPORTED');
      b.dispose();
    } finally {
      m.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
