/**
 * GGUF files loaded in their own types, mapped (gguf/load-weights.ts):
 *  - f32 / bf16 / q8_0 exports read back without options keep the file's types (float32, bfloat16,
 *    q8_0 linear weights) and give logits IDENTICAL to the model they came from at that precision:
 *    f32 = the float32 model; bf16 = the model loaded from its bf16 safetensors with dtype
 *    bfloat16; q8_0 = the model loaded with quantize q8_0 from a folder whose embedding holds the
 *    q8_0-rounded values the file stores (GGUF q8_0 quantizes token_embd too; everything else is
 *    quantized by our native quantizer, and the mapped blocks must equal its bytes exactly).
 *  - the weights point into the mapping: mappedBytes grows by the file size, and the allocated
 *    bytes are exactly those of the tensors that cannot be views (OLMo-1's row-permuted q/k, the
 *    q8_0 embedding widened to float32), and no conversion chunk is ever allocated for a raw load.
 *  - f16 converts (float32 by default, exactly; bf16 on request), dtype / quantize override the
 *    file, requiresGrad loads trainable float32, a small general.alignment falls back to copies,
 *    and bad options are typed errors.
 */

import { statSync } from 'node:fs';
import path from 'node:path';
import { QTensor, Tensor, memoryStats, noGrad, resetPeakMemory } from '@olmo/tensor-cuda';
import { afterAll, describe, expect, it } from 'vitest';
import {
  GgufFile, OLMo, configMetadata, decodeGgufTensor, encodeGgufTensor, ggufTensorName, permuteRopeRows, runExportCli, writeGguf,
  GgufValueType as VT, type GgufTensorEntry, type GgufTensorType, type Weight,
} from '../src/index.js';
import { fixtureDir, type FixtureKind } from './gguf-fixtures.js';
import { tmpDir } from './helpers.js';

const PROMPT = [[5, 77, 290, 12, 256, 99, 140, 3]];
const quiet = { stdout: { write: () => true } as unknown as NodeJS.WritableStream };
const models: OLMo[] = [];
afterAll(() => { for (const m of models) m.dispose(); });
const keep = (m: OLMo) => { models.push(m); return m; };

function logitsOf(m: OLMo, ids = PROMPT): Float32Array {
  return noGrad(() => {
    const out = m.forward(ids);
    const v = out.logits.toFloat32Array();
    out.logits.dispose();
    return v;
  });
}

function bytesOf(w: Weight): number {
  return w instanceof QTensor ? w.nbytes : w.size * (w.dtype === 'float32' ? 4 : 2);
}

/** Loads `file` and reports how its bytes were placed: mapped (growth of mappedBytes), allocated, and the allocation peak. */
async function loadMeasured(file: string, opts: Parameters<typeof OLMo.fromPretrained>[1] = {}): Promise<{ m: OLMo; mapped: number; allocated: number; peak: number }> {
  const before = memoryStats();
  resetPeakMemory();
  const m = keep(await OLMo.fromPretrained(file, opts));
  const after = memoryStats();
  return { m, mapped: after.mappedBytes - before.mappedBytes, allocated: after.cpuBytes - before.cpuBytes, peak: after.cpuPeakBytes - before.cpuBytes };
}

const isQK = (n: string) => /self_attn\.[qk]_proj\.weight$/.test(n);

