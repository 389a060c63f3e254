#!/usr/bin/env node
// The float32 linears of a 32-token prefill (bench/model's tiny and small configs) as the model runs
// them, A/B against another checkout: in THIS tree q/k/v and gate/up go through linearMulti (one
// native linearF32 call each, the in-place panel GEMM on the work pool), o / down through linear();
// in the baseline tree (--base, e.g. the main checkout, built) every linear is its own linear().
// Each round runs the baseline and this tree in child processes, alternating which goes first
// (a loaded machine's noise lands on both); per tree and group: median wall µs per call and
// GFLOP/s per wall second and per process-CPU second (all threads: a pool spinning shows up).
//
// Usage: node bench/ops/linear-f32.mjs --base /work/main [--rounds 5] [--iters 300] [--configs tiny,small] [--M 32]
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i >= 0 ? process.argv[i + 1] : d; };
const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const M = Number(arg('M', 32)), iters = Number(arg('iters', 300));
const configs = arg('configs', 'tiny,small').split(',');
const DIMS = { tiny: { d: 256, h: 1024 }, small: { d: 512, h: 2048 } };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

if (process.argv.includes('--child')) {
  const root = arg('root', here);
  const tc = await import(path.join(root, 'packages/tensor-cuda/dist/index.js'));
  const { Generator, randn, linear, noGrad } = tc;
  const multi = tc.linearMulti ?? ((x, ws) => ws.map((w) => linear(x, w)));
  const gen = new Generator(1);
  const out = {};
  noGrad(() => {
    for (const name of configs) {
      const { d, h } = DIMS[name];
      const x = randn([M, d], gen), xh = randn([M, h], gen);
      const groups = {
        qkv: [x, [randn([d, d], gen), randn([d, d], gen), randn([d, d], gen)]],
        o: [x, [randn([d, d], gen)]],
        gateup: [x, [randn([h, d], gen), randn([h, d], gen)]],
        down: [xh, [randn([d, h], gen)]],
      };
      for (const [g, [xi, ws]] of Object.entries(groups)) {
        const flop = 2 * M * xi.shape[1] * ws.reduce((s, w) => s + w.shape[0], 0);
        const run = () => { for (const y of (ws.length > 1 ? multi(xi, ws) : [linear(xi, ws[0])])) y.dispose(); };
        for (let i = 0; i < 20; i++) run();
        const walls = [];
        const c0 = process.cpuUsage(), t0 = process.hrtime.bigint();
        for (let b = 0; b < 10; b++) {
          const tb = process.hrtime.bigint();
          for (let i = 0; i < iters / 10; i++) run();
          walls.push(Number(process.hrtime.bigint() - tb) / 1e3 / (iters / 10));
        }
        const wallAll = Number(process.hrtime.bigint() - t0) / 1e3;
        const cu = process.cpuUsage(c0);
        out[`${name} ${g}`] = { us: median(walls), cpuUsPerCall: (cu.user + cu.system) / iters, flop, wallUsPerCall: wallAll / iters };
      }
    }
  });
  console.log(JSON.stringify(out));
  process.exit(0);
}

const base = arg('base', null);
if (!base) throw new Error('--base <checkout> is required (a built tree to compare against)');
const rounds = Number(arg('rounds', 5));
const child = (root) => {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', '--root', root, '--M', String(M), '--iters', String(iters), '--configs', configs.join(',')],
    { encoding: 'utf8', env: process.env, timeout: 600_000 });
  if (r.status !== 0) throw new Error(`child ${root} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
};
const res = { base: [], ours: [] };
const loads = [];
for (let r = 0; r < rounds; r++) {
  loads.push(os.loadavg()[0]);
  const order = r % 2 === 0 ? ['base', 'ours'] : ['ours', 'base'];
  for (const who of order) res[who].push(child(who === 'base' ? base : here));
}
console.log(`# float32 prefill linears, M = ${M}, ${rounds} alternated rounds x ${iters} calls; load (1 min) per round: ${loads.map((l) => l.toFixed(2)).join(' ')}`);
console.log('| shape | base µs (median, range) | ours µs (median, range) | ours/base time per round | base GFLOP/s wall / per CPU-s | ours GFLOP/s wall / per CPU-s |');
console.log('|---|---|---|---|---|---|');
for (const k of Object.keys(res.base[0])) {
  const b = res.base.map((x) => x[k]), o = res.ours.map((x) => x[k]);
  const rng = (xs) => `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
  const ratios = o.map((x, i) => (x.us / b[i].us).toFixed(2));
  const gf = (xs) => `${(xs[0].flop / median(xs.map((x) => x.us)) / 1e3).toFixed(0)} / ${(xs[0].flop / median(xs.map((x) => x.cpuUsPerCall)) / 1e3).toFixed(0)}`;
  console.log(`| ${k} | ${rng(b.map((x) => x.us))} | ${rng(o.map((x) => x.us))} | ${ratios.join(' ')} | ${gf(b)} | ${gf(o)} |`);
}
