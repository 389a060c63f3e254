#!/usr/bin/env node
// Where a 32-token prefill's time goes (the GGUF bench's prefill: batch 1, KV cache, last-position
// logits): wall time of model.forward + the logits copy, and the self time of every native call
// (wrapped addon functions; native calls do not nest), so "JS + N-API" = wall − Σ native.
// Per precision (float32, bf16, q8_0) on the bench's tiny / small configs, median of --reps.
//
// Usage: npx tsc -p packages/tensor-cuda/tsconfig.json && npx tsc -p packages/model/tsconfig.json &&
//        node bench/model/prefill-profile.mjs [--configs tiny,small] [--reps 21] [--prompt 32]
import os from 'node:os';
import { native, noGrad, setLowpIsa } from '../../packages/tensor-cuda/dist/index.js';
import { OLMo, OLMoConfig } from '../../packages/model/dist/index.js';

const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i >= 0 ? process.argv[i + 1] : d; };
const reps = Number(arg('reps', 21)), P = Number(arg('prompt', 32));
const configs = arg('configs', 'tiny,small').split(',');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms

const addon = native();
const self = new Map(); // name -> [ms per rep...]
let timing = false;
for (const [k, v] of Object.entries(addon)) {
  if (typeof v !== 'function' || k === 'NativeBuffer') continue;
  addon[k] = (...a) => {
    if (!timing) return v(...a);
    const t0 = now();
    try { return v(...a); } finally { self.set(k, (self.get(k) ?? 0) + now() - t0); }
  };
}

console.log(`# prefill profile, ${P}-token prompt, median of ${reps}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log('| config | weights | prefill ms | tok/s | native ms | JS + N-API ms | top native calls (ms) |\n|---|---|---|---|---|---|---|');
for (const name of configs) {
  const cfg = OLMoConfig[name]({ clip_qkv: null });
  // 'q8_0 f32-act' = OLMO_Q8_ACT=f32 (float32 x against dequantized weights: the prefill GEMM q8_0
  // ran before lowplinear_gemm_q8.cc), for an A/B in the same process.
  for (const [prec, opts, q8act] of [['f32', { requiresGrad: false }, true], ['bf16', { dtype: 'bfloat16' }, true], ['q8_0', { dtype: 'bfloat16', quantize: 'q8_0' }, true], ['q8_0 f32-act', { dtype: 'bfloat16', quantize: 'q8_0' }, false]]) {
    setLowpIsa('native', q8act);
    const m = OLMo.init(cfg, { seed: 1, ...opts });
    const prompt = Array.from({ length: P }, (_, i) => (i * 37 + 11) % cfg.vocab_size);
    const walls = [], natives = [], per = new Map();
    for (let r = 0; r < reps + 2; r++) {
      const cache = m.createCache(1, P + 129);
      self.clear();
      timing = r >= 2;
      const t0 = now();
      noGrad(() => { const out = m.forward([prompt], { cache, lastOnly: true }); out.logits.toFloat32Array(); out.logits.dispose(); });
      const t = now() - t0;
      timing = false;
      cache.dispose();
      if (r < 2) continue; // warm-up
      walls.push(t);
      natives.push([...self.values()].reduce((a, b) => a + b, 0));
      for (const [k, v] of self) per.set(k, [...(per.get(k) ?? []), v]);
    }
    const w = median(walls), nat = median(natives);
    const top = [...per].map(([k, v]) => [k, median(v)]).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
    console.log(`| ${name} | ${prec} | ${w.toFixed(2)} | ${(P / w * 1e3).toFixed(0)} | ${nat.toFixed(2)} | ${(w - nat).toFixed(2)} | ${top} |`);
    m.dispose();
  }
}
setLowpIsa('native');