describe('GGUF read back in its own types, mapped', () => {
  for (const kind of ['olmo1', 'olmo2'] as FixtureKind[]) {
    describe(kind, async () => {
      const { dir, model } = await fixtureDir(kind);
      models.push(model);
      const files: Record<string, string> = {};
      for (const type of ['f32', 'f16', 'bf16', 'q8_0'] as GgufTensorType[]) {
        files[type] = path.join(dir, `model-${type}.gguf`);
        await runExportCli(['export', 'gguf', '--model', dir, '--out', files[type]!, '--type', type], quiet);
      }
      const fileSize = (t: string) => statSync(files[t]!).size;
      /** Bytes a model holds outside the mapping when only `copied` parameters are copies. */
      const copiedBytes = (m: OLMo, copied: (name: string) => boolean) => m.specs.filter((s) => copied(s.name)).reduce((a, s) => a + bytesOf(m.weight(s.name)), 0);
      const olmo1 = kind === 'olmo1';
      /** GGUF keeps norms f32 whatever the type (llama.cpp's converter does): a bf16 / f16 safetensors reference gets them back. */
      const withF32Norms = (ref: OLMo) => {
        for (const s of ref.specs) {
          if (s.shape.length !== 1) continue;
          const t = ref.weight(s.name) as Tensor;
          t.buf.write(t.byteOffset, model.parameter(s.name).toFloat32Array());
        }
        return ref;
      };

      it('f32 → float32 views into the mapping; logits identical to the float32 model', async () => {
        const { m, mapped, allocated, peak } = await loadMeasured(files.f32!);
        expect(m.precision).toEqual({ dtype: 'float32', quantize: null });
        expect(m.flat).toBeNull();
        expect(mapped).toBe(fileSize('f32'));
        const copied = copiedBytes(m, (n) => olmo1 && isQK(n));
        expect(allocated).toBe(copied);
        expect(peak).toBe(copied);
        if (olmo1) expect(copied).toBeGreaterThan(0);
        for (const [name, p] of model.namedParameters()) expect((m.weight(name) as Tensor).toFloat32Array(), name).toEqual(p.toFloat32Array());
        expect(logitsOf(m)).toEqual(logitsOf(model));
        // Inference weights: asking for gradients is a typed error that says how to train.
        expect(() => m.requiresGrad_(true)).toThrow(expect.objectContaining({ code: 'DTYPE_UNSUPPORTED' }));
      });

      it('bf16 → bfloat16 views; logits identical to the bf16 safetensors model', async () => {
        const bfDir = tmpDir('olmo-gguf-bfref-');
        await model.savePretrained(bfDir, { dtype: 'bfloat16' });
        const ref = withF32Norms(keep(await OLMo.fromPretrained(bfDir, { dtype: 'bfloat16' })));
        const { m, mapped, allocated, peak } = await loadMeasured(files.bf16!);
        expect(m.precision).toEqual({ dtype: 'bfloat16', quantize: null });
        expect(mapped).toBe(fileSize('bf16'));
        // Norms stay f32 in the file and float32 in the model: mapped too.
        const copied = copiedBytes(m, (n) => olmo1 && isQK(n));
        expect(allocated).toBe(copied);
        expect(peak).toBe(copied);
        for (const s of m.specs) {
          const a = m.weight(s.name) as Tensor, b = ref.weight(s.name) as Tensor;
          expect(a.dtype, s.name).toBe(b.dtype);
          expect(new Uint8Array(a.buf.read(a.byteOffset, bytesOf(a))), s.name).toEqual(new Uint8Array(b.buf.read(b.byteOffset, bytesOf(b))));
        }
        expect(logitsOf(m)).toEqual(logitsOf(ref));
        expect(logitsOf(m, [PROMPT[0]!.slice(0, 1)])).toEqual(logitsOf(ref, [PROMPT[0]!.slice(0, 1)])); // the batch-1 GEMV path too
      });

      it('q8_0 → QTensor views (ggml block_q8_0 = our block, byte for byte); logits identical to the q8_0 model', async () => {
        // The reference folder: the source weights, with the embedding as the file stores it (q8_0-rounded).
        const qDir = tmpDir('olmo-gguf-q8ref-');
        const src = keep(await OLMo.fromPretrained(dir));
        const emb = src.parameter('model.embed_tokens.weight');
        emb.buf.write(emb.byteOffset, (() => {
          const v = emb.toFloat32Array();
          const out = new Float32Array(v.length);
          decodeGgufTensor(encodeGgufTensor(v, 'q8_0'), 'q8_0', out);
          return out;
        })());
        await src.savePretrained(qDir);
        for (const dtype of ['float32', 'bfloat16'] as const) {
          const ref = keep(await OLMo.fromPretrained(qDir, { dtype, quantize: 'q8_0' }));
          const { m, mapped, allocated, peak } = await loadMeasured(files.q8_0!, dtype === 'float32' ? {} : { dtype, quantize: 'q8_0' });
          expect(m.precision).toEqual({ dtype, quantize: 'q8_0' });
          expect(mapped).toBe(fileSize('q8_0'));
          const embedding = (n: string) => n === 'model.embed_tokens.weight';
          const copied = copiedBytes(m, (n) => (olmo1 && isQK(n)) || embedding(n));
          expect(allocated).toBe(copied);
          // The only conversion is the embedding (q8_0 → float/bf16), through one staging chunk (≤ 16 MB).
          expect(peak).toBeLessThanOrEqual(copied + (16 << 20));
          for (const s of m.specs) {
            const a = m.weight(s.name), b = ref.weight(s.name);
            expect(a instanceof QTensor, s.name).toBe(b instanceof QTensor);
            if (a instanceof QTensor) expect(a.toBytes(), s.name).toEqual((b as QTensor).toBytes());
            else expect((a as Tensor).toFloat32Array(), s.name).toEqual((b as Tensor).toFloat32Array());
          }
          expect(m.specs.filter((s) => m.weight(s.name) instanceof QTensor).length).toBeGreaterThan(0);
          expect(logitsOf(m)).toEqual(logitsOf(ref));
          expect(logitsOf(m, [PROMPT[0]!.slice(0, 1)])).toEqual(logitsOf(ref, [PROMPT[0]!.slice(0, 1)]));
        }
      });

      it('f16 converts: float32 by default (exact), bfloat16 on request; nothing is mapped', async () => {
        const hDir = tmpDir('olmo-gguf-f16ref-');
        await model.savePretrained(hDir, { dtype: 'float16' });
        for (const dtype of ['float32', 'bfloat16'] as const) {
          const ref = withF32Norms(keep(await OLMo.fromPretrained(hDir, { dtype })));
          const { m, mapped } = await loadMeasured(files.f16!, dtype === 'float32' ? {} : { dtype });
          expect(m.precision).toEqual({ dtype, quantize: null });
          // Only the f32 norms could be views; for float32 they are, so the file is mapped.
          expect(mapped === 0 || mapped === fileSize('f16')).toBe(true);
          for (const s of m.specs) expect((m.weight(s.name) as Tensor).toFloat32Array(), s.name).toEqual((ref.weight(s.name) as Tensor).toFloat32Array());
          expect(logitsOf(m)).toEqual(logitsOf(ref));
        }
      });

      it('options override the file: bf16 file → quantize q8_0; q8_0 file → float32; requiresGrad → trainable float32', async () => {
        const bfDir = tmpDir('olmo-gguf-bfq-');
        await model.savePretrained(bfDir, { dtype: 'bfloat16' });
        const refQ = withF32Norms(keep(await OLMo.fromPretrained(bfDir, { dtype: 'bfloat16', quantize: 'q8_0' })));
        const q = keep(await OLMo.fromPretrained(files.bf16!, { dtype: 'bfloat16', quantize: 'q8_0' }));
        expect(logitsOf(q)).toEqual(logitsOf(refQ));
        const f = keep(await OLMo.fromPretrained(files.q8_0!, { dtype: 'float32' }));
        expect(f.precision).toEqual({ dtype: 'float32', quantize: null });
        expect(f.weight('model.layers.0.mlp.up_proj.weight')).toBeInstanceOf(Tensor);
        const t = keep(await OLMo.fromPretrained(files.bf16!, { requiresGrad: true }));
        expect(t.precision).toEqual({ dtype: 'float32', quantize: null });
        expect(t.flat).not.toBeNull();
        expect(t.parameters().every((p) => p.requiresGrad)).toBe(true);
        const refF = withF32Norms(keep(await OLMo.fromPretrained(bfDir)));
        expect(logitsOf(t)).toEqual(logitsOf(refF));
      });

      it('bad options are typed errors', async () => {
        const code = async (p: Promise<OLMo>) => p.then((m) => { m.dispose(); return null; }, (e: { code?: string }) => e.code);
        expect(await code(OLMo.fromPretrained(files.bf16!, { dtype: 'float16' as never }))).toBe('DTYPE_UNSUPPORTED');
        expect(await code(OLMo.fromPretrained(files.q8_0!, { quantize: 'q4_0' as never }))).toBe('INVALID_ARGUMENT');
        expect(await code(OLMo.fromPretrained(files.q8_0!, { quantize: 'q8_0', requiresGrad: true }))).toBe('DTYPE_UNSUPPORTED');
        expect(await code(OLMo.fromPretrained(files.bf16!, { dtype: 'bfloat16', requiresGrad: true }))).toBe('DTYPE_UNSUPPORTED');
        expect(await code(OLMo.fromPretrained(files.q8_0!, { mmap: true } as never))).toBe('INVALID_ARGUMENT');
      });
    });
  }

  it('general.alignment below the element size: unaligned tensors are copied, not viewed, and load correctly', async () => {
    const { model } = await fixtureDir('olmo2', 5);
    models.push(model);
    // Pad the metadata so the data section starts at 2 mod 4: every f32 tensor is then unaligned.
    const write = async (padLen: number) => {
      const meta = configMetadata(model.config, 'f32', 'align');
      meta.set('tokenizer.ggml.eos_token_id', { type: VT.UINT32, value: 1 });
      meta.set('general.alignment', { type: VT.UINT32, value: 2 });
      meta.set('x.pad', { type: VT.STRING, value: 'p'.repeat(padLen) });
      const entries: GgufTensorEntry[] = model.namedParameters().map(([name, p]) => ({ name: ggufTensorName(name), shape: p.shape, type: 'f32' as const, data: () => p.toFloat32Array() }));
      const f = path.join(tmpDir('olmo-gguf-align-'), `a${padLen}.gguf`);
      await writeGguf(f, meta, entries, 2);
      const g = await GgufFile.open(f);
      const begins = [...g.tensors.values()].map((t) => t.begin);
      await g.close();
      return { f, unaligned: begins.every((b) => b % 4 === 2) };
    };
    let w = await write(0);
    if (!w.unaligned) w = await write(2);
    expect(w.unaligned).toBe(true);
    const { m, mapped, allocated } = await loadMeasured(w.f);
    expect(mapped).toBe(0);
    expect(allocated).toBe(m.specs.reduce((a, s) => a + bytesOf(m.weight(s.name)), 0));
    expect(logitsOf(m)).toEqual(logitsOf(model));
  });

  it('OLMo-1 q/k: the raw-row un-permutation equals permuteRopeRows inverse on float32', async () => {
    const { dir, model } = await fixtureDir('olmo1', 9);
    models.push(model);
    const f = path.join(dir, 'm.gguf');
    await runExportCli(['export', 'gguf', '--model', dir, '--out', f, '--type', 'f32'], quiet);
    const m = keep(await OLMo.fromPretrained(f));
    const g = await GgufFile.open(f);
    try {
      const q = await g.readFloat32('blk.1.attn_q.weight');
      const [rows, cols] = model.parameter('model.layers.1.self_attn.q_proj.weight').shape as [number, number];
      const back = permuteRopeRows(q, rows, cols, model.config.num_attention_heads, true);
      expect((m.weight('model.layers.1.self_attn.q_proj.weight') as Tensor).toFloat32Array()).toEqual(back);
      expect(back).toEqual(model.parameter('model.layers.1.self_attn.q_proj.weight').toFloat32Array());
    } finally {
      await g.close();
    }
  });
});


