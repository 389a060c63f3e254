/**
 * llama.cpp (through node-llama-cpp's prebuilt CPU binary) as the second, independent
 * implementation: our GGUF export of demo-size OLMo-1 and OLMo-2 models must load in llama.cpp and
 * give the same greedy tokens, token for token, for a fixed prompt of token ids, and the same
 * next-token log-probabilities (f32). bf16 / q8_0, read back by us in their own types (mapped
 * bf16 / q8_0 weights): the same first tokens and close log-probabilities.
 * The golden fixtures, exported to GGUF, give their float64 reference's greedy continuation.
 * Skips (with the reason printed) only if node-llama-cpp cannot load on this machine.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OLMo, runExportCli, type GgufTensorType } from '../src/index.js';
import { byteLevelTokenizer, fixtureDir, type FixtureKind } from './gguf-fixtures.js';
import { goldenDirs, tmpDir } from './helpers.js';

type NLC = typeof import('node-llama-cpp');
type Llama = Awaited<ReturnType<NLC['getLlama']>>;

let nlc: NLC | null = null;
let llama: Llama | null = null;
let skipReason: string | null = null;
try {
  nlc = await import('node-llama-cpp');
  // Prebuilt CPU binary only: never build, never download.
  llama = await nlc.getLlama({ gpu: false, build: 'never', skipDownload: true, usePrebuiltBinaries: true, progressLogs: false, logLevel: nlc.LlamaLogLevel.error, maxThreads: 1 });
} catch (e) {
  skipReason = `node-llama-cpp cannot load on this machine: ${(e as Error).message}`;
  console.warn(`[gguf-llama-cpp] skipped: ${skipReason}`);
}

afterAll(async () => { await llama?.dispose(); });

const PROMPT = [17, 250, 3, 88, 140, 296, 61, 9];
const NEW_TOKENS = 12;
const quiet = { stdout: { write: () => true } as unknown as NodeJS.WritableStream };

/** Our greedy continuation (no early stop) and each step's log-softmax. */
async function ours(m: OLMo): Promise<{ tokens: number[]; logprobs: Float64Array[]; margins: number[] }> {
  const logprobs: Float64Array[] = [];
  const margins: number[] = [];
  const tokens: number[] = [];
  for await (const id of m.generate(PROMPT, {
    maxNewTokens: NEW_TOKENS, stopTokenIds: [],
    onLogits: (l) => {
      let max = -Infinity, second = -Infinity;
      for (const v of l) { if (v > max) { second = max; max = v; } else if (v > second) second = v; }
      let s = 0;
      for (const v of l) s += Math.exp(v - max);
      const lse = max + Math.log(s);
      logprobs.push(Float64Array.from(l, (v) => v - lse));
      margins.push(max - second);
    },
  })) tokens.push(id);
  return { tokens, logprobs, margins };
}

/**
 * f32 everywhere on llama.cpp's side too: its default KV cache is f16 (and its CPU flash attention
 * would round Q to f16), which alone moves log-probs by ~1e-2 on these models.
 */
