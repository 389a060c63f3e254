#!/usr/bin/env node
// End-to-end prefill A/B of two addon builds (e.g. this branch vs main): the GGUF bench's prefill
// (batch 1, --prompt tokens, KV cache, last-position logits only, as generate() asks for them) in a
// fresh child process per addon (OLMO_NATIVE_PATH), the addons alternated round by round (order
// reversed every round) so both see the same machine state. With --evict-mb N each prefill starts
// after streaming N MiB through the caches (a float32 sum), so the weights come from memory as in
// the bench, where llama.cpp's run sits between two of ours; 0 = warm caches (prefill-profile's
// steady state). Per config and precision: median (min–max) over rounds of each child's median
// wall ms and process CPU ms (all threads: less sensitive to a loaded machine), and the median (min–max) of the per-round ratios first / second addon (> 1: the second
// is faster).
//
// Usage: npm run build, then
//   node bench/model/prefill-ab.mjs --addons /tmp/base.node,packages/tensor-cuda/build/Release/olmo_native.node
//     [--configs tiny,small] [--precisions q8_0,bf16] [--rounds 7] [--reps 9] [--prompt 32] [--evict-mb 512]
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i >= 0 ? process.argv[i + 1] : d; };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const range = (xs, d = 2) => `${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)}`;
const P = Number(arg('prompt', 32)), reps = Number(arg('reps', 9)), evictMb = Number(arg('evict-mb', 512));
const configs = arg('configs', 'tiny,small').split(','), precisions = arg('precisions', 'q8_0,bf16').split(',');
const OPTS = { f32: { requiresGrad: false }, bf16: { dtype: 'bfloat16' }, q8_0: { dtype: 'bfloat16', quantize: 'q8_0' } };

if (process.argv.includes('--child')) {
  const { noGrad, tensor, sumScaled } = await import('../../packages/tensor-cuda/dist/index.js');
  const { OLMo, OLMoConfig } = await import('../../packages/model/dist/index.js');
  const out = {};
  const evict = evictMb > 0 ? tensor(new Float32Array((evictMb << 20) / 4).fill(1), { shape: [(evictMb << 20) / 4] }) : null;
  for (const name of configs) for (const prec of precisions) {
    const cfg = OLMoConfig[name]({ clip_qkv: null });
    const m = OLMo.init(cfg, { seed: 1, ...OPTS[prec] });
    const prompt = Array.from({ length: P }, (_, i) => (i * 37 + 11) % cfg.vocab_size);
    const ts = [], cs = []; // wall ms, process CPU ms (all threads)
    for (let r = 0; r < reps + 1; r++) {
      const cache = m.createCache(1, P + 129);
      if (evict) noGrad(() => sumScaled(evict, 1).dispose?.());
      const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
      noGrad(() => { const o = m.forward([prompt], { cache, lastOnly: true }); o.logits.toFloat32Array(); o.logits.dispose(); });
      const t = Number(process.hrtime.bigint() - t0) / 1e6, c = process.cpuUsage(c0);
      cache.dispose();
      if (r > 0) ts.push(t), cs.push((c.user + c.system) / 1e3); // the first is a warm-up (thread team, page faults)
    }
    out[`${name} ${prec}`] = [median(ts), median(cs)];
    m.dispose();
  }
  console.log(JSON.stringify(out));
  process.exit(0);
}

const addons = arg('addons', '').split(',').filter(Boolean);
if (addons.length !== 2) throw new Error('--addons a.node,b.node');
const rounds = Number(arg('rounds', 7));
const self = fileURLToPath(import.meta.url);
const res = addons.map(() => ({})), cpu = addons.map(() => ({}));
const load0 = os.loadavg()[0];
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? [1, 0] : [0, 1];
  for (const a of order) {
    const o = JSON.parse(execFileSync(process.execPath, [self, ...process.argv.slice(2), '--child'], {
      env: { ...process.env, OLMO_NATIVE_PATH: path.resolve(addons[a]) }, maxBuffer: 1 << 20 }).toString().trim().split('\n').pop());
    for (const [k, [w, c]] of Object.entries(o)) (res[a][k] ??= []).push(w), (cpu[a][k] ??= []).push(c);
  }
}
console.log(`# prefill A/B, ${P}-token prompt, ${rounds} alternated rounds x ${reps} prefills, evict ${evictMb} MiB before each, OMP_NUM_THREADS=${process.env.OMP_NUM_THREADS ?? '(default)'}, load ${load0.toFixed(2)} -> ${os.loadavg()[0].toFixed(2)}`);
console.log(`# A = ${addons[0]}, B = ${addons[1]}`);
console.log('| config | weights | A wall ms (min–max) | B wall ms (min–max) | B tok/s | A / B wall per round: median (min–max) | A CPU ms | B CPU ms | A / B CPU per round |\n|---|---|---|---|---|---|---|---|---|');
for (const k of Object.keys(res[0])) {
  const a = res[0][k], b = res[1][k], ratio = a.map((v, i) => v / b[i]);
  const ca = cpu[0][k], cb = cpu[1][k], cratio = ca.map((v, i) => v / cb[i]);
  const [c, p] = k.split(' ');
  console.log(`| ${c} | ${p} | ${median(a).toFixed(2)} (${range(a)}) | ${median(b).toFixed(2)} (${range(b)}) | ${(P / median(b) * 1e3).toFixed(0)} | ${median(ratio).toFixed(2)}× (${range(ratio)}) | ${median(ca).toFixed(2)} (${range(ca)}) | ${median(cb).toFixed(2)} (${range(cb)}) | ${median(cratio).toFixed(2)}× (${range(cratio)}) |`);
}
