/**
 * Malformed GGUF files → a typed OlmoError (CHECKPOINT_CORRUPT; DTYPE_UNSUPPORTED for a real but
 * unsupported tensor type; CONFIG_INVALID for another architecture), never a crash, hang or
 * out-of-bounds read: a truncation at every byte of the header and throughout the data, bad magic
 * and version, unknown types, offsets out of bounds / misaligned / overlapping, absurd counts and
 * lengths, missing or extra tensors, and metadata that disagrees with the tensor shapes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  GgufFile, GgufValueType as VT, OLMo, OlmoError, configMetadata, ggufTensorName, parseGgufHeader, runExportCli, writeGguf,
  type GgufTensorEntry, type GgufValue,
} from '../src/index.js';
import { fixtureDir } from './gguf-fixtures.js';
import { tmpDir } from './helpers.js';

const CORRUPT = expect.objectContaining({ code: 'CHECKPOINT_CORRUPT' });
const quiet = { stdout: { write: () => true } as unknown as NodeJS.WritableStream };

/** An independent raw GGUF builder (not our writer), so every field can be set to anything. */
function rawGguf(o: {
  magic?: number; version?: number; nTensors?: bigint; nKv?: bigint;
  kvs?: Array<[string, number, (b: Builder) => void]>;
  tensors?: Array<{ name: string; ne: bigint[]; type: number; offset: bigint; nDims?: number }>;
  data?: Uint8Array; align?: number;
}): Uint8Array {
  const b = new Builder();
  b.u32(o.magic ?? 0x46554747);
  b.u32(o.version ?? 3);
  b.u64(o.nTensors ?? BigInt(o.tensors?.length ?? 0));
  b.u64(o.nKv ?? BigInt(o.kvs?.length ?? 0));
  for (const [k, t, w] of o.kvs ?? []) { b.str(k); b.u32(t); w(b); }
  for (const t of o.tensors ?? []) {
    b.str(t.name);
    b.u32(t.nDims ?? t.ne.length);
    for (const d of t.ne) b.u64(d);
    b.u32(t.type);
    b.u64(t.offset);
  }
  b.pad(o.align ?? 32);
  b.bytes(o.data ?? new Uint8Array(0));
  return b.out();
}
class Builder {
  private parts: number[] = [];
  u32(v: number): void { const a = new Uint8Array(4); new DataView(a.buffer).setUint32(0, v, true); this.parts.push(...a); }
  u64(v: bigint): void { const a = new Uint8Array(8); new DataView(a.buffer).setBigUint64(0, v, true); this.parts.push(...a); }
  str(s: string, lenOverride?: bigint): void { const e = new TextEncoder().encode(s); this.u64(lenOverride ?? BigInt(e.length)); this.parts.push(...e); }
  bytes(a: Uint8Array): void { for (const x of a) this.parts.push(x); }
  pad(align: number): void { while (this.parts.length % align) this.parts.push(0); }
  out(): Uint8Array { return Uint8Array.from(this.parts); }
}

const oneTensor = (type: number, offset = 0n, ne: bigint[] = [4n]) => ({ tensors: [{ name: 't', ne, type, offset }], data: new Uint8Array(64) });

async function openErr(bytes: Uint8Array): Promise<unknown> {
  const f = path.join(tmpDir('olmo-gguf-bad-'), 'bad.gguf');
  writeFileSync(f, bytes);
  const viaFile = await GgufFile.open(f).then(async (g) => { await g.close(); return null; }, (e: unknown) => e);
  const viaLoad = await OLMo.fromPretrained(f).then((m) => { m.dispose(); return null; }, (e: unknown) => e);
  expect(viaLoad).toBeInstanceOf(OlmoError);
  return viaFile;
}

