// Per-GEMM timing behind bench/train/amp.mjs: the three GEMMs of each linear of a training step
// (forward Y = X W^T, dX = dY W, dW = dY^T X) at the tiny / small configs' shapes, float32 sgemm vs
// gemm_bf16 (float32 activations rounded while packing, weight as its bf16 compute copy) on the
// avx512bf16 path and the forced avx2 path; alternated, medians. --cpu times process CPU time instead of wall clock (with
// OMP_NUM_THREADS=1 that is the kernel's own cost, nearly independent of other load on a shared machine).
//   node bench/train/amp-gemm.mjs [--config tiny|small] [--reps 5] [--cpu]
import { OLMoConfig } from '@olmo/model';
import { Generator, empty, gemmBf16Isa, gemmInto, randn, to } from '@olmo/tensor-cuda';

const arg = (k, d) => { const i = process.argv.indexOf(`--${k}`); return i > 0 ? process.argv[i + 1] : d; };
const name = arg('config', 'tiny'), REPS = Number(arg('reps', 5));
const { cfg, B, T } = { tiny: { cfg: OLMoConfig.tiny({ clip_qkv: null }), B: 8, T: 256 }, small: { cfg: OLMoConfig.small({ clip_qkv: null }), B: 4, T: 512 } }[name];
const n = B * T, h = cfg.hidden_size, ff = cfg.intermediate_size, V = cfg.embedding_size;
const g = new Generator(3);
// [label, out-features, in-features, rows, count per step]
const linears = [['qkv/o', h, h, n, 4 * cfg.num_hidden_layers], ['up/gate', ff, h, n, 2 * cfg.num_hidden_layers], ['down', h, ff, n, cfg.num_hidden_layers], ['lm head (chunk)', V, h, Math.min(n, 1024), Math.ceil(n / 1024)]];
const CPU = process.argv.includes('--cpu');
const now = CPU ? () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; } : () => Number(process.hrtime.bigint()) / 1e9;
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const variants = ['fp32', 'bf16'];
if (gemmBf16Isa() === 'avx512bf16') variants.push('bf16 avx2');
console.log(`${name}: ${CPU ? 'CPU time' : 'wall clock'}; OMP_NUM_THREADS=${process.env.OMP_NUM_THREADS ?? 'unset'}; ${variants.join(' / ')}; ms per GEMM (median of ${REPS}), GFLOP/s`);
const tot = Object.fromEntries(variants.map((v) => [v, 0]));
for (const [label, O, I, R, count] of linears) {
  const x = randn([R, I], g), w = randn([O, I], g, { std: 0.02 }), dy = randn([R, O], g);
  const wb = to(w, 'bfloat16');
  const y = empty([R, O]), dx = empty([R, I]), dw = empty([O, I]);
  const gemms = {
    fwd: (p, wt) => gemmInto(y, x, wt, { transB: true, precision: p }),
    dX: (p, wt) => gemmInto(dx, dy, wt, { precision: p }),
    dW: (p) => gemmInto(dw, dy, x, { transA: true, precision: p }),
  };
  for (const [gname, fn] of Object.entries(gemms)) {
    const t = Object.fromEntries(variants.map((v) => [v, []]));
    for (let r = 0; r <= REPS; r++) for (const v of variants) {
      if (v === 'bf16 avx2') process.env.OLMO_CPU_GEMM_BF16 = 'avx2'; else delete process.env.OLMO_CPU_GEMM_BF16;
      const t0 = now();
      if (v === 'fp32') fn('float32', w); else fn('bf16', wb);
      if (r > 0) t[v].push(now() - t0);
    }
    delete process.env.OLMO_CPU_GEMM_BF16;
    const flop = 2 * R * O * I;
    const cells = variants.map((v) => { const m = med(t[v]); tot[v] += m * count; return `${v} ${(m * 1e3).toFixed(1)} ms ${(flop / m / 1e9).toFixed(0)}`; });
    console.log(`${label.padEnd(16)} ${gname.padEnd(3)} [${R}x${O}x${I}] x${count}: ${cells.join(' | ')} | fp32/bf16 ${(med(t.fp32) / med(t.bf16)).toFixed(2)}x`);
  }
  for (const t of [x, w, dy, wb, y, dx, dw]) t.dispose();
}
console.log(`GEMM time per step: ${variants.map((v) => `${v} ${tot[v].toFixed(2)} s`).join(' | ')}`);
