#!/usr/bin/env node
// Issue #12: our 32-token prefill inside the GGUF bench (bench/model/gguf-vs-llamacpp.bench.ts) was
// ~2.5x slower than in isolation (prefill-profile.mjs). This reproduces the bench's prefill without
// vitest and splits where the time goes, in one process, per rep in alternating order:
//   steady       ours right after another of our prefills (what prefill-profile.mjs measures)
//   after-llama  ours right after the bench's llama.cpp run (context, 32-token prompt, 128 tokens,
//                dispose; 2 threads) — what the bench measures
//   after-llama1 the same with llama.cpp on 1 thread (the bench's odd reps run ours after that one)
//   after-idle   ours after sleeping as long as that llama.cpp run took (idle thread pools, caches
//                and frequency without llama.cpp's work)
//   after-evict  ours right after streaming 512 MB through the cache (a float32 sum): cold caches
//                with busy cores and no llama.cpp
// Each sample is the bench's prefill: generate(prompt) until the first token (cache allocation,
// forward, argmax included). Reported per condition: wall (median, min–max), process CPU time
// (user + sys of every thread, so a pool spinning beside the work shows up here), Σ native self time
// (the addon's functions wrapped, as prefill-profile.mjs does) and the top native calls.
//
// Usage: npm run build (dist/) then
//   node bench/model/prefill-gap.mjs [--configs tiny,small] [--precisions f32,q8_0] [--reps 7]
//     [--conditions steady,after-llama,after-llama1,after-idle,after-evict] (default: all)
// Model: the bench's configs with OLMo's tokenizer (../shared), random weights, saved as safetensors
// and exported to GGUF in a temp dir; ours loads the safetensors folder as the bench does.
import { existsSync, mkdtempSync, rmSync, copyFileSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { native, blasState, Tensor, sumScaled } from '../../packages/tensor-cuda/dist/index.js';
import { OLMo, OLMoConfig, exportGguf } from '../../packages/model/dist/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// ../shared next to the checkout (/work/main -> /work/shared), or one level up for a worktree under /work/wt
const TOKENIZER = ['../../../shared', '../../../../shared'].map((s) => path.join(here, s, 'tokenizers/allenai_gpt-neox-olmo-dolma-v1_5.json')).find(existsSync)
  ?? path.join(here, '../../../shared/tokenizers/allenai_gpt-neox-olmo-dolma-v1_5.json');
const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i >= 0 ? process.argv[i + 1] : d; };
const reps = Number(arg('reps', 7));
const configs = arg('configs', 'tiny,small').split(',');
const precisions = arg('precisions', 'f32,q8_0').split(',');
const only = arg('conditions', '').split(',').filter(Boolean); // default: all
const LOAD_OPTS = { f32: {}, bf16: { dtype: 'bfloat16' }, q8_0: { quantize: 'q8_0' } };
const PROMPT_LEN = 32, NEW = 128;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e3; };

// Per-thread CPU time (ns on a CPU, /proc/self/task/<tid>/schedstat), each thread labelled by the
// phase in which it first appeared: 'node' (V8/libuv, before any work), 'openblas' (blasLoad),
// 'ours' (OpenMP team + work pool: our first forward), 'llama' (llama.cpp's threads), so a pool that
// spins during our prefill shows up under its name.
const label = new Map(); // tid -> phase
const threadNs = () => {
  const m = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    try { m.set(tid, Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0])); } catch { /* exited */ }
  }
  return m;
};
const labelNew = (phase) => { for (const tid of threadNs().keys()) if (!label.has(tid)) label.set(tid, tid === String(process.pid) ? 'main' : phase); };
const byLabel = (a, b) => {
  const out = {};
  for (const [tid, ns] of b) { const l = label.get(tid) ?? 'new'; out[l] = (out[l] ?? 0) + (ns - (a.get(tid) ?? 0)) / 1e6; }
  return out;
};
labelNew('node');

const addon = native();
const self = new Map(); // native call -> ms in the current sample
let timing = false;
for (const [k, v] of Object.entries(addon)) {
  if (typeof v !== 'function' || k === 'NativeBuffer') continue;
  addon[k] = (...a) => {
    if (!timing) return v(...a);
    const t0 = now();
    try { return v(...a); } finally { self.set(k, (self.get(k) ?? 0) + now() - t0); }
  };
}

if (!existsSync(TOKENIZER)) throw new Error(`needs OLMo's tokenizer at ${TOKENIZER} (../shared)`);
const nlc = await import('node-llama-cpp');
const llama = await nlc.getLlama({ gpu: false, build: 'never', skipDownload: true, usePrebuiltBinaries: true, progressLogs: false, logLevel: nlc.LlamaLogLevel.error, maxThreads: 2 });
// After getLlama, which spawns a child process to test its binary: OpenBLAS's pthread_atfork
// handler shuts its pool down on a fork and the next call starts new threads, which would then be
// labelled 'ours'. Loading OpenBLAS here keeps the labels right.
labelNew('node');
addon.blasLoad();
labelNew('openblas');

