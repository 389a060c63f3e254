#!/usr/bin/env node
// End-to-end prefill (the GGUF bench's: batch 1, --prompt tokens, KV cache, last-position logits)
// with the AMX GEMMs (lowpIsa 'native' on an AMX CPU) against the best kernels below them
// ('avx512bf16' cap: the float32 panel GEMM for bf16, the AVX512-VNNI int8 GEMM for q8_0), the two
// alternated prefill by prefill in one process on one model, so both see the same machine state.
// Per config and precision: median (and min–max) over --rounds rounds of wall ms and CPU ms (process
// CPU time, all threads: less sensitive to a loaded machine than wall time), and the median of the
// per-round ratios (avx512bf16 / amx).
//
// Usage: npx tsc -b packages/model && node bench/model/prefill-amx.mjs [--configs tiny,small,olmo1B]
//        [--precisions bf16,q8_0] [--rounds 9] [--prompt 32]
import os from 'node:os';
import { noGrad, setLowpIsa } from '../../packages/tensor-cuda/dist/index.js';
import { OLMo, OLMoConfig } from '../../packages/model/dist/index.js';

const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i >= 0 ? process.argv[i + 1] : d; };
const rounds = Number(arg('rounds', 9)), P = Number(arg('prompt', 32));
const configs = arg('configs', 'tiny,small').split(',');
const precisions = arg('precisions', 'bf16,q8_0').split(',');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const range = (xs) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;
const OPTS = { bf16: { dtype: 'bfloat16' }, q8_0: { dtype: 'bfloat16', quantize: 'q8_0' } };

const paths = ['native', 'avx512bf16'];
const names = paths.map((p) => setLowpIsa(p, true));
console.log(`# prefill, ${P}-token prompt, ${rounds} alternated rounds, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, OMP_NUM_THREADS=${process.env.OMP_NUM_THREADS ?? '(default)'}`);
console.log(`# kernels: ${names.join(' vs ')}`);
console.log(`| config | weights | kernels | wall ms (min–max) | tok/s | CPU ms (min–max) | ${paths[1]} / ${paths[0]} wall, CPU |\n|---|---|---|---|---|---|---|`);
for (const name of configs) {
  const cfg = OLMoConfig[name]({ clip_qkv: null });
  for (const prec of precisions) {
    const m = OLMo.init(cfg, { seed: 1, ...OPTS[prec] });
    const prompt = Array.from({ length: P }, (_, i) => (i * 37 + 11) % cfg.vocab_size);
    const run = () => {
      const cache = m.createCache(1, P + 1);
      const c0 = process.cpuUsage(), t0 = process.hrtime.bigint();
      noGrad(() => { const out = m.forward([prompt], { cache, lastOnly: true }); out.logits.toFloat32Array(); out.logits.dispose(); });
      const wall = Number(process.hrtime.bigint() - t0) / 1e6, c = process.cpuUsage(c0);
      cache.dispose();
      return [wall, (c.user + c.system) / 1e3];
    };
    const res = paths.map(() => ({ wall: [], cpu: [] }));
    for (const p of paths) { setLowpIsa(p, true); run(); } // warm-up: page in, grow allocators
    for (let r = 0; r < rounds; r++) {
      paths.forEach((p, i) => {
        setLowpIsa(p, true);
        const [w, c] = run();
        res[i].wall.push(w);
        res[i].cpu.push(c);
      });
    }
    const rw = median(res[0].wall.map((w, r) => res[1].wall[r] / w)), rc = median(res[0].cpu.map((c, r) => res[1].cpu[r] / c));
    paths.forEach((p, i) => {
      const w = median(res[i].wall), c = median(res[i].cpu);
      console.log(`| ${name} | ${prec} | ${names[i].split('+')[0]} | ${w.toFixed(2)} (${range(res[i].wall)}) | ${(P / w * 1e3).toFixed(0)} | ${c.toFixed(2)} (${range(res[i].cpu)}) | ${i === 0 ? `${rw.toFixed(2)}×, ${rc.toFixed(2)}×` : ''} |`);
    });
    m.dispose();
  }
}
setLowpIsa('native');
