#!/usr/bin/env node
// Per-token JS + N-API overhead of batch-1 decode: a micro model (d 64, 4 layers, V 256) whose
// compute is negligible, so a decode step's time is almost all per-op overhead. Counts native calls
// and NativeBuffer allocations per decoded token by wrapping the addon's functions, and times
// decode steps (median of --reps runs of --tokens steps) for float32, bfloat16 and q8_0 weights.
//
// Usage: npx tsc -p packages/tensor-cuda/tsconfig.json && npx tsc -p packages/model/tsconfig.json &&
//        node bench/model/overhead.mjs [--reps 5] [--tokens 64]
import os from 'node:os';
import { native } from '../../packages/tensor-cuda/dist/index.js';
import { OLMo, OLMoConfig } from '../../packages/model/dist/index.js';

const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i >= 0 ? Number(process.argv[i + 1]) : d; };
const reps = arg('reps', 5), tokens = arg('tokens', 64);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const addon = native();
const counts = new Map();
let counting = false;
for (const [k, v] of Object.entries(addon)) {
  if (typeof v !== 'function' || k === 'NativeBuffer') continue;
  addon[k] = (...a) => { if (counting) counts.set(k, (counts.get(k) ?? 0) + 1); return v(...a); };
}
const Buf = addon.NativeBuffer;
let allocs = 0;
addon.NativeBuffer = new Proxy(Buf, { construct(t, a) { if (counting) allocs++; return new t(...a); } });

const cfg = OLMoConfig.from({ architecture: 'olmo2', vocab_size: 256, embedding_size: 256, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2, tie_word_embeddings: false });
console.log(`# decode overhead, micro OLMo-2 (d 64, 4 layers), ${tokens} tokens x ${reps} reps, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log('| weights | µs / token | native calls / token | buffers allocated / token | top calls |\n|---|---|---|---|---|');
for (const [name, opts] of [['float32', { requiresGrad: false }], ['bfloat16', { dtype: 'bfloat16' }], ['q8_0', { dtype: 'bfloat16', quantize: 'q8_0' }]]) {
  const m = OLMo.init(cfg, { seed: 1, ...opts });
  const times = [];
  for (let r = 0; r < reps; r++) {
    counts.clear(); allocs = 0;
    let t0 = 0, n = 0;
    for await (const _ of m.generate([1, 2, 3, 4], { maxNewTokens: tokens + 1, stopTokenIds: [] })) {
      if (n === 0) { counting = true; t0 = performance.now(); } // skip the prefill step
      n++;
    }
    counting = false;
    times.push((performance.now() - t0) * 1000 / tokens);
  }
  const calls = [...counts.values()].reduce((a, b) => a + b, 0) / tokens;
  const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => `${k} ${(v / tokens).toFixed(0)}`).join(', ');
  console.log(`| ${name} | ${median(times).toFixed(0)} | ${calls.toFixed(0)} | ${(allocs / tokens).toFixed(0)} | ${top} |`);
  m.dispose();
}
