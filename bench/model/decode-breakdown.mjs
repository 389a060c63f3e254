#!/usr/bin/env node
// Where a batch-1 decode token's time goes, per bench config and precision (the same models as
// bench/model/gguf-vs-llamacpp.bench.ts: OLMoConfig.tiny / small, random weights saved and loaded
// back as float32 / `dtype: 'bfloat16'` / `quantize: 'q8_0'`). Wraps every addon function (and
// Tensor.toTypedArray, the logits read-back) with a timer, so per decoded token:
//   blocks = the decodeLayer calls, head = the LM-head GEMV (lowpLinear / gemm), read = logits
//   copied to JS (toTypedArray: the N-API read plus the typed array), other native = embedding, final norm, argmax, ..., js = the rest (tensor
//   bookkeeping, sampling in JS, the async generator).
// The wrappers themselves add ~0.1 µs per call (7-10 calls per token). Also prints the weight
// bytes per token and the GB/s the whole token reached.
//
// Usage: npx tsc -p packages/tensor-cuda/tsconfig.json && npx tsc -p packages/model/tsconfig.json &&
//        node bench/model/decode-breakdown.mjs [--configs tiny,small] [--precisions f32,bf16,q8_0] [--tokens 128] [--reps 3] [--logits-hook]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Tensor, native } from '../../packages/tensor-cuda/dist/index.js';
import { OLMo, OLMoConfig } from '../../packages/model/dist/index.js';

const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i >= 0 ? process.argv[i + 1] : d; };
const CONFIGS = arg('configs', 'tiny,small').split(','), PRECS = arg('precisions', 'f32,bf16,q8_0').split(',');
const TOKENS = Number(arg('tokens', 128)), REPS = Number(arg('reps', 3));
// --logits-hook: pass an (empty) onLogits, which keeps generate()'s read-back + JS greedy scan.
const HOOK = process.argv.includes('--logits-hook') ? { onLogits: () => {} } : {};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const now = () => performance.now();

const addon = native();
const spent = new Map();
let timing = false;
const wrap = (obj, k, label) => {
  const f = obj[k];
  obj[k] = function (...a) {
    if (!timing) return f.apply(this, a);
    const t0 = now();
    try { return f.apply(this, a); } finally { spent.set(label, (spent.get(label) ?? 0) + now() - t0); }
  };
};
for (const [k, v] of Object.entries(addon)) if (typeof v === 'function' && k !== 'NativeBuffer') wrap(addon, k, k);
wrap(Tensor.prototype, 'toTypedArray', 'read');  // NativeBuffer.read itself is read-only

const LOAD = { f32: {}, bf16: { dtype: 'bfloat16' }, q8_0: { quantize: 'q8_0' } };
const BASES = { tiny: () => OLMoConfig.tiny({ clip_qkv: null }), small: () => OLMoConfig.small({ clip_qkv: null }) };
const bytesPerWeight = { f32: 4, bf16: 2, q8_0: 34 / 32 };

console.log(`# decode breakdown${HOOK.onLogits ? ' (logits hook: read-back path)' : ''}, ${TOKENS} tokens x ${REPS} reps (median), load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, OMP_NUM_THREADS=${process.env.OMP_NUM_THREADS ?? '(unset)'}`);
console.log('| config | precision | tok/s | µs/token | blocks | head | read | other native | js | weight MB/token | GB/s |\n|---|---|---|---|---|---|---|---|---|---|---|');
for (const name of CONFIGS) {
  const cfg = BASES[name]();
  const dir = mkdtempSync(path.join(os.tmpdir(), `olmo-breakdown-${name}-`));
  const m0 = OLMo.init(cfg, { seed: 0, requiresGrad: false });
  await m0.savePretrained(dir);
  m0.dispose();
  const C = cfg.hidden_size, I = cfg.intermediate_size, L = cfg.num_hidden_layers;
  const params = L * (4 * C * C + 3 * C * I) + cfg.embedding_size * C;  // MHA bench configs
  const prompt = Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % cfg.vocab_size);
  for (const prec of PRECS) {
    const m = await OLMo.fromPretrained(dir, LOAD[prec]);
    const runs = [];
    for (let r = 0; r <= REPS; r++) {  // r = 0: warm-up
      spent.clear();
      let t0 = 0, k = 0;
      for await (const _ of m.generate(prompt, { maxNewTokens: TOKENS + 1, stopTokenIds: [], ...HOOK })) {
        if (k++ === 0) { spent.clear(); timing = true; t0 = now(); }  // after the prefill step
      }
      timing = false;
      if (r > 0) runs.push({ total: (now() - t0) * 1000 / TOKENS, parts: new Map([...spent].map(([key, v]) => [key, v * 1000 / TOKENS])) });
    }
    const med = median(runs.map((x) => x.total));
    const run = runs.find((x) => x.total === med);
    const p = (key) => run.parts.get(key) ?? 0;
    const head = p('lowpLinear') + p('gemm');
    const nat = [...run.parts.values()].reduce((a, b) => a + b, 0);
    const other = nat - p('decodeLayer') - head - p('read');
    const mb = params * bytesPerWeight[prec] / 1e6;
    console.log(`| ${name} | ${prec} | ${(1e6 / med).toFixed(0)} | ${med.toFixed(0)} | ${p('decodeLayer').toFixed(0)} | ${head.toFixed(0)} | ${p('read').toFixed(0)} | ${other.toFixed(0)} | ${(med - nat).toFixed(0)} | ${mb.toFixed(1)} | ${(mb / med * 1e3).toFixed(1)} |`);
    m.dispose();
  }
  rmSync(dir, { recursive: true, force: true });
}
