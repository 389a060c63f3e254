/** Model behaviour: save/load round trips, init schemes, KV cache parity, generation, memory. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryStats, noGrad, tensor, type Tensor } from '@olmo/tensor-cuda';
import { OLMo, OLMoConfig, SafetensorsFile, generateText, type OLMoConfig as Cfg } from '../src/index.js';
import { bf16Reference, relErr, tmpDir } from './helpers.js';

const olmo1 = (o: Partial<Cfg> = {}) => OLMoConfig.from({
  architecture: 'olmo1', vocab_size: 100, embedding_size: 128, hidden_size: 32, intermediate_size: 64,
  num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, clip_qkv: 0.5, tie_word_embeddings: false,
  eos_token_id: 99, ...o,
});
const olmo2 = (o: Partial<Cfg> = {}) => OLMoConfig.from({
  architecture: 'olmo2', vocab_size: 100, embedding_size: 128, hidden_size: 32, intermediate_size: 64,
  num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, eos_token_id: 99, ...o,
});

const ids = [[1, 5, 9, 33, 7, 2, 64, 11, 3, 90], [4, 4, 8, 15, 16, 23, 42, 0, 99, 12]];

function logitsOf(m: OLMo, x: number[][] = ids): Float32Array {
  return noGrad(() => {
    const { logits } = m.forward(x);
    const a = logits.toFloat32Array();
    logits.dispose();
    return a;
  });
}

/** bf16 rounding from the independent float64 reference in helpers.ts (not the code under test). */
function bf16Round(v: Float32Array): Float32Array {
  return v.map(bf16Reference);
}

