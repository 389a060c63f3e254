// Training throughput of olmo-ts on one GPU: tokens/s and MFU for an OLMo preset under amp_bf16.
// Runs the built dist JS (packages/*/dist) with plain node — no node_modules needed beyond the
// @olmo/* links scripts/gpu-check.sh makes — so it runs from the tree carried to a GPU host.
//
//   node bench/gpu-train/train.mjs --model 1B --seq 4096 --mb auto --steps 6 [--ac whole_layer] [--fp32]
//   node bench/gpu-train/train.mjs --model 7B --seq 4096 --mb 1 --steps 1 --ac whole_layer
//   --device cpu --model tiny: a CPU dry run of the same code path (what is verified without a GPU).
//   The loss runs through the fused LM head (OLMo.fusedLoss: no [tokens, V] float32 logits) unless
//   --unfused; --copies keeps bf16 compute copies of the parameters (+2 bytes/param).
//
// One step = forward + backward of one micro-batch of mb×seq tokens + a fused AdamW step over the
// flat float32 master parameters (float32 Adam state). Warm-up steps are excluded from timing.
// MFU = flopsPerToken × tokens/s ÷ peak, flopsPerToken = OLMo's own count (olmo/model.py:
// forward 2·N_non-embedding + 4·L·d·seq, backward 4·N + 8·L·d·seq — @olmo/model flopsPerToken),
// peak = 989e12 (H100/H200 SXM dense bf16; --peak to change). Prints one JSON line per result.
import { OLMo, OLMoConfig, flopsPerToken, countParameters } from '@olmo/model';
import { adamwStep, crossEntropy, cudaAvailable, memoryStats, resetPeakMemory, scale, tensor, tidy, withAutocast, zeros } from '@olmo/tensor-cuda';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : 'true']);
  return acc;
}, []));
const device = args.device ?? 'cuda:0';
if (device !== 'cpu' && !cudaAvailable()) { console.log(JSON.stringify({ error: 'no CUDA device visible (build with nvcc, run on a GPU host)' })); process.exit(2); }
const preset = { '1B': () => OLMoConfig.olmo1B(), '7B': () => OLMoConfig.olmo7B(), tiny: () => OLMoConfig.tiny() }[args.model ?? '1B'];
if (!preset) throw new Error(`--model must be 1B, 7B or tiny, got ${args.model}`);
const seq = Number(args.seq ?? 4096), steps = Number(args.steps ?? 6), warm = Number(args.warmup ?? 2);
const ac = args.ac && args.ac !== 'none' ? args.ac : null;
const amp = args.fp32 ? null : 'bfloat16';
const peak = Number(args.peak ?? 989e12);
const cfg = { ...preset(), max_position_embeddings: Math.max(seq, preset().max_position_embeddings) };
const log = (o) => console.log(JSON.stringify(o));

const t0 = Date.now();
const model = OLMo.init(cfg, { device, seed: 1, fill: args.fill ?? 'tiled' });
const grads = model.flatGrads();
if (args.copies && amp) model.enableComputeCopies();
const P = model.flat.buffer, G = grads.buffer;
const m = zeros(P.shape, { device }), v = zeros(P.shape, { device });
const nParams = countParameters(cfg);
const fpt = flopsPerToken(cfg, seq);
log({ stage: 'init', model: args.model ?? '1B', params: nParams, flopsPerToken: fpt, seconds: (Date.now() - t0) / 1000, device, amp: !!amp, activation_checkpointing: ac, fused_loss: !args.unfused, bf16_copies: !!(args.copies && amp) });

function step(mb, k) {
  const V = cfg.vocab_size;
  const ids = Int32Array.from({ length: mb * seq }, (_, i) => (i * 7919 + k * 104729) % V);
  const tg = new Int32Array(mb * seq);
  for (let i = 0; i < mb * seq; i++) tg[i] = (i + 1) % seq === 0 ? -100 : ids[i + 1];
  model.zeroGrad();
  if (args.copies && amp) model.refreshComputeCopies();
  let loss = 0;
  withAutocast(amp, () => tidy(() => {
    const idsT = tensor(ids, { shape: [mb, seq], dtype: 'int32', device });
    const tgT = tensor(tg, { shape: [mb * seq], dtype: 'int32', device });
    let l;
    if (args.unfused) {
      const { logits } = model.forward(idsT, { activationCheckpointing: ac });
      l = crossEntropy(logits.reshape([mb * seq, cfg.embedding_size]), tgT, { ignoreIndex: -100, reduction: 'sum' }).loss;
    } else l = model.fusedLoss(idsT, tgT, { activationCheckpointing: ac }).loss;
    const norm = scale(l, 1 / (mb * (seq - 1)));
    norm.backward();
    loss = norm.item();
  }));
  adamwStep({ params: [P], grads: [G], expAvg: [m], expAvgSq: [v], lr: [3e-4], weightDecay: [0.1], beta1: 0.9, beta2: 0.95, eps: 1e-5, step: k + 1 });
  return loss;
}

function trial(mb) {
  try { step(mb, 0); return true; } catch (e) {
    if (/OUT_OF_MEMORY|out of memory/i.test(String(e?.code ?? '') + String(e?.message ?? ''))) return false;
    throw e;
  }
}

let mb = args.mb === 'auto' || args.mb === undefined ? null : Number(args.mb);
if (mb === null) {
  // largest power of two that fits (one step each, descending)
  for (const cand of [32, 16, 8, 4, 2, 1]) {
    const ts = Date.now();
    const ok = trial(cand);
    log({ stage: 'fit', mb: cand, fits: ok, seconds: (Date.now() - ts) / 1000 });
    if (ok) { mb = cand; break; }
  }
  if (mb === null) { log({ error: 'micro-batch 1 does not fit' }); process.exit(3); }
}
resetPeakMemory();
const times = [];
let lastLoss = NaN;
for (let k = 0; k < warm + steps; k++) {
  const ts = process.hrtime.bigint();
  lastLoss = step(mb, k + 1); // .item() synchronises the device each step
  const dt = Number(process.hrtime.bigint() - ts) / 1e9;
  if (k >= warm) times.push(dt);
  log({ stage: 'step', k, seconds: dt, loss: lastLoss });
}
times.sort((a, b) => a - b);
const med = times[Math.floor(times.length / 2)];
const tokS = (mb * seq) / med;
const ms = memoryStats();
log({ stage: 'result', model: args.model ?? '1B', seq, microbatch: mb, steps: times.length, median_step_s: med, tokens_per_s: tokS, mfu: (fpt * tokS) / peak,
  mfu_formula: 'flopsPerToken*tokens_per_s/peak', peak_flops: peak, peak_gpu_bytes: ms.cudaPeakBytes, peak_cpu_bytes: ms.cpuPeakBytes, loss: lastLoss, amp: !!amp, activation_checkpointing: ac });
