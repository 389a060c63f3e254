/**
 * Test doubles: a deterministic causal fake model (logits at position t depend only on tokens ≤ t, so
 * batching, padding and prefix sharing cannot change a score) and a byte-level toy tokenizer.
 */
import type { LogitsLike, ScoringModel, TokenizerLike } from './model.js';

function mix(h: number, x: number): number {
  h = Math.imul(h ^ x, 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca77);
  h ^= h >>> 13;
  return h >>> 0;
}

export interface FakeModelOptions {
  vocabSize: number;
  contextLength: number;
  seed?: number;
  /** Logit scale (larger → peakier distributions). Default 4. */
  scale?: number;
  /** Optional bias: logits[v] += bias(prevToken, v) (e.g. make the model "know" a task). */
  bias?: (prev: number, v: number) => number;
}

export interface FakeModel extends ScoringModel {
  calls: number;
  tokensFed: number;
  /** Same numbers as forward, computed directly for one position (for hand-checks). */
  logitsAt(prefix: number[]): Float32Array;
}

export interface FakeModelOptionsExtra {
  /** Also implement forwardPrefixed (what a KV-cache model offers). */
  prefixCache?: boolean;
}

export function createFakeModel(opts: FakeModelOptions & FakeModelOptionsExtra): FakeModel {
  const V = opts.vocabSize;
  const seed = opts.seed ?? 1;
  const scale = opts.scale ?? 4;
  const fill = (out: Float32Array, off: number, h: number, prev: number) => {
    for (let v = 0; v < V; v++) {
      const r = mix(h, v + 1) / 4294967296;
      out[off + v] = (r * 2 - 1) * scale + (opts.bias ? opts.bias(prev, v) : 0);
    }
  };
  const model: FakeModel = {
    vocabSize: V,
    contextLength: opts.contextLength,
    calls: 0,
    tokensFed: 0,
    forward(ids: number[][]) {
      const B = ids.length;
      const T = ids[0]?.length ?? 0;
      model.calls++;
      model.tokensFed += B * T;
      const data = new Float32Array(B * T * V);
      for (let b = 0; b < B; b++) {
        if (ids[b]!.length !== T) throw new Error('ragged batch');
        let h = seed;
        for (let t = 0; t < T; t++) {
          h = mix(h, ids[b]![t]! + 7);
          fill(data, (b * T + t) * V, h, ids[b]![t]!);
        }
      }
      let disposed = false;
      const logits: LogitsLike = {
        shape: [B, T, V],
        toFloat32Array() {
          if (disposed) throw new Error('disposed');
          return data;
        },
        dispose() {
          disposed = true;
        },
      };
      return { logits };
    },
    logitsAt(prefix: number[]) {
      let h = seed;
      for (const id of prefix) h = mix(h, id + 7);
      const out = new Float32Array(V);
      fill(out, 0, h, prefix[prefix.length - 1]!);
      return out;
    },
  };
  if (opts.prefixCache) {
    model.forwardPrefixed = (prefixes: number[][], suffixes: number[][], owner: number[], padId: number) => {
      const wrap = (data: Float32Array, shape: number[]): LogitsLike => ({ shape, toFloat32Array: () => data, dispose() {} });
      model.calls++;
      model.tokensFed += prefixes.length * prefixes[0]!.length;
      const pre = new Float32Array(prefixes.length * V);
      prefixes.forEach((p, b) => pre.set(model.logitsAt(p), b * V));
      const prefixLast = wrap(pre, [prefixes.length, 1, V]);
      const S = Math.max(0, ...suffixes.map((s) => s.length));
      if (S === 0) return { prefixLast, suffix: null };
      model.calls++;
      model.tokensFed += suffixes.length * S;
      const data = new Float32Array(suffixes.length * S * V);
      suffixes.forEach((suf, r) => {
        const row = suf.concat(new Array<number>(S - suf.length).fill(padId));
        const prefix = prefixes[owner[r]!]!;
        for (let t = 0; t < S; t++) data.set(model.logitsAt(prefix.concat(row.slice(0, t + 1))), (r * S + t) * V);
      });
      return { prefixLast, suffix: wrap(data, [suffixes.length, S, V]) };
    };
  }
  return model;
}

/** UTF-8 bytes as ids 0..255, eos = 256 (vocabSize 257). */
export function createByteTokenizer(): TokenizerLike & { vocabSize: number } {
  return {
    vocabSize: 257,
    eosTokenId: 256,
    encode(text: string, opts?: { addSpecialTokens?: boolean }) {
      const ids = Array.from(Buffer.from(text, 'utf8'));
      if (opts?.addSpecialTokens) ids.push(256);
      return ids;
    },
    decode(ids: ArrayLike<number>, opts?: { skipSpecialTokens?: boolean }) {
      const parts: string[] = [];
      let cur: number[] = [];
      for (const id of Array.from(ids)) {
        if (id < 256) { cur.push(id); continue; }
        parts.push(Buffer.from(cur).toString('utf8'));
        cur = [];
        if (!opts?.skipSpecialTokens) parts.push('<|endoftext|>');
      }
      parts.push(Buffer.from(cur).toString('utf8'));
      return parts.join('');
    },
  };
}
