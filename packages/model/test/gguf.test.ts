/**
 * GGUF export → import: our writer and our reader agree (f32 bit-exact logits; f16 / bf16 / q8_0
 * weights within their derived rounding bounds and logits equal to a model holding the reference
 * dequantized weights), the header layout follows the GGUF v3 spec, and the CLI handler works.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { noGrad } from '@olmo/tensor-cuda';
import { afterAll, describe, expect, it } from 'vitest';
import {
  EXPORT_USAGE, GgufFile, OLMo, decodeGgufTensor, encodeGgufTensor, f16ToF32, f32ToF16, parseGgufHeader, permuteRopeRows,
  readGgufTokenizerJson, runExportCli, writeGguf, GgufValueType, type GgufTensorType,
} from '../src/index.js';
import { byteLevelTokenizer, fixtureDir, type FixtureKind } from './gguf-fixtures.js';
import { tmpDir } from './helpers.js';

const PROMPT = [[5, 77, 290, 12, 256, 99, 140, 3]];
const quiet = { stdout: { write: () => true } as unknown as NodeJS.WritableStream };

function logitsOf(m: OLMo): Float32Array {
  return noGrad(() => {
    const out = m.forward(PROMPT);
    const v = out.logits.toFloat32Array();
    out.logits.dispose();
    return v;
  });
}

/** Float64 reference dequantization of one Q8_0 block row, from the published formula. */
function refQ8(x: Float32Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]!));
    const d = Math.fround(amax / 127), id = d ? Math.fround(1 / d) : 0;
    const dh = f16ToF32(f32ToF16(d));
    for (let j = 0; j < 32; j++) {
      const v = Math.fround(x[b * 32 + j]! * id);
      out[b * 32 + j] = dh * (Math.sign(v) * Math.round(Math.abs(v)));
    }
  }
  return out;
}

const models: OLMo[] = [];
afterAll(() => { for (const m of models) m.dispose(); });