describe('malformed GGUF → typed errors, never an out-of-bounds read', () => {
  const cases: Array<[string, Uint8Array, RegExp, string?]> = [
    ['empty file', new Uint8Array(0), /past the end/],
    ['wrong magic', rawGguf({ magic: 0x46554746 }), /bad magic/],
    ['wrong version (2)', rawGguf({ version: 2 }), /version 2 is not supported/],
    ['big-endian file (version byte-swapped)', rawGguf({ version: 0x03000000 }), /version 50331648/],
    ['absurd tensor count', rawGguf({ nTensors: 1n << 40n }), /tensor count .* cannot fit/],
    ['tensor count above 2^53', rawGguf({ nTensors: 1n << 62n }), /absurd/],
    ['absurd metadata count', rawGguf({ nKv: 1n << 40n }), /metadata count .* cannot fit/],
    ['absurd string length', rawGguf({ kvs: [['general.name', 8, (b) => b.str('x', 1n << 50n)]] }), /length .* exceeds/],
    ['absurd array length', rawGguf({ kvs: [['tokenizer.ggml.tokens', 9, (b) => { b.u32(8); b.u64(1n << 45n); }]] }), /cannot fit/],
    ['unknown metadata value type', rawGguf({ kvs: [['x', 77, () => {}]] }), /unknown value type 77/],
    ['nested array', rawGguf({ kvs: [['x', 9, (b) => { b.u32(9); b.u64(0n); }]] }), /nested arrays/],
    ['duplicate metadata key', rawGguf({ kvs: [['x', 4, (b) => b.u32(1)], ['x', 4, (b) => b.u32(2)]] }), /duplicate metadata key/],
    ['invalid UTF-8 key', (() => { const g = rawGguf({ kvs: [['ab', 4, (b) => b.u32(1)]] }); g[24 + 8] = 0xff; return g; })(), /UTF-8/],
    ['alignment not a power of two', rawGguf({ kvs: [['general.alignment', 4, (b) => b.u32(24)]] }), /power of two/],
    ['unknown tensor type', rawGguf(oneTensor(99)), /unknown ggml type 99/],
    ['known but unsupported tensor type (Q4_K)', rawGguf(oneTensor(12)), /ggml type 12/, 'DTYPE_UNSUPPORTED'],
    ['offset out of bounds', rawGguf(oneTensor(0, 64n)), /outside the 64-byte data section/],
    ['offset far out of bounds', rawGguf(oneTensor(0, 1n << 52n)), /outside/],
    ['misaligned offset', rawGguf(oneTensor(0, 4n)), /not aligned/],
    ['too many dimensions', rawGguf({ tensors: [{ name: 't', ne: [1n, 1n, 1n, 1n, 1n], type: 0, offset: 0n }], data: new Uint8Array(32) }), /5 dimensions/],
    ['zero dimension', rawGguf(oneTensor(0, 0n, [0n, 4n])), /empty dimension/],
    ['element count beyond the file', rawGguf(oneTensor(0, 0n, [1n << 20n, 1n << 20n])), /more than the file has bytes/],
    ['q8_0 rows not a multiple of 32', rawGguf(oneTensor(8, 0n, [16n])), /not a multiple of 32/],
    ['overlapping tensors', rawGguf({ tensors: [{ name: 'a', ne: [16n], type: 0, offset: 0n }, { name: 'b', ne: [8n], type: 0, offset: 32n }], data: new Uint8Array(96) }), /overlap/],
    ['duplicate tensor', rawGguf({ tensors: [{ name: 'a', ne: [4n], type: 0, offset: 0n }, { name: 'a', ne: [4n], type: 0, offset: 32n }], data: new Uint8Array(64) }), /duplicate tensor/],
  ];
  for (const [name, bytes, msg, code] of cases) {
    it(name, async () => {
      const err = await openErr(bytes);
      expect(err).toEqual(expect.objectContaining({ code: code ?? 'CHECKPOINT_CORRUPT' }));
      expect(String((err as Error).message)).toMatch(msg);
      expect((err as OlmoError).hint).toBeTruthy();
    });
  }

  describe('a real export, damaged', async () => {
    const { dir, model } = await fixtureDir('olmo2', 11);
    const good = path.join(dir, 'good.gguf');
    await runExportCli(['export', 'gguf', '--model', dir, '--out', good], quiet);
    const bytes = new Uint8Array(readFileSync(good));
    const header = parseGgufHeader(bytes);

    it('the undamaged file loads', async () => {
      const m = await OLMo.fromPretrained(good);
      m.dispose();
    });

    it('truncated at every byte of the header and at 400 points through the data → CHECKPOINT_CORRUPT', () => {
      const points: number[] = [];
      for (let n = 0; n < header.dataStart + 64; n++) points.push(n);
      for (let i = 0; i < 400; i++) points.push(header.dataStart + Math.floor(((bytes.length - header.dataStart) * i) / 400) + 1);
      for (const n of points) {
        if (n >= bytes.length) continue;
        let err: unknown = null;
        try { parseGgufHeader(bytes.subarray(0, n)); } catch (e) { err = e; }
        if (!(err instanceof OlmoError) || err.code !== 'CHECKPOINT_CORRUPT') throw new Error(`truncated at ${n}/${bytes.length}: ${String(err)}`);
      }
    });

    it('truncated files on disk fail to load with CHECKPOINT_CORRUPT (sampled points)', async () => {
      for (const frac of [0.001, 0.01, 0.3, 0.999]) {
        const n = Math.floor(bytes.length * frac);
        const err = await openErr(bytes.subarray(0, n));
        expect(err, `cut at ${n}`).toEqual(CORRUPT);
      }
    });

    /** Re-writes the fixture with our writer, changing metadata and/or tensors. */
    async function variant(change: { meta?: Array<[string, GgufValue | null]>; drop?: string; extra?: GgufTensorEntry }): Promise<string> {
      const meta = configMetadata(model.config, 'f32', 'bad');
      meta.set('tokenizer.ggml.eos_token_id', { type: VT.UINT32, value: 1 });
      for (const [k, v] of change.meta ?? []) { if (v === null) meta.delete(k); else meta.set(k, v); }
      const entries: GgufTensorEntry[] = model.namedParameters()
        .map(([name, p]) => ({ name: ggufTensorName(name), shape: p.shape, type: 'f32' as const, data: () => p.toFloat32Array() }))
        .filter((e) => e.name !== change.drop);
      if (change.extra) entries.push(change.extra);
      const f = path.join(tmpDir('olmo-gguf-var-'), 'v.gguf');
      await writeGguf(f, meta, entries);
      return f;
    }
    const load = async (f: string) => OLMo.fromPretrained(f).then((m) => { m.dispose(); return null; }, (e: unknown) => e);

    it('the re-written variant without changes loads (the harness is sound)', async () => {
      expect(await load(await variant({}))).toBeNull();
    });
    it('missing tensor', async () => {
      const err = await load(await variant({ drop: 'blk.1.ffn_up.weight' }));
      expect(err).toEqual(CORRUPT);
      expect(String((err as Error).message)).toMatch(/missing tensors blk\.1\.ffn_up\.weight/);
    });
    it('unexpected tensor', async () => {
      const err = await load(await variant({ extra: { name: 'blk.9.attn_q.weight', shape: [4], type: 'f32', data: () => new Float32Array(4) } }));
      expect(String((err as Error).message)).toMatch(/unexpected tensors blk\.9/);
    });
    it('block_count larger than the tensors → missing tensors', async () => {
      const err = await load(await variant({ meta: [['olmo2.block_count', { type: VT.UINT32, value: 3 }]] }));
      expect(err).toEqual(CORRUPT);
      expect(String((err as Error).message)).toMatch(/missing tensors blk\.2/);
    });
    it('embedding_length disagrees with the tensor shapes', async () => {
      const err = await load(await variant({ meta: [['olmo2.embedding_length', { type: VT.UINT32, value: 32 }], ['olmo2.rope.dimension_count', null]] }));
      expect(err).toEqual(CORRUPT);
      expect(String((err as Error).message)).toMatch(/has shape .* but the metadata implies/);
    });
    it('feed_forward_length disagrees with the tensor shapes', async () => {
      const err = await load(await variant({ meta: [['olmo2.feed_forward_length', { type: VT.UINT32, value: 100 }]] }));
      expect(String((err as Error).message)).toMatch(/ffn_.*has shape/);
    });
    it('head counts that describe no valid model', async () => {
      const err = await load(await variant({ meta: [['olmo2.attention.head_count', { type: VT.UINT32, value: 3 }]] }));
      expect(err).toEqual(CORRUPT);
      expect(String((err as Error).message)).toMatch(/invalid model/);
    });
    it('missing required metadata', async () => {
      const err = await load(await variant({ meta: [['olmo2.feed_forward_length', null]] }));
      expect(String((err as Error).message)).toMatch(/olmo2\.feed_forward_length' is missing/);
    });
    it('metadata of the wrong type', async () => {
      const err = await load(await variant({ meta: [['olmo2.block_count', { type: VT.STRING, value: 'two' }]] }));
      expect(String((err as Error).message)).toMatch(/must be a number/);
    });
    it('rope.dimension_count disagrees with the head dim', async () => {
      const err = await load(await variant({ meta: [['olmo2.rope.dimension_count', { type: VT.UINT32, value: 8 }]] }));
      expect(err).toEqual(CORRUPT);
      expect(String((err as Error).message)).toMatch(/rope\.dimension_count 8 != head dim 16/);
    });
    it('vocabulary size disagrees with the embedding rows', async () => {
      const err = await load(await variant({ meta: [['olmo2.vocab_size', { type: VT.UINT32, value: 999 }]] }));
      expect(String((err as Error).message)).toMatch(/vocab_size 999 disagrees/);
    });
    it('another architecture → CONFIG_INVALID', async () => {
      const err = await load(await variant({ meta: [['general.architecture', { type: VT.STRING, value: 'llama' }]] }));
      expect(err).toEqual(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    });
    it('a missing file → NOT_FOUND', async () => {
      expect(await load(path.join(dir, 'nope.gguf'))).toEqual(expect.objectContaining({ code: 'NOT_FOUND' }));
    });
    it.sequential('cleanup', () => model.dispose());
  });
});