console.log(`# prefill gap: ${PROMPT_LEN}-token prompt, ${reps} reps alternated, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`# OpenBLAS: ${JSON.stringify(blasState())} (before the first sgemm), env OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? '-'} OLMO_F32_PANEL_GEMM=${process.env.OLMO_F32_PANEL_GEMM ?? '-'}`);
console.log('| config | weights | condition | wall ms: median (min–max) | tok/s | CPU ms | CPU / wall | CPU ms by thread (median) | native ms | top native calls (ms) |\n|---|---|---|---|---|---|---|---|---|---|');
for (const name of configs) {
  const cfg = OLMoConfig[name]({ clip_qkv: null });
  const dir = mkdtempSync(path.join(os.tmpdir(), `olmo-prefill-gap-${name}-`));
  try {
    const m0 = OLMo.init(cfg, { seed: 0, requiresGrad: false });
    await m0.savePretrained(dir);
    m0.dispose();
    copyFileSync(TOKENIZER, path.join(dir, 'tokenizer.json'));
    const prompt = Array.from({ length: PROMPT_LEN }, (_, i) => (i * 37 + 11) % cfg.vocab_size);
    for (const prec of precisions) {
      const file = path.join(dir, `model-${prec}.gguf`);
      await exportGguf({ model: dir, out: file, type: prec });
      const ours = await OLMo.fromPretrained(dir, LOAD_OPTS[prec]);
      const lm = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
      /** The bench's prefill: generate until the first token; native self times into `self`. */
      const oursFirst = async () => {
        self.clear();
        timing = true;
        const n0 = threadNs(), c0 = cpuMs(), t0 = now();
        let t = 0, c = 0, th = {};
        for await (const _ of ours.generate(prompt, { maxNewTokens: NEW + 1, stopTokenIds: [] })) { t = now() - t0; c = cpuMs() - c0; th = byLabel(n0, threadNs()); break; }
        timing = false;
        return { wall: t, cpu: c, th, nat: [...self.values()].reduce((a, b) => a + b, 0), per: new Map(self) };
      };
      /** The bench's llama.cpp run; returns its wall ms. */
      const llamaRun = async (threads = 2) => {
        const t0 = now();
        const ctx = await lm.createContext({ contextSize: 256, batchSize: 64, threads });
        try {
          let k = 0;
          for await (const _ of ctx.getSequence().evaluate(prompt, { temperature: 0, yieldEogToken: true })) if (++k > NEW) break;
        } finally {
          await ctx.dispose();
        }
        return now() - t0;
      };
      await oursFirst(); await oursFirst(); // warm-up
      labelNew('ours');
      let lastLlama = await llamaRun();
      await llamaRun(1);
      labelNew('llama');
      const big = Tensor.allocate([128 << 20], 'float32', -1, false);
      sumScaled(big, 1).dispose();
      const conds = [
        ['steady', async () => { await oursFirst(); return oursFirst(); }],
        ['after-llama', async () => { lastLlama = await llamaRun(); return oursFirst(); }],
        ['after-llama1', async () => { await llamaRun(1); return oursFirst(); }],
        ['after-idle', async () => { await sleep(lastLlama); return oursFirst(); }],
        ['after-evict', async () => { sumScaled(big, 1).dispose(); return oursFirst(); }],
      ].filter(([c]) => only.length === 0 || only.includes(c));
      const res = Object.fromEntries(conds.map(([c]) => [c, []]));
      for (let r = 0; r < reps; r++) {
        for (const [c, f] of r % 2 === 0 ? conds : [...conds].reverse()) res[c].push(await f());
      }
      for (const [c, xs] of Object.entries(res)) {
        const w = xs.map((x) => x.wall), cpu = median(xs.map((x) => x.cpu)), wm = median(w);
        const per = new Map();
        for (const x of xs) for (const [k, v] of x.per) per.set(k, [...(per.get(k) ?? []), v]);
        const top = [...per].map(([k, v]) => [k, median(v)]).sort((a, b) => b[1] - a[1]).slice(0, 4).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
        const labels = [...new Set(xs.flatMap((x) => Object.keys(x.th)))].sort();
        const th = labels.map((l) => [l, median(xs.map((x) => x.th[l] ?? 0))]).filter(([, v]) => v >= 0.005).map(([l, v]) => `${l} ${v.toFixed(1)}`).join(', ');
        console.log(`| ${name} | ${prec} | ${c} | ${wm.toFixed(2)} (${Math.min(...w).toFixed(2)}–${Math.max(...w).toFixed(2)}) | ${(PROMPT_LEN / wm * 1e3).toFixed(0)} | ${cpu.toFixed(1)} | ${(cpu / wm).toFixed(2)} | ${th} | ${median(xs.map((x) => x.nat)).toFixed(2)} | ${top} |`);
      }
      big.dispose();
      await lm.dispose();
      ours.dispose();
      rmSync(file, { force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log(`# OpenBLAS: ${JSON.stringify(blasState())}; load after ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
await llama.dispose();