describe('GGUF export → OLMo.fromPretrained(*.gguf)', () => {
  for (const kind of ['olmo1', 'olmo2'] as FixtureKind[]) {
    describe(kind, async () => {
      const { dir, model } = await fixtureDir(kind);
      models.push(model);
      const ref = logitsOf(model);
      const files: Record<string, string> = {};
      for (const type of ['f32', 'f16', 'bf16', 'q8_0'] as GgufTensorType[]) {
        files[type] = path.join(dir, `model-${type}.gguf`);
        expect(await runExportCli(['export', 'gguf', '--model', dir, '--out', files[type]!, '--type', type], { stdout: { write: () => true } as unknown as NodeJS.WritableStream })).toBe(0);
      }

      it('f32: identical config, parameters and logits (bit-exact)', async () => {
        const m = await OLMo.fromPretrained(files.f32!);
        models.push(m);
        expect(m.config).toEqual({ ...model.config, init_fn: m.config.init_fn, init_std: m.config.init_std, init_cutoff_factor: m.config.init_cutoff_factor, emb_init_std: m.config.emb_init_std });
        for (const [name, p] of model.namedParameters()) expect(m.parameter(name).toFloat32Array(), name).toEqual(p.toFloat32Array());
        expect(logitsOf(m)).toEqual(ref);
      });

      for (const type of ['f16', 'bf16', 'q8_0'] as const) {
        it(`${type} → dtype float32: weights within the rounding bound; logits equal a model holding the reference-rounded weights`, async () => {
          // dtype float32: decoded into float32 (the file's own types: gguf-mapped.test.ts)
          const m = await OLMo.fromPretrained(files[type]!, { dtype: 'float32' });
          models.push(m);
          const refModel = await OLMo.fromPretrained(dir);
          models.push(refModel);
          for (const [name, p] of model.namedParameters()) {
            const w = p.toFloat32Array();
            const got = m.parameter(name).toFloat32Array();
            let expected: Float64Array;
            if (p.shape.length === 1) expected = Float64Array.from(w); // norms stay f32
            else if (type === 'q8_0') expected = refQ8(w);
            else if (type === 'f16') expected = Float64Array.from(w, (x) => f16ToF32(f32ToF16(x)));
            else {
              // bf16: round to nearest even on the upper 16 bits.
              expected = Float64Array.from(w, (x) => {
                const u = new Uint32Array(Float32Array.of(x).buffer)[0]!;
                const r = ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) << 16;
                return new Float32Array(Uint32Array.of(r >>> 0).buffer)[0]!;
              });
            }
            for (let i = 0; i < w.length; i++) {
              if (got[i] !== expected[i]) throw new Error(`${type} ${name}[${i}]: got ${got[i]}, reference ${expected[i]}`);
            }
            // The derived bounds, independently of the reference: half an ulp of an 11-bit (f16) or
            // 8-bit (bf16) significand is ≤ 2⁻¹¹ / 2⁻⁸ relative (plus f16's subnormal step 2⁻²⁵);
            // and for q8_0 per block d·(1/2 + 127·2⁻¹¹) with d = max|x|/127.
            for (let b = 0; b < w.length / 32 && p.shape.length === 2; b++) {
              let amax = 0;
              for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(w[b * 32 + j]!));
              for (let j = 0; j < 32; j++) {
                const x = w[b * 32 + j]!, e = Math.abs(got[b * 32 + j]! - x);
                const bound = type === 'q8_0' ? (amax / 127) * (0.5 + 127 * 2 ** -11) * (1 + 1e-6) : Math.abs(x) * (type === 'f16' ? 2 ** -11 : 2 ** -8) + 2 ** -25;
                if (e > bound) throw new Error(`${type} ${name}[${b * 32 + j}]: error ${e} > bound ${bound}`);
              }
            }
            const t = refModel.parameter(name);
            t.buf.write(t.byteOffset, Float32Array.from(expected));
          }
          expect(logitsOf(m)).toEqual(logitsOf(refModel));
        });
      }

      it('the GGUF vocabulary rebuilds the tokenizer.json it came from', async () => {
        const tj = await readGgufTokenizerJson(files.f32!) as { model: { vocab: Record<string, number>; merges: string[] }; added_tokens: Array<{ id: number; content: string; special: boolean }> };
        const src = byteLevelTokenizer().json as { model: { vocab: Record<string, number>; merges: string[] } };
        expect(tj.model.vocab).toEqual(src.model.vocab);
        expect(tj.model.merges).toEqual(src.model.merges);
        expect(tj.added_tokens.map((a) => [a.id, a.content, a.special])).toEqual([[model.config.eos_token_id, '<|endoftext|>', true], [model.config.pad_token_id, '<|padding|>', true]]);
      });

      it('header follows the GGUF v3 layout llama.cpp expects', () => {
        const bytes = new Uint8Array(readFileSync(files.q8_0!));
        const h = parseGgufHeader(bytes);
        expect(Buffer.from(bytes.subarray(0, 4)).toString('latin1')).toBe('GGUF');
        expect(h.version).toBe(3);
        const arch = kind === 'olmo1' ? 'olmo' : 'olmo2';
        expect(h.metadata.get('general.architecture')).toBe(arch);
        expect(h.metadata.get('general.file_type')).toBe(7);
        expect(h.metadata.get(`${arch}.block_count`)).toBe(2);
        expect(h.metadata.get(`${arch}.attention.head_count_kv`)).toBe(model.config.num_key_value_heads);
        expect(h.metadata.get('tokenizer.ggml.pre')).toBe('olmo');
        expect((h.metadata.get('tokenizer.ggml.tokens') as string[]).length).toBe(320);
        expect((h.metadata.get('tokenizer.ggml.tokens') as string[])[319]).toBe('[PAD319]');
        if (kind === 'olmo1') expect(h.metadata.get('olmo.attention.clamp_kqv')).toBeCloseTo(2.5);
        expect(h.dataStart % 32).toBe(0);
        for (const t of h.tensors.values()) {
          expect((t.begin - h.dataStart) % 32).toBe(0);
          expect(t.type).toBe(t.shape.length === 1 ? 'f32' : 'q8_0');
        }
        expect(h.tensors.get('blk.1.ffn_down.weight')!.shape).toEqual([64, 128]);
        expect(h.tensors.has('output.weight')).toBe(kind === 'olmo2');
        if (kind === 'olmo2') expect(h.tensors.get('blk.0.attn_k_norm.weight')!.shape).toEqual([32]);
      });
    });
  }

  it('OLMo-1 q/k rows are stored in llama.cpp interleaved-pair order (rotate-half pairs (i, i+hd/2) become (2i, 2i+1))', () => {
    const rows = 8, cols = 2, heads = 2; // head dim 4: HF rows per head [a0 a1 b0 b1] → [a0 b0 a1 b1]
    const w = Float32Array.from({ length: rows * cols }, (_, i) => i);
    const p = permuteRopeRows(w, rows, cols, heads);
    const rowOf = (a: Float32Array, r: number) => a[r * cols]! / cols;
    expect(Array.from({ length: rows }, (_, r) => rowOf(p, r))).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
    expect(permuteRopeRows(p, rows, cols, heads, true)).toEqual(w);
  });

  it('q8_0 encoding matches the block layout: f16 scale + 32 int8 (round half away from zero)', () => {
    const x = new Float32Array(32).map((_, i) => (i - 16) / 4); // amax 4 → d = 4/127
    x[1] = (0.5 * 4) / 127; // exactly half a step → rounds away from zero to 1
    const bytes = encodeGgufTensor(x, 'q8_0');
    expect(bytes.length).toBe(34);
    const dv = new DataView(bytes.buffer);
    expect(dv.getUint16(0, true)).toBe(f32ToF16(Math.fround(4 / 127)));
    expect(dv.getInt8(2)).toBe(-127);
    expect(dv.getInt8(3)).toBe(1);
    const back = new Float32Array(32);
    decodeGgufTensor(bytes, 'q8_0', back);
    expect(back[0]).toBeCloseTo(-4, 2);
  });

  it('export CLI: --help prints every option and its default, writes nothing', async () => {
    let text = '';
    const code = await runExportCli(['export', 'gguf', '--help'], { stdout: { write: (s: string) => { text += s; return true; } } as unknown as NodeJS.WritableStream });
    expect(code).toBe(0);
    expect(text).toBe(EXPORT_USAGE + '\n');
    for (const flag of ['--model', '--out', '--type', '--tokenizer', '--tokenizer-pre', '--name']) expect(text).toContain(flag);
    expect(text).toMatch(/--type f32\|f16\|bf16\|q8_0 .*\(default: f32\)/);
  });

  it('export CLI errors are typed', async () => {
    await expect(runExportCli(['export', 'gguf', '--out', '/tmp/x.gguf'])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(runExportCli(['export', 'gguf', '--model', '/nonexistent', '--out', '/tmp/x.gguf', '--type', 'q4_0'])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(runExportCli(['export', 'onnx'])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(runExportCli(['export', 'gguf', '--model', '/nonexistent', '--out', '/tmp/x.gguf'])).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('exports a bf16 checkpoint (values exact) and rejects / accepts an unknown pre-tokenizer', async () => {
    const { dir, model } = await fixtureDir('olmo1', 5);
    models.push(model);
    const bfDir = tmpDir('olmo-gguf-bf16-');
    await model.savePretrained(bfDir, { dtype: 'bfloat16' });
    const tok = byteLevelTokenizer().json as Record<string, unknown>;
    writeFileSync(path.join(bfDir, 'tokenizer.json'), JSON.stringify(tok));
    const f = path.join(bfDir, 'm.gguf');
    await runExportCli(['export', 'gguf', '--model', bfDir, '--out', f], quiet);
    const fromGguf = await OLMo.fromPretrained(f);
    const fromBf16 = await OLMo.fromPretrained(bfDir);
    models.push(fromGguf, fromBf16);
    for (const [name, p] of fromBf16.namedParameters()) expect(fromGguf.parameter(name).toFloat32Array(), name).toEqual(p.toFloat32Array());
    // A pre-tokenizer llama.cpp has no name for: a typed error, unless --tokenizer-pre names one.
    writeFileSync(path.join(dir, 'odd.json'), JSON.stringify({ ...tok, pre_tokenizer: { type: 'Whitespace' } }));
    await expect(runExportCli(['export', 'gguf', '--model', dir, '--out', f, '--tokenizer', path.join(dir, 'odd.json')], quiet)).rejects.toMatchObject({ code: 'TOKENIZER_UNSUPPORTED' });
    await runExportCli(['export', 'gguf', '--model', dir, '--out', f, '--tokenizer', path.join(dir, 'odd.json'), '--tokenizer-pre', 'gpt-2'], quiet);
    expect(parseGgufHeader(new Uint8Array(readFileSync(f))).metadata.get('tokenizer.ggml.pre')).toBe('gpt-2');
  });

  it('a failed write leaves neither the file nor a temp file (atomic)', async () => {
    const dir = tmpDir('olmo-gguf-atomic-');
    const f = path.join(dir, 'x.gguf');
    const meta = new Map([['general.architecture', { type: GgufValueType.STRING, value: 'olmo' } as const]]);
    const boom = () => { throw new Error('disk on fire'); };
    await expect(writeGguf(f, meta, [{ name: 'a', shape: [32], type: 'f32', data: () => new Float32Array(32) }, { name: 'b', shape: [4], type: 'f32', data: boom }])).rejects.toThrow('disk on fire');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('GgufFile reads tensors in bounded chunks', async () => {
    const { dir, model } = await fixtureDir('olmo2', 3);
    models.push(model);
    const f = path.join(dir, 'm.gguf');
    await runExportCli(['export', 'gguf', '--model', dir, '--out', f, '--type', 'q8_0'], { stdout: { write: () => true } as unknown as NodeJS.WritableStream });
    const g = await GgufFile.open(f);
    try {
      const whole = await g.readFloat32('token_embd.weight');
      const parts = new Float32Array(whole.length);
      let calls = 0;
      await g.readChunks('token_embd.weight', (v, off) => { parts.set(v, off); calls++; }, 34 * 5);
      expect(calls).toBe(Math.ceil(whole.length / 32 / 5));
      expect(parts).toEqual(whole);
    } finally {
      await g.close();
    }
  });
});
