// A/B of a change's cost on the CPU amp_bf16 training step, across two checkouts: fp32 and amp_bf16
// steps (tiny preset, B 8, T 256, forward + backward) alternated in one process; prints the medians and
// the amp/fp32 CPU-time ratio, which the machine's load affects far less than wall time.
//   git worktree add --detach /tmp/base <commit>   (link node_modules, build its dist; the addon may be shared)
//   for i in 1 2; do for r in /tmp/base $PWD; do node bench/train/amp-ab.mjs $r; done; done
const root = process.argv[2] ?? process.cwd();
const { OLMo, OLMoConfig } = await import(`${root}/packages/model/dist/index.js`);
const { tensor, tidy, withAutocast } = await import(`${root}/packages/tensor-cuda/dist/index.js`);
const cfg = OLMoConfig.tiny({ clip_qkv: null }), B = 8, T = 256, STEPS = 3;
const model = OLMo.init(cfg, { seed: 1 });
model.flatGrads(); model.enableComputeCopies();
const ids = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => (b * 7919 + t * 104729) % cfg.vocab_size));
function step(amp) {
  const c0 = process.cpuUsage(), t0 = process.hrtime.bigint();
  if (amp) model.refreshComputeCopies();
  model.zeroGrad();
  withAutocast(amp ? 'bfloat16' : null, () => tidy(() => { const { loss } = model.forward(ids, { labels: ids }); loss.backward(); }));
  const c = process.cpuUsage(c0);
  return { wall: Number(process.hrtime.bigint() - t0) / 1e9, cpu: (c.user + c.system) / 1e6 };
}
step(false); step(true);
const r = { fp32: [], amp: [] };
for (let s = 0; s < STEPS; s++) { r.fp32.push(step(false)); r.amp.push(step(true)); }
const med = (xs, k) => xs.map((x) => x[k]).sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(JSON.stringify({ root, fp32_wall: med(r.fp32, 'wall'), amp_wall: med(r.amp, 'wall'), fp32_cpu: med(r.fp32, 'cpu'), amp_cpu: med(r.amp, 'cpu'), amp_over_fp32_cpu: med(r.amp, 'cpu') / med(r.fp32, 'cpu') }));
