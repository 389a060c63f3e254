import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Tokenizer } from '@olmo/tokenizer';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createByteTokenizer, createFakeModel, evaluatePerplexity, readTokenFile, type ScoringModel } from '../src/index.js';
import { shared, tokenizerFile } from './helpers.js';

/** Uniform model: every token has probability 1/V, so CE = ln V exactly. */
function uniform(V: number, L: number): ScoringModel {
  return {
    vocabSize: V,
    contextLength: L,
    forward(ids) {
      const B = ids.length, T = ids[0]!.length;
      return { logits: { shape: [B, T, V], toFloat32Array: () => new Float32Array(B * T * V), dispose() {} } };
    },
  };
}

function npy(values: number[], descr = '<u2'): Buffer {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${values.length},), }`;
  while ((10 + header.length + 1) % 64) header += ' ';
  header += '\n';
  const h = Buffer.alloc(10);
  h.write('\x93NUMPY', 0, 'latin1');
  h[6] = 1; h[7] = 0;
  h.writeUInt16LE(header.length, 8);
  const data = descr === '<u2' ? Buffer.from(new Uint16Array(values).buffer) : Buffer.from(new Uint32Array(values).buffer);
  return Buffer.concat([h, Buffer.from(header, 'latin1'), data]);
}

describe('evaluatePerplexity', () => {
  const tok = createByteTokenizer();
  it('uniform model: CE = ln V, ppl = V, bpb = tokens·log2 V / bytes (texts, every token predicted once)', async () => {
    const texts = ['hello world', 'héllo — ok'];
    const r = await evaluatePerplexity(uniform(257, 64), tok, texts, { seqLen: 4 });
    const bytes = texts.reduce((a, t) => a + Buffer.byteLength(t), 0);
    expect(r.tokens).toBe(bytes);  // byte tokenizer: one token per byte, each predicted once
    expect(r.bytes).toBe(bytes);
    expect(r.crossEntropy).toBeCloseTo(Math.log(257), 5);
    expect(r.perplexity).toBeCloseTo(257, 2);
    expect(r.bitsPerByte).toBeCloseTo(Math.log2(257), 5);
    expect(r.instanceCrossEntropy).toBeCloseTo(Math.log(257), 5);
    // windows of 4 tokens overlapping by one: [eos + 11 bytes] → 12 ids → ceil(11/3) = 4 windows
    expect(r.instances).toBe(4 + Math.ceil(Buffer.byteLength(texts[1]!) / 3));
  });

  it('token-weighted vs OLMo per-instance mean CE (hand computed with a fake model)', async () => {
    const m = createFakeModel({ vocabSize: 20, contextLength: 16, seed: 5 });
    const dir = mkdtempSync(path.join(tmpdir(), 'olmo-ppl-'));
    const f = path.join(dir, 'part-0.npy');
    const ids = Array.from({ length: 23 }, (_, i) => (i * 7) % 20);
    writeFileSync(f, npy(ids));
    expect(Array.from(readTokenFile(f))).toEqual(ids);
    const r = await evaluatePerplexity(m, null, { tokenFiles: [f] }, { seqLen: 10 });
    // OLMo instances: [0,10), [10,20); the 3-token remainder is dropped
    expect(r.instances).toBe(2);
    expect(r.tokens).toBe(18);
    const nll = (inst: number[]) => inst.slice(1).map((t, k) => {
      const row = m.logitsAt(inst.slice(0, k + 1));
      const mx = Math.max(...row);
      const z = row.reduce((a, x) => a + Math.exp(x - mx), 0);
      return -(row[t]! - mx - Math.log(z));
    });
    const a = nll(ids.slice(0, 10)), b = nll(ids.slice(10, 20));
    const sum = (x: number[]) => x.reduce((p, q) => p + q, 0);
    expect(r.crossEntropy).toBeCloseTo((sum(a) + sum(b)) / 18, 5);
    expect(r.instanceCrossEntropy).toBeCloseTo((sum(a) / 9 + sum(b) / 9) / 2, 5);
    // raw uint32 memmap
    const raw = path.join(dir, 'tokens.u32');
    writeFileSync(raw, Buffer.from(new Uint32Array(ids).buffer));
    const r2 = await evaluatePerplexity(m, null, { tokenFiles: [raw] }, { seqLen: 10 });
    expect(r2.crossEntropy).toBeCloseTo(r.crossEntropy, 10);
  });

  const wiki = path.join(shared, 'text', 'wikitext-2', 'valid.txt');
  if (!existsSync(wiki)) console.warn(`[@olmo/eval] ${wiki} missing: WikiText check SKIPPED`);
  it.skipIf(!existsSync(wiki))('WikiText-2 valid (first 600 chars) with the real tokenizer: bytes and tokens are counted exactly', async () => {
    const text = readFileSync(wiki, 'utf8').slice(0, 600);
    const real = await Tokenizer.fromFile(tokenizerFile);
    const m = createFakeModel({ vocabSize: 50304, contextLength: 128 });
    const r = await evaluatePerplexity(m, real, [text], { seqLen: 128, batchSize: 4 });
    expect(r.bytes).toBe(Buffer.byteLength(text));
    expect(r.tokens).toBe(real.encode(text).length);
    expect(r.bitsPerByte).toBeCloseTo((r.crossEntropy * r.tokens) / (Math.LN2 * r.bytes), 9);
  });
});
