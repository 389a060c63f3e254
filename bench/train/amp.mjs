// CPU training throughput: precision amp_bf16 (bf16 GEMM operands, fp32 accumulation) vs our
// float32 path, in one process, steps alternated (fp32, amp avx512bf16, amp avx2, PyTorch fp32,
// PyTorch autocast bf16, …) so machine load hits all variants alike; medians. Records uptime (load)
// and lscpu model / bf16 flags. PyTorch (Debian python3-torch, jemalloc preloaded as in bench/train)
// runs the shared anchor model through bench/train/torch_amp.py, one process per round (one warm-up
// step, one timed step); --no-torch leaves it out, and it is left out when torch is not installed.
//   node bench/train/amp.mjs [--config tiny|small] [--steps 5] [--no-torch]   (built dist; writes bench/train/AMP_RESULTS.md)
import { execFileSync, execSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OLMo, OLMoConfig } from '@olmo/model';
import { Generator, gemmBf16Isa, tidy, withAutocast } from '@olmo/tensor-cuda';
import { AdamW, clipGradNorm, microbatchLoss, namedParameters } from '@olmo/trainer';
import { torchEnv } from '../common/machine.mjs';

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
  if (variant.startsWith('PyTorch')) return torchStep(variant === 'PyTorch fp32' ? 'fp32' : 'amp_bf16');
  if (variant === 'amp_bf16 (avx2 path)') process.env.OLMO_CPU_GEMM_BF16 = 'avx2'; else delete process.env.OLMO_CPU_GEMM_BF16;
  const t0 = now();
  if (variant !== 'fp32') model.refreshComputeCopies();
  model.zeroGrad();
  withAutocast(variant === 'fp32' ? null : 'bfloat16', () => tidy(() => { microbatchLoss(model, ids, B, T, { normalizer: B * (T - 1) }).ceLoss.backward(); }));
  clipGradNorm(params.map((p) => p.param), 1.0);
  opt.step();
  return now() - t0;
}
const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const ANCHOR = path.resolve(here, '../../../shared/tools/anchors/torch_olmo_bench.py');
const hasTorch = !process.argv.includes('--no-torch') && existsSync(ANCHOR) && sh(`${PY} -c "import torch; print(1)"`) === '1';
// One PyTorch process: its one timed step (after its own warm-up step).
function torchStep(mode) {
  const out = execFileSync(PY, [path.join(here, 'torch_amp.py'), ANCHOR, name, '1', mode, String(process.env.OMP_NUM_THREADS ?? 2)],
    { encoding: 'utf8', env: torchEnv(Number(process.env.OMP_NUM_THREADS ?? 2)), stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop())[0];
}
const variants = ['fp32', 'amp_bf16'];
delete process.env.OLMO_CPU_GEMM_BF16;
if (gemmBf16Isa() === 'avx512bf16') variants.push('amp_bf16 (avx2 path)');
if (hasTorch) variants.push('PyTorch fp32', 'PyTorch amp_bf16 (autocast)');
const times = Object.fromEntries(variants.map((v) => [v, []]));
for (const v of variants) if (!v.startsWith('PyTorch')) step(v); // warm-up (each PyTorch process warms itself up)
// The order rotates every round, so no variant always runs right after the same neighbour. Our first
// step after a PyTorch process measured 3-6x slower than the others (06:31 and 06:40 UTC 2026-12-05,
// whichever variant it was; the cause not found), so that step runs once untimed first.
let afterTorch = false;
for (let s = 0; s < STEPS; s++) for (let i = 0; i < variants.length; i++) {
  const v = variants[(s + i) % variants.length], isTorch = v.startsWith('PyTorch');
  if (afterTorch && !isTorch) step(v);
  times[v].push(step(v));
  afterTorch = isTorch;
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load1 = sh('uptime');
const vsTorch = (v) => (hasTorch ? ` ${(med(times['PyTorch amp_bf16 (autocast)']) / med(times[v])).toFixed(2)}× |` : '');
const rows = variants.map((v) => `| ${v} | ${med(times[v]).toFixed(3)} | ${((B * T) / med(times[v])).toFixed(0)} | ${(med(times.fp32) / med(times[v])).toFixed(2)}× |${vsTorch(v)} ${times[v].map((x) => x.toFixed(2)).join(' ')} |`);
const md = `# bench/train: amp_bf16 vs float32 on CPU

${new Date().toISOString()} · ${lscpu} · flags: ${flags}
config ${name} (B ${B}, T ${T}) · ${STEPS} alternated steps per variant (order rotated each round; ours re-warmed untimed after a PyTorch process) after one warm-up each · OMP_NUM_THREADS=${process.env.OMP_NUM_THREADS ?? 'unset'}
load before: \`${load0}\`
load after:  \`${load1}\`

| variant | median step (s) | tokens/s | speed-up vs our fp32 |${hasTorch ? ' vs PyTorch autocast bf16 |' : ''} all steps (s) |
|---|---|---|---|${hasTorch ? '---|' : ''}---|
${rows.join('\n')}

Command: \`node bench/train/amp.mjs --config ${name} --steps ${STEPS}${process.argv.includes('--no-torch') ? ' --no-torch' : ''}\` (after \`npx turbo run build\`).
The machine is shared: compare only within one run, and read the load line.
${hasTorch ? `PyTorch ${sh(`${PY} -c "import torch; print(torch.__version__)"`)}: the shared anchor model (untied head, foreach AdamW) via bench/train/torch_amp.py, ${process.env.OMP_NUM_THREADS ?? 2} threads, jemalloc preloaded; amp = torch.autocast('cpu', bfloat16), loss in float32; one process per round (own warm-up step, one timed step).` : 'PyTorch: not run (no torch, or --no-torch).'}
`;
console.log(md);
writeFileSync(path.join(here, 'AMP_RESULTS.md'), md);
opt.dispose(); model.dispose();
