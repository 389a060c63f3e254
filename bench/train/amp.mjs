// CPU training throughput: precision amp_bf16 (bf16 GEMM operands, fp32 accumulation) vs our
// float32 path, in one process, steps alternated (fp32, amp avx512bf16, amp avx2, …) so machine
// load hits all variants alike; medians. Records uptime (load) and lscpu model / bf16 flags.
//   node bench/train/amp.mjs [--config tiny|small] [--steps 5]   (built dist; writes bench/train/AMP_RESULTS.md)
import { execSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OLMo, OLMoConfig } from '@olmo/model';
import { Generator, gemmBf16Isa, tidy, withAutocast } from '@olmo/tensor-cuda';
import { AdamW, clipGradNorm, microbatchLoss, namedParameters } from '@olmo/trainer';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (k, d) => { const i = process.argv.indexOf(`--${k}`); return i > 0 ? process.argv[i + 1] : d; };
const name = arg('config', 'tiny'), STEPS = Number(arg('steps', 5));
const { cfg, B, T } = { tiny: { cfg: OLMoConfig.tiny({ clip_qkv: null }), B: 8, T: 256 }, small: { cfg: OLMoConfig.small({ clip_qkv: null }), B: 4, T: 512 } }[name];
const sh = (c) => { try { return execSync(c, { encoding: 'utf8' }).trim(); } catch { return '?'; } };
const lscpu = sh("lscpu | grep -E 'Model name|^CPU\\(s\\)'").replace(/\s+/g, ' ');
const flags = sh("grep -o -w -E 'avx512_bf16|avx512f|avx2' /proc/cpuinfo | sort -u | tr '\\n' ' '");
const load0 = sh('uptime');

const model = OLMo.init(cfg, { seed: 1 });
model.flatGrads();
model.enableComputeCopies(); // what the Trainer does under amp_bf16 (used only inside the autocast)
const params = namedParameters(model);
const opt = new AdamW(params, { lr: 4e-4, betas: [0.9, 0.95], eps: 1e-5, weightDecay: 0.1 });
const g = new Generator(2);
const ids = Int32Array.from({ length: B * T }, () => g.nextU32() % cfg.vocab_size);
const now = () => Number(process.hrtime.bigint()) / 1e9;
function step(variant) {
  if (variant === 'amp_bf16 (avx2 path)') process.env.OLMO_CPU_GEMM_BF16 = 'avx2'; else delete process.env.OLMO_CPU_GEMM_BF16;
  const t0 = now();
  if (variant !== 'fp32') model.refreshComputeCopies();
  model.zeroGrad();
  withAutocast(variant === 'fp32' ? null : 'bfloat16', () => tidy(() => { microbatchLoss(model, ids, B, T, { normalizer: B * (T - 1) }).ceLoss.backward(); }));
  clipGradNorm(params.map((p) => p.param), 1.0);
  opt.step();
  return now() - t0;
}
const variants = ['fp32', 'amp_bf16'];
delete process.env.OLMO_CPU_GEMM_BF16;
if (gemmBf16Isa() === 'avx512bf16') variants.push('amp_bf16 (avx2 path)');
const times = Object.fromEntries(variants.map((v) => [v, []]));
for (const v of variants) step(v); // warm-up
for (let s = 0; s < STEPS; s++) for (const v of variants) times[v].push(step(v));
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load1 = sh('uptime');
const rows = variants.map((v) => `| ${v} | ${med(times[v]).toFixed(3)} | ${((B * T) / med(times[v])).toFixed(0)} | ${(med(times.fp32) / med(times[v])).toFixed(2)}× | ${times[v].map((x) => x.toFixed(2)).join(' ')} |`);
const md = `# bench/train: amp_bf16 vs float32 on CPU

${new Date().toISOString()} · ${lscpu} · flags: ${flags}
config ${name} (B ${B}, T ${T}) · ${STEPS} alternated steps per variant after one warm-up each · OMP_NUM_THREADS=${process.env.OMP_NUM_THREADS ?? 'unset'}
load before: \`${load0}\`
load after:  \`${load1}\`

| variant | median step (s) | tokens/s | speed-up vs fp32 | all steps (s) |
|---|---|---|---|---|
${rows.join('\n')}

Command: \`node bench/train/amp.mjs --config ${name} --steps ${STEPS}\` (after \`npx turbo run build\`).
The machine is shared: compare only within one run, and read the load line.
`;
console.log(md);
writeFileSync(path.join(here, 'AMP_RESULTS.md'), md);
opt.dispose(); model.dispose();
