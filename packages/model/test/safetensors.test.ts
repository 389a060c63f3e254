/** Safetensors reader/writer: conversions, sharding, atomic saves, and the malformed-file corpus. */
import { readdirSync, writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  OLMo, OLMoConfig, SafetensorsFile, SafetensorsSet, f16ToF32, f32ToBf16, f32ToF16, parseSafetensorsHeader,
  saveSafetensorsDir, writeSafetensors,
} from '../src/index.js';
import { bf16Reference, f16Reference, tmpDir } from './helpers.js';

/** Builds raw safetensors bytes from a header object and a data blob. */
function raw(header: unknown, data: Uint8Array, headerLenOverride?: bigint): Buffer {
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(headerLenOverride ?? BigInt(h.length));
  return Buffer.concat([len, h, Buffer.from(data)]);
}

const CORRUPT = expect.objectContaining({ code: 'CHECKPOINT_CORRUPT' });

describe('safetensors', () => {
  it('writes and reads F32 / BF16 / F16 with correct rounding', async () => {
    const dir = tmpDir();
    const vals = Float32Array.from([0, 1, -2.5, 3.14159, 1e-3, -65504, 1 / 3, 7e-8]);
    for (const dtype of ['float32', 'bfloat16', 'float16'] as const) {
      const f = path.join(dir, `${dtype}.safetensors`);
      await writeSafetensors(f, [{ name: 'a', shape: [2, 4], data: vals }, { name: 'empty', shape: [0, 3], data: new Float32Array(0) }], { dtype, metadata: { x: 'y' } });
      const st = await SafetensorsFile.open(f);
      expect(st.metadata).toEqual({ x: 'y' });
      expect(st.info('a').shape).toEqual([2, 4]);
      const got = await st.readFloat32('a');
      // Expected values from the float64 rounding reference (helpers.ts), not the conversions under test.
      const want = dtype === 'float32' ? vals : vals.map(dtype === 'bfloat16' ? bf16Reference : f16Reference);
      expect(Array.from(got)).toEqual(Array.from(want));
      expect((await st.readFloat32('empty')).length).toBe(0);
      await st.close();
    }
    // Bit patterns worked out by hand from the formats (round to nearest, ties to even):
    // 1/3 = f32 0x3eaaaaab: the dropped half 0xaaab > 0x8000 rounds up → bf16 0x3eab.
    expect(f32ToBf16(1 / 3)).toBe(0x3eab);
    // 1 + 2^-8 = f32 0x3f808000: an exact tie; 0x3f80 is even → stays 0x3f80.
    expect(f32ToBf16(1.00390625)).toBe(0x3f80);
    // 1 + 2^-7 + 2^-8 = f32 0x3f818000: a tie above odd 0x3f81 → rounds up to even 0x3f82.
    expect(f32ToBf16(1.01171875)).toBe(0x3f82);
    expect(f32ToBf16(-2.5)).toBe(0xc020);
    // f16 1/3: exponent -2 → 13 (0b01101), mantissa 0101010101 and the rest (0101…) is below half → 0x3555.
    expect(f32ToF16(1 / 3)).toBe(0x3555);
    expect(f16ToF32(0x3555)).toBe(0.333251953125);
    // f16 ties: 1 + 2^-11 is halfway between 0x3c00 and 0x3c01 → even 0x3c00; 1 + 3·2^-11 → 0x3c02.
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00);
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(2 ** -24)).toBe(0x0001);
    // The float64 reference agrees with the same hand-derived values.
    expect(bf16Reference(1.01171875)).toBe(1.015625);
    expect(f16Reference(1 / 3)).toBe(0.333251953125);
    expect(f16ToF32(f32ToF16(1.5))).toBe(1.5);
    expect(f16ToF32(f32ToF16(65504))).toBe(65504);
    expect(f16ToF32(f32ToF16(1e6))).toBe(Infinity);
    expect(f16ToF32(f32ToF16(2 ** -24))).toBe(2 ** -24);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('reads in bounded chunks (positioned reads)', async () => {
    const dir = tmpDir();
    const f = path.join(dir, 'x.safetensors');
    const vals = Float32Array.from({ length: 1000 }, (_, i) => (i % 128) * 0.25);
    await writeSafetensors(f, [{ name: 'x', shape: [1000], data: vals }], { dtype: 'bfloat16' });
    const st = await SafetensorsFile.open(f);
    const chunks: number[] = [];
    const out = new Float32Array(1000);
    await st.readChunks('x', (v, off) => { chunks.push(v.length); out.set(v, off); }, 256);
    expect(chunks).toEqual([128, 128, 128, 128, 128, 128, 128, 104]);
    expect(Array.from(out)).toEqual(Array.from(vals));
    await st.close();
  });

  it('sharded save with index, loaded as one set; stale files removed', async () => {
    const dir = tmpDir();
    const entries = Array.from({ length: 5 }, (_, i) => ({ name: `t${i}`, shape: [10, 10], data: Float32Array.from({ length: 100 }, (_, j) => i * 100 + j) }));
    const files = await saveSafetensorsDir(dir, entries, { maxShardSize: 900 });
    expect(files.map((f) => path.basename(f))).toEqual([
      'model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors', 'model.safetensors.index.json',
    ]);
    const index = JSON.parse(readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8'));
    expect(index.metadata.total_size).toBe(2000);
    expect(index.weight_map.t4).toBe('model-00003-of-00003.safetensors');
    const set = await SafetensorsSet.openDir(dir);
    expect(set.names().sort()).toEqual(['t0', 't1', 't2', 't3', 't4']);
    expect((await set.file('t3').readFloat32('t3'))[5]).toBe(305);
    await set.close();
    // Re-save unsharded: the index and shards go away.
    await saveSafetensorsDir(dir, entries.slice(0, 2));
    expect(readdirSync(dir).sort()).toEqual(['model.safetensors']);
  });

  describe('malformed corpus → CHECKPOINT_CORRUPT, never an out-of-bounds read', () => {
    const good = { a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [2], data_offsets: [16, 24] } };
    const data = new Uint8Array(24);
    const cases: Array<[string, Buffer, RegExp]> = [
      ['truncated data', raw(good, data).subarray(0, 8 + JSON.stringify(good).length + 10), /past the end|truncated/],
      ['header longer than the file', raw(good, data, 10_000n), /runs past the end/],
      ['huge header length', raw(good, data, 1n << 60n), /exceeds/],
      ['file shorter than 8 bytes', Buffer.from([1, 2, 3]), /too short/],
      ['header not JSON', Buffer.concat([Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{abc}')]), /not valid JSON/],
      ['header is an array', raw([1, 2], data), /JSON object/],
      ['overlapping offsets', raw({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, data), /overlap/],
      ['unknown dtype', raw({ a: { dtype: 'F42', shape: [4], data_offsets: [0, 16] } }, data), /unknown dtype/],
      ['shape × dtype ≠ bytes', raw({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, data), /data_offsets span/],
      ['reversed offsets', raw({ a: { dtype: 'F32', shape: [0], data_offsets: [16, 0] } }, data), /reversed/],
      ['negative dimension', raw({ a: { dtype: 'F32', shape: [-4], data_offsets: [0, 16] } }, data), /non-negative/],
      ['offsets past the data', raw({ a: { dtype: 'F32', shape: [8], data_offsets: [0, 32] } }, data), /past the end/],
      ['bad metadata', raw({ __metadata__: { a: 1 }, ...good }, data), /metadata/],
    ];
    for (const [name, bytes, msg] of cases) {
      it(name, async () => {
        const f = path.join(tmpDir(), 'bad.safetensors');
        writeFileSync(f, bytes);
        const err = await SafetensorsFile.open(f).then(() => null, (e: unknown) => e);
        expect(err).toEqual(CORRUPT);
        expect(String((err as Error).message)).toMatch(msg);
      });
    }

    it('parseSafetensorsHeader is pure and bounded', () => {
      expect(() => parseSafetensorsHeader(10, '{}', 4)).toThrow(CORRUPT);
      expect(parseSafetensorsHeader(2, '{}', 10).tensors.size).toBe(0);
    });

    it('integer tensors cannot be read as parameters', async () => {
      const f = path.join(tmpDir(), 'int.safetensors');
      writeFileSync(f, raw({ a: { dtype: 'I32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(16)));
      const st = await SafetensorsFile.open(f);
      await expect(st.readFloat32('a')).rejects.toEqual(CORRUPT);
      await expect(st.readFloat32('nope')).rejects.toEqual(CORRUPT);
      await st.close();
    });
  });

  describe('checkpoint folders: missing / unexpected tensors, config disagreement', () => {
    const cfg = OLMoConfig.from({ architecture: 'olmo1', vocab_size: 64, embedding_size: 64, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 2, tie_word_embeddings: false });

    async function saved(): Promise<{ dir: string; entries: Array<{ name: string; shape: number[]; data: Float32Array }> }> {
      const dir = tmpDir();
      const m = OLMo.init(cfg, { seed: 1 });
      await m.savePretrained(dir);
      const st = await SafetensorsFile.open(path.join(dir, 'model.safetensors'));
      const entries = await Promise.all(st.names().map(async (n) => ({ name: n, shape: st.info(n).shape, data: await st.readFloat32(n) })));
      await st.close();
      m.dispose();
      return { dir, entries };
    }

    it('loads when intact', async () => {
      const { dir } = await saved();
      const m = await OLMo.fromPretrained(dir);
      expect(m.numParameters()).toBe(64 * 16 * 2 + 2 * (4 * 16 * 16 + 3 * 16 * 32));
      m.dispose();
    });

    it('missing tensor', async () => {
      const { dir, entries } = await saved();
      await writeSafetensors(path.join(dir, 'model.safetensors'), entries.filter((e) => e.name !== 'model.layers.1.mlp.up_proj.weight'));
      await expect(OLMo.fromPretrained(dir)).rejects.toThrow(/missing tensors model\.layers\.1\.mlp\.up_proj\.weight/);
      await expect(OLMo.fromPretrained(dir)).rejects.toEqual(CORRUPT);
    });

    it('unexpected tensor (strict by default)', async () => {
      const { dir, entries } = await saved();
      await writeSafetensors(path.join(dir, 'model.safetensors'), [...entries, { name: 'model.layers.2.mlp.up_proj.weight', shape: [32, 16], data: new Float32Array(512) }]);
      await expect(OLMo.fromPretrained(dir)).rejects.toThrow(/unexpected tensors model\.layers\.2/);
      const m = await OLMo.fromPretrained(dir, { strict: false });
      m.dispose();
    });

    it('config / shape disagreement', async () => {
      const { dir } = await saved();
      const hf = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...hf, intermediate_size: 48 }));
      await expect(OLMo.fromPretrained(dir)).rejects.toThrow(/config\.json implies/);
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...hf, tie_word_embeddings: true }));
      await expect(OLMo.fromPretrained(dir)).rejects.toThrow(/unexpected tensors lm_head\.weight/);
    });

    it('broken shard index', async () => {
      const { dir, entries } = await saved();
      const sub = path.join(dir, 'sharded');
      mkdirSync(sub);
      writeFileSync(path.join(sub, 'config.json'), readFileSync(path.join(dir, 'config.json')));
      await saveSafetensorsDir(sub, entries, { maxShardSize: 4000 });
      const m = await OLMo.fromPretrained(sub);
      m.dispose();
      const idx = JSON.parse(readFileSync(path.join(sub, 'model.safetensors.index.json'), 'utf8'));
      idx.weight_map['lm_head.weight'] = idx.weight_map['model.embed_tokens.weight'] === idx.weight_map['lm_head.weight'] ? idx.weight_map['model.layers.0.self_attn.q_proj.weight'] : idx.weight_map['model.embed_tokens.weight'];
      writeFileSync(path.join(sub, 'model.safetensors.index.json'), JSON.stringify(idx));
      await expect(OLMo.fromPretrained(sub)).rejects.toEqual(CORRUPT);
      idx.weight_map['lm_head.weight'] = 'model-00099-of-00099.safetensors';
      writeFileSync(path.join(sub, 'model.safetensors.index.json'), JSON.stringify(idx));
      await expect(OLMo.fromPretrained(sub)).rejects.toThrow(/missing shard/);
      idx.weight_map['lm_head.weight'] = '../../etc/passwd';
      writeFileSync(path.join(sub, 'model.safetensors.index.json'), JSON.stringify(idx));
      await expect(OLMo.fromPretrained(sub)).rejects.toEqual(CORRUPT);
    });
  });
});