describe('OLMo model', () => {
  it('savePretrained with maxShardSize writes HF shards + index.json, and the reload equals the original', async () => {
    const m = OLMo.init(olmo1(), { seed: 5 });
    const dir = tmpDir();
    const max = 20_000; // '20KB' is 20·10³ bytes, as in HF's max_shard_size
    const files = (await m.savePretrained(dir, { maxShardSize: '20KB', dtype: 'bfloat16' })).map((f) => path.basename(f));
    const params = m.namedParameters().map(([n, p]) => ({ name: n, bytes: p.size * 2 })); // bf16: 2 bytes per value
    const shards = files.filter((f) => f.endsWith('.safetensors'));
    expect(shards.length).toBeGreaterThan(1);
    shards.forEach((f, i) => expect(f).toBe(`model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`));
    const index = JSON.parse(readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
    expect(index.metadata.total_size).toBe(params.reduce((a, p) => a + p.bytes, 0));
    expect(Object.keys(index.weight_map).sort()).toEqual(params.map((p) => p.name).sort());
    // Each shard holds exactly the tensors the index names, in parameter order, within the limit
    // (a tensor larger than the limit alone in its shard, as HF does), with HF's format metadata.
    let next = 0;
    for (const f of shards) {
      const st = await SafetensorsFile.open(path.join(dir, f));
      const names = st.names();
      expect(names.every((n) => index.weight_map[n] === f), f).toBe(true);
      expect(st.metadata?.format).toBe('pt');
      const size = names.reduce((a, n) => a + params.find((p) => p.name === n)!.bytes, 0);
      if (names.length > 1) expect(size, f).toBeLessThanOrEqual(max);
      for (const n of names) expect(st.info(n).dtype).toBe('BF16');
      await st.close();
      // Greedy in order: the next shard's first tensor would not have fitted into this one.
      const order = params.map((p) => p.name);
      const inShard = order.filter((n) => index.weight_map[n] === f);
      expect(inShard).toEqual(order.slice(next, next + inShard.length));
      next += inShard.length;
      if (next < order.length) expect(size + params[next]!.bytes).toBeGreaterThan(max);
    }
    expect(next).toBe(params.length);
    const back = await OLMo.fromPretrained(dir);
    for (const [n, p] of back.namedParameters()) expect(Array.from(p.toFloat32Array()), n).toEqual(Array.from(bf16Round(m.parameter(n).toFloat32Array())));
    back.dispose(); m.dispose();
  });

  for (const [name, mk] of [['olmo1 (GQA, clip_qkv, untied)', olmo1], ['olmo2 (QK-norm, norm-after)', olmo2], ['olmo1 tied', () => olmo1({ tie_word_embeddings: true, clip_qkv: null })]] as const) {
    it(`${name}: init → savePretrained (f32, bf16, sharded) → fromPretrained → identical logits`, async () => {
      const m = OLMo.init(mk(), { seed: 3 });
      const ref = logitsOf(m);
      expect(ref.length).toBe(2 * 10 * 128);
      // float32
      const d32 = tmpDir();
      await m.savePretrained(d32);
      const a = await OLMo.fromPretrained(d32, { device: 'cpu', dtype: 'float32' });
      expect(a.config).toEqual(m.config);
      expect(Array.from(logitsOf(a))).toEqual(Array.from(ref));
      a.dispose();
      // sharded float32
      const ds = tmpDir();
      const files = await m.savePretrained(ds, { maxShardSize: 20_000 });
      expect(files.some((f) => f.endsWith('model.safetensors.index.json'))).toBe(true);
      const s = await OLMo.fromPretrained(ds);
      expect(Array.from(logitsOf(s))).toEqual(Array.from(ref));
      s.dispose();
      // bfloat16: weights are the RNE-rounded originals; a reload of the bf16 model is identical
      const d16 = tmpDir();
      await m.savePretrained(d16, { dtype: 'bfloat16' });
      const st = await SafetensorsFile.open(path.join(d16, 'model.safetensors'));
      expect(st.info('model.embed_tokens.weight').dtype).toBe('BF16');
      await st.close();
      const b = await OLMo.fromPretrained(d16);
      for (const [n, p] of b.namedParameters()) {
        expect(Array.from(p.toFloat32Array()), n).toEqual(Array.from(bf16Round(m.parameter(n).toFloat32Array())));
      }
      const lb = logitsOf(b);
      expect(relErr(lb, ref)).toBeLessThan(3e-2);
      const d16b = tmpDir();
      await b.savePretrained(d16b, { dtype: 'bfloat16' });
      const c = await OLMo.fromPretrained(d16b);
      expect(Array.from(logitsOf(c))).toEqual(Array.from(lb));
      b.dispose(); c.dispose(); m.dispose();
    });
  }

  it('HF names, tied models have no lm_head.weight', () => {
    const m = OLMo.init(olmo2({ tie_word_embeddings: true }), { seed: 1 });
    const names = m.namedParameters().map(([n]) => n);
    expect(names).toContain('model.layers.1.self_attn.q_norm.weight');
    expect(names).toContain('model.layers.0.post_feedforward_layernorm.weight');
    expect(names).toContain('model.norm.weight');
    expect(names).not.toContain('lm_head.weight');
    const m1 = OLMo.init(olmo1(), { seed: 1 });
    expect(m1.namedParameters().map(([n]) => n).filter((n) => n.includes('norm'))).toEqual([]);
    expect(m1.parameter('model.layers.0.self_attn.k_proj.weight').shape).toEqual([16, 32]);
    // one flat buffer holds every parameter
    expect(m1.flat!.numel).toBeGreaterThanOrEqual(m1.numParameters());
    m.dispose(); m1.dispose();
  });

  it('init schemes follow OLMo (mitchell / normal / full_megatron), reproducible by seed', () => {
    const std = (t: Tensor) => { const a = t.toFloat32Array(); let s = 0; for (const x of a) s += x * x; return Math.sqrt(s / a.length); };
    const maxAbs = (t: Tensor) => t.toFloat32Array().reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    const base = { hidden_size: 128, intermediate_size: 256, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 4, clip_qkv: null };
    const TN = 0.9866; // std of a normal truncated at ±3σ, relative to σ
    const mi = OLMo.init(olmo1({ ...base, init_fn: 'mitchell' }), { seed: 0 });
    const p = (m: OLMo, n: string) => m.parameter(n);
    expect(std(p(mi, 'model.layers.0.self_attn.q_proj.weight')) / (TN / Math.sqrt(128))).toBeCloseTo(1, 1);
    expect(std(p(mi, 'model.layers.3.self_attn.o_proj.weight')) / (TN / Math.sqrt(2 * 128 * 4))).toBeCloseTo(1, 1);
    expect(std(p(mi, 'model.layers.1.mlp.down_proj.weight')) / (TN / Math.sqrt(2 * 256 * 2))).toBeCloseTo(1, 1);
    expect(maxAbs(p(mi, 'model.layers.0.mlp.up_proj.weight'))).toBeLessThanOrEqual(3 / Math.sqrt(128) + 1e-7);
    expect(std(p(mi, 'lm_head.weight')) / (TN / Math.sqrt(128))).toBeCloseTo(1, 1);
    const no = OLMo.init(olmo2({ ...base, init_fn: 'normal', init_std: 0.02, init_cutoff_factor: null }), { seed: 0 });
    expect(std(p(no, 'model.layers.2.mlp.down_proj.weight')) / 0.02).toBeCloseTo(1, 1);
    expect(Array.from(p(no, 'model.layers.0.self_attn.q_norm.weight').toFloat32Array()).every((x) => x === 1)).toBe(true);
    const fm = OLMo.init(olmo1({ ...base, init_fn: 'full_megatron', init_std: 0.02 }), { seed: 0 });
    expect(std(p(fm, 'model.layers.2.self_attn.o_proj.weight')) / (TN * 0.02 / Math.sqrt(8))).toBeCloseTo(1, 1);
    expect(std(p(fm, 'model.layers.2.mlp.gate_proj.weight')) / (TN * 0.02)).toBeCloseTo(1, 1);
    expect(std(p(fm, 'lm_head.weight')) / (TN / Math.sqrt(128))).toBeCloseTo(1, 1);
    const again = OLMo.init(olmo1({ ...base, init_fn: 'mitchell' }), { seed: 0 });
    expect(Array.from(p(again, 'model.layers.1.mlp.gate_proj.weight').toFloat32Array())).toEqual(Array.from(p(mi, 'model.layers.1.mlp.gate_proj.weight').toFloat32Array()));
    for (const m of [mi, no, fm, again]) m.dispose();
  });

  for (const [name, mk] of [['olmo1', olmo1], ['olmo2', olmo2]] as const) {
    it(`${name}: KV-cached logits equal uncached logits (prefill + 1-token decode)`, async () => {
      const m = OLMo.init(mk(), { seed: 5 });
      const seq = ids[0]!;
      const full = logitsOf(m, [seq]);
      const V = m.config.embedding_size;
      const cache = m.createCache(1, seq.length);
      const rows: Float32Array[] = [];
      noGrad(() => {
        const pre = m.forward([seq.slice(0, 4)], { cache });
        rows.push(pre.logits.toFloat32Array());
        pre.logits.dispose();
        for (let t = 4; t < seq.length; t++) {
          const o = m.forward([[seq[t]!]], { cache });
          expect(o.logits.shape).toEqual([1, 1, V]);
          rows.push(o.logits.toFloat32Array());
          o.logits.dispose();
        }
      });
      cache.dispose();
      const inc = new Float32Array(full.length);
      let off = 0;
      for (const r of rows) { inc.set(r, off); off += r.length; }
      expect(relErr(inc, full)).toBeLessThan(1e-5);
      // generate(): cache on vs off
      const a: Float32Array[] = [], b: Float32Array[] = [];
      const ga: number[] = [], gb: number[] = [];
      for await (const id of m.generate([3, 1, 4, 1, 5], { maxNewTokens: 8, stopTokenIds: [], onLogits: (l) => a.push(l.slice()) })) ga.push(id);
      for await (const id of m.generate([3, 1, 4, 1, 5], { maxNewTokens: 8, stopTokenIds: [], useCache: false, onLogits: (l) => b.push(l.slice()) })) gb.push(id);
      expect(ga).toEqual(gb);
      for (let i = 0; i < a.length; i++) expect(relErr(a[i]!, b[i]!)).toBeLessThan(1e-5);
      m.dispose();
    });
  }

  it('generation: sampling is seeded, topK=1 is greedy, stop tokens, abort, batched = single', async () => {
    const m = OLMo.init(olmo1(), { seed: 11 });
    const run = async (prompt: number[], o: Parameters<OLMo['generate']>[1]) => { const r: number[] = []; for await (const id of m.generate(prompt, o)) r.push(id); return r; };
    const greedy = await run([1, 2, 3], { maxNewTokens: 10, stopTokenIds: [] });
    expect(greedy.length).toBe(10);
    expect(greedy.every((t) => t < m.config.vocab_size)).toBe(true);
    expect(await run([1, 2, 3], { maxNewTokens: 10, stopTokenIds: [], temperature: 1.5, topK: 1 })).toEqual(greedy);
    expect(await run([1, 2, 3], { maxNewTokens: 10, stopTokenIds: [], temperature: 0.7, topP: 1e-6 })).toEqual(greedy);
    const s1 = await run([1, 2, 3], { maxNewTokens: 10, stopTokenIds: [], temperature: 2, topP: 0.95, seed: 7 });
    expect(await run([1, 2, 3], { maxNewTokens: 10, stopTokenIds: [], temperature: 2, topP: 0.95, seed: 7 })).toEqual(s1);
    const s2 = await run([1, 2, 3], { maxNewTokens: 10, stopTokenIds: [], temperature: 2, seed: 8 });
    expect(s2).not.toEqual(s1);
    expect(await run([1, 2, 3], { maxNewTokens: 10, stopTokenIds: [greedy[3]!] })).toEqual(greedy.slice(0, greedy.indexOf(greedy[3]!) + 1));
    expect(await run([1, 2, 3], { maxNewTokens: 0 })).toEqual([]);
    const ac = new AbortController();
    const got: number[] = [];
    await expect((async () => { for await (const id of m.generate([1, 2, 3], { maxNewTokens: 10, stopTokenIds: [], signal: ac.signal })) { got.push(id); if (got.length === 2) ac.abort(); } })()).rejects.toMatchObject({ name: 'AbortError' });
    expect(got.length).toBe(2);
    await expect(run([1, 2, 3], { temperature: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const prompts = [[1, 2, 3], [7, 8], [4, 5, 6], [9]];
    const batched = await m.generateBatch(prompts, { maxNewTokens: 6, stopTokenIds: [] });
    for (let i = 0; i < prompts.length; i++) expect(batched[i]).toEqual(await run(prompts[i]!, { maxNewTokens: 6, stopTokenIds: [] }));
    m.dispose();
  });

  it('generateText streams whole characters (never half a multi-byte sequence)', async () => {
    const text = 'héllo 世界 🙂 ok';
    const bytes = [...Buffer.from(text, 'utf8')];
    const V = 256;
    let step = 0;
    // A scripted model: emits the UTF-8 bytes of `text` one byte-token at a time, then eos (255).
    const fake = {
      config: { vocab_size: V, embedding_size: V, eos_token_id: 255 },
      createCache: () => ({ dispose() {} }),
      forward: () => {
        const l = new Float32Array(V).fill(-10);
        l[step < bytes.length ? bytes[step]! : 255] = 10;
        step++;
        return { logits: tensor(l, { shape: [1, 1, V] }) };
      },
    };
    const tok = { encode: (s: string) => [...Buffer.from(s, 'utf8')], decode: (x: number[]) => Buffer.from(x).toString('utf8'), eosTokenId: 255 };
    const chunks: string[] = [];
    for await (const c of generateText(fake as unknown as OLMo, tok, 'hi', { maxNewTokens: 100 })) chunks.push(c);
    expect(chunks.join('')).toBe(text);
    for (const c of chunks) expect(c).not.toContain('\uFFFD');
    expect(chunks).toContain('🙂');
  });

  it('forward disposes its intermediates; backward into flat grads; no leaks', () => {
    const m = OLMo.init(olmo2(), { seed: 2 });
    const grads = m.flatGrads();
    expect(m.parameter('model.norm.weight').grad).not.toBeNull();
    const base = memoryStats().cpuBuffers;
    const { logits, loss } = m.forward(ids, { labels: ids });
    loss!.backward();
    logits.dispose();
    loss!.dispose();
    expect(memoryStats().cpuBuffers).toBe(base);
    const g1 = Array.from(grads.buffer.toFloat32Array());
    expect(g1.some((x) => x !== 0)).toBe(true);
    m.zeroGrad();
    expect(grads.buffer.toFloat32Array().every((x) => x === 0)).toBe(true);
    const inference = logitsOf(m);
    expect(inference.length).toBe(2 * 10 * 128);
    expect(memoryStats().cpuBuffers).toBe(base);
    m.dispose();
  });

  it('rejects bad inputs with typed errors', () => {
    const m = OLMo.init(olmo1(), { seed: 2 });
    expect(() => m.forward([[1, 2], [3]])).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    expect(() => m.forward([[1, 500]])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => m.forward([])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    m.dispose();
  });
});

describe('sampleNext', () => {
  it('matches the softmax distribution, honours topK / topP and never picks padded ids', async () => {
    const { sampleNext } = await import('../src/index.js');
    const { Generator } = await import('@olmo/tensor-cuda');
    const logits = Float32Array.from([2, 1, 0, -1, 100]); // id 4 is embedding padding (validVocab 4)
    const gen = new Generator(0);
    const counts = [0, 0, 0, 0, 0];
    const N = 20000;
    for (let i = 0; i < N; i++) counts[sampleNext(logits, 4, { temperature: 1 }, gen)]!++;
    const z = [2, 1, 0, -1].map(Math.exp), Z = z.reduce((a, b) => a + b);
    z.forEach((p, i) => expect(Math.abs(counts[i]! / N - p / Z)).toBeLessThan(0.015));
    expect(counts[4]).toBe(0);
    for (let i = 0; i < 200; i++) expect(sampleNext(logits, 4, { temperature: 1, topK: 2 }, gen)).toBeLessThan(2);
    // topP 0.7: {0 (p≈.64), 1 (p≈.24)} is the smallest set reaching 0.7
    for (let i = 0; i < 200; i++) expect(sampleNext(logits, 4, { temperature: 1, topP: 0.7 }, gen)).toBeLessThan(2);
    expect(sampleNext(logits, 4, {}, gen)).toBe(0);
  });
});

describe('forward inputs', () => {
  it('accepts int32 Tensors for ids and labels, ignores -100, returns z-loss', () => {
    const m = OLMo.init(olmo1(), { seed: 9, requiresGrad: false });
    const idsT = tensor(ids, { dtype: 'int32' });
    const a = m.forward(ids, { labels: ids });
    const b = m.forward(idsT, { labels: idsT, zLossMultiplier: 1e-4 });
    expect(Array.from(b.logits.toFloat32Array())).toEqual(Array.from(a.logits.toFloat32Array()));
    expect(b.loss!.item()).toBeCloseTo(a.loss!.item(), 6);
    // z-loss = 1e-4 · mean over the B·(T−1) next-token targets of logsumexp(logits)², in float64 here.
    const L = a.logits.toFloat32Array(), V = 128, Tn = ids[0]!.length;
    let zSum = 0, n = 0;
    for (let bb = 0; bb < ids.length; bb++) for (let t = 0; t < Tn - 1; t++) {
      const row = L.subarray((bb * Tn + t) * V, (bb * Tn + t + 1) * V);
      const mx = Math.max(...row);
      const lse = mx + Math.log(row.reduce((acc, x) => acc + Math.exp(x - mx), 0));
      zSum += lse * lse; n++;
    }
    expect(b.zLoss!.item() / (1e-4 * zSum / n)).toBeCloseTo(1, 5);
    expect(a.zLoss).toBeNull();
    // ignoring every target of row 1 gives the loss of row 0 alone
    const lab = [ids[0]!, ids[1]!.map(() => -100)];
    const c = m.forward(ids, { labels: lab });
    const d = m.forward([ids[0]!], { labels: [ids[0]!] });
    expect(c.loss!.item()).toBeCloseTo(d.loss!.item(), 5);
    const last = m.forward(ids, { lastOnly: true });
    expect(last.logits.shape).toEqual([2, 1, 128]);
    const full = a.logits.toFloat32Array();
    const l = last.logits.toFloat32Array();
    expect(relErr(l.subarray(0, 128), full.subarray(9 * 128, 10 * 128))).toBeLessThan(1e-6);
    expect(relErr(l.subarray(128), full.subarray(19 * 128, 20 * 128))).toBeLessThan(1e-6);
    for (const o of [a, b, c, d, last]) { o.logits.dispose(); o.loss?.dispose(); o.zLoss?.dispose(); }
    idsT.dispose();
    m.dispose();
  });
});