const EXACT_CTX = { contextSize: 64, batchSize: 64, threads: 1, flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' } as const;

/** Our next-token log-softmax at every position from PROMPT.length - 1 on, for a fixed sequence. */
function forcedLogprobs(m: OLMo, seq: number[]): Float64Array[] {
  const out = m.forward([seq]);
  const all = out.logits.toFloat32Array();
  out.logits.dispose();
  const V = m.config.embedding_size;
  const res: Float64Array[] = [];
  for (let t = PROMPT.length - 1; t < seq.length; t++) {
    const l = all.subarray(t * V, (t + 1) * V);
    let max = -Infinity;
    for (const v of l) max = Math.max(max, v);
    let s = 0;
    for (const v of l) s += Math.exp(v - max);
    const lse = max + Math.log(s);
    res.push(Float64Array.from(l, (v) => v - lse));
  }
  return res;
}

/** llama.cpp: greedy continuation of PROMPT, and next-token log-probs along `forced` (teacher forcing). */
async function theirs(file: string, forced: number[]): Promise<{ tokens: number[]; logprobs: Array<Map<number, number>> }> {
  const model = await llama!.loadModel({ modelPath: file, gpuLayers: 0 });
  try {
    const greedyCtx = await model.createContext(EXACT_CTX);
    const tokens: number[] = [];
    try {
      const seq = greedyCtx.getSequence();
      for await (const t of seq.evaluate(PROMPT as never[], { temperature: 0, yieldEogToken: true })) {
        tokens.push(t as number);
        if (tokens.length >= NEW_TOKENS) break;
      }
    } finally {
      await greedyCtx.dispose();
    }
    const ctx = await model.createContext(EXACT_CTX);
    try {
      const seq = ctx.getSequence();
      const items = forced.map((t, i) => (i >= PROMPT.length - 1
        ? [t, { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }]
        : t)) as Parameters<typeof seq.controlledEvaluate>[0];
      const res = await seq.controlledEvaluate(items);
      const logprobs: Array<Map<number, number>> = [];
      for (let i = PROMPT.length - 1; i < forced.length; i++) {
        const probs = res[i]?.next?.probabilities;
        if (!probs) throw new Error(`llama.cpp returned no probabilities at position ${i}`);
        logprobs.push(new Map([...probs].map(([tok, p]) => [tok as number, Math.log(p)])));
      }
      return { tokens, logprobs };
    } finally {
      await ctx.dispose();
    }
  } finally {
    await model.dispose();
  }
}

describe.skipIf(skipReason !== null)('llama.cpp runs our GGUF export like we do', () => {
  const cleanup: OLMo[] = [];
  afterAll(() => { for (const m of cleanup) m.dispose(); });

  for (const kind of ['olmo1', 'olmo2'] as FixtureKind[]) {
    describe(kind, () => {
      let dir = '';
      const file = (t: GgufTensorType) => path.join(dir, `model-${t}.gguf`);
      beforeAll(async () => {
        const f = await fixtureDir(kind);
        dir = f.dir;
        cleanup.push(f.model);
        for (const t of ['f32', 'bf16', 'q8_0'] as GgufTensorType[]) await runExportCli(['export', 'gguf', '--model', dir, '--out', file(t), '--type', t], quiet);
      });

      it('f32: identical greedy tokens and next-token log-probs', async () => {
        const m = await OLMo.fromPretrained(dir);
        cleanup.push(m);
        const us = await ours(m);
        // The comparison means something only if no step is a near-tie.
        for (const mg of us.margins) expect(mg).toBeGreaterThan(1e-2);
        const them = await theirs(file('f32'), [...PROMPT, ...us.tokens.slice(0, -1)]);
        console.log(`[${kind} f32] ours ${us.tokens.join(' ')} | llama.cpp ${them.tokens.join(' ')} | min margin ${Math.min(...us.margins).toFixed(3)}`);
        let worst = 0;
        them.logprobs.forEach((lp, step) => {
          let n = 0, w = 0;
          for (const [tok, v] of lp) {
            if (n++ >= 20) break;
            w = Math.max(w, Math.abs(v - us.logprobs[step]![tok]!));
          }
          if (process.env.GGUF_DEBUG) console.log(`step ${step} margin ${us.margins[step]!.toFixed(4)} maxdiff ${w.toExponential(2)} top ${[...lp.keys()][0]} ours ${us.tokens[step]}`);
          worst = Math.max(worst, w);
        });
        expect(them.tokens).toEqual(us.tokens);
        console.log(`[${kind} f32] max |Δ log p| over the top-20 tokens per step: ${worst.toExponential(2)}`);
        // float32 with different summation orders (llama.cpp's tiled GEMMs, its RoPE/softmax
        // kernels): per-logit differences of a few 1e-6 relative; 1e-3 absolute in log-prob
        // catches any wrong tensor, permutation or norm by orders of magnitude.
        expect(worst).toBeLessThan(1e-3);
      });

      for (const type of ['bf16', 'q8_0'] as const) {
        it(`${type}: read back in its own type (mapped), same first tokens as llama.cpp, log-probs close on the same ${type} weights`, async () => {
          const f32 = await OLMo.fromPretrained(dir);
          const low = await OLMo.fromPretrained(file(type));
          cleanup.push(f32, low);
          expect(low.precision).toEqual(type === 'bf16' ? { dtype: 'bfloat16', quantize: null } : { dtype: 'float32', quantize: 'q8_0' });
          const usQ = await ours(low);
          const them = await theirs(file(type), [...PROMPT, ...usQ.tokens.slice(0, -1)]);
          console.log(`[${kind} ${type}] ours ${usQ.tokens.join(' ')} | llama.cpp ${them.tokens.join(' ')} | margins ${usQ.margins.map((x) => x.toFixed(2)).join(' ')}`);
          // Weight rounding effect, measured on the same token sequence: ours(f32 weights) vs
          // ours(${type} weights), top-20 tokens per step as below.
          const seq = [...PROMPT, ...usQ.tokens.slice(0, -1)];
          const lpF = forcedLogprobs(f32, seq), lpQ = forcedLogprobs(low, seq);
          let weightEffect = 0;
          lpQ.forEach((lp, s) => {
            const top = [...lp.keys()].sort((a, b) => lp[b]! - lp[a]!).slice(0, 20);
            for (const t of top) weightEffect = Math.max(weightEffect, Math.abs(lp[t]! - lpF[s]![t]!));
          });
          let worst = 0;
          them.logprobs.forEach((lp, step) => {
            let n = 0;
            for (const [tok, v] of lp) {
              if (n++ >= 20) break;
              worst = Math.max(worst, Math.abs(v - usQ.logprobs[step]![tok]!));
            }
          });
          console.log(`[${kind} ${type}] max |Δ log p| llama.cpp vs ours (same ${type} weights): ${worst.toExponential(2)}; weight-rounding effect: ${weightEffect.toExponential(2)}`);
          // llama.cpp's CPU matmuls round the activations to the weight's vec-dot type (bf16, or
          // q8_0 blocks of 32 with scale max|a|/127) — the same relative rounding the weights got,
          // so to first order it moves the logits by at most as much as the weight rounding did.
          // Ours keeps float32 activations for bf16 and quantizes them per block as llama.cpp does
          // in every q8_0 linear (GEMV and batched GEMM): the two differ by at most the activation
          // part. Bound = the measured weight effect (+ the f32 allowance above).
          expect(worst).toBeLessThan(weightEffect + 1e-3);
          // "Same first tokens": where our top-1 / top-2 margin exceeds twice the measured log-prob
          // difference, the argmax cannot differ, so those steps must agree.
          const n = usQ.margins.findIndex((mg) => mg <= 2 * worst);
          const firm = n < 0 ? NEW_TOKENS : n;
          expect(firm).toBeGreaterThanOrEqual(1);
          expect(them.tokens.slice(0, firm)).toEqual(usQ.tokens.slice(0, firm));
        });
      }
    });
  }
});

/**
 * The golden fixtures (../shared/golden): tiny OLMo-1 / OLMo-2 models whose greedy continuation
 * was computed by an independent float64 PyTorch implementation. Exported to GGUF f32, llama.cpp
 * must produce that continuation, and so must our reader.
 */
const golden = goldenDirs();
const goldenWithGen = golden.dirs.filter((d) => existsSync(path.join(d, 'generate.json')));
if (golden.reason) console.warn(`[gguf-llama-cpp] golden fixtures skipped: ${golden.reason}`);
describe.skipIf(skipReason !== null || goldenWithGen.length === 0)('golden fixtures through GGUF: llama.cpp and our reader reproduce the float64 greedy continuation', () => {
  for (const dir of goldenWithGen) {
    it(path.basename(dir), async () => {
      const gen = JSON.parse(readFileSync(path.join(dir, 'generate.json'), 'utf8')) as { prompt: number[]; max_new_tokens: number; greedy: number[] };
      const vocab = (JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as { vocab_size: number }).vocab_size;
      // The fixtures have no tokenizer; a byte-level one with exactly `vocab` entries stands in.
      const tok = byteLevelTokenizer(vocab - 258);
      const work = tmpDir('olmo-gguf-golden-');
      writeFileSync(path.join(work, 'tokenizer.json'), JSON.stringify(tok.json));
      const file = path.join(work, 'model.gguf');
      await runExportCli(['export', 'gguf', '--model', dir, '--out', file, '--tokenizer', path.join(work, 'tokenizer.json')], quiet);
      const m = await OLMo.fromPretrained(file);
      const oursTokens: number[] = [];
      try {
        for await (const id of m.generate(gen.prompt, { maxNewTokens: gen.max_new_tokens, stopTokenIds: [] })) oursTokens.push(id);
      } finally {
        m.dispose();
      }
      expect(oursTokens).toEqual(gen.greedy);
      const model = await llama!.loadModel({ modelPath: file, gpuLayers: 0 });
      const ctx = await model.createContext(EXACT_CTX);
      const theirs: number[] = [];
      try {
        for await (const t of ctx.getSequence().evaluate(gen.prompt as never[], { temperature: 0, yieldEogToken: true })) {
          theirs.push(t as number);
          if (theirs.length >= gen.max_new_tokens) break;
        }
      } finally {
        await ctx.dispose();
        await model.dispose();
      }
      console.log(`[golden ${path.basename(dir)}] float64 reference ${gen.greedy.join(' ')} | llama.cpp ${theirs.join(' ')}`);
      expect(theirs).toEqual(gen.greedy);
    });
  }
});

it.runIf(skipReason !== null)('llama.cpp comparison skipped', () => {
  console.warn(`[gguf-llama-cpp] ${skipReason}`);
});
