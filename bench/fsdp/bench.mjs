// bench/fsdp: FSDP training throughput (W = 1 vs W = 2, same run, interleaved repeats), communication
// time per step (ProcessGroup stats → dist/comm_seconds), and all-gather / reduce-scatter bandwidth
// of ProcessGroup vs a raw MPI C loop (mpi_coll.c) at the FSDP unit sizes of the tiny config.
// usage: node bench/fsdp/bench.mjs [--repeats 3] [--steps 12] [--out bench/fsdp/results.json]
//        [--variants 1,1-fsdp,2,2-blocking] [--no-collectives]
// '2' runs FSDP with the collectives overlapped (default: prefetched all-gathers, reduce-scatters in
// flight); '2-blocking' the same with OLMO_FSDP_OVERLAP=0.
// Needs: built dist (npx turbo run build), mpirun + mpicc (openmpi-bin, libopenmpi-dev).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '../..');
const { values } = parseArgs({ options: { repeats: { type: 'string', default: '3' }, steps: { type: 'string', default: '12' }, out: { type: 'string', default: join(root, 'bench/fsdp/results.json') }, variants: { type: 'string', default: '1,1-fsdp,2' }, 'no-collectives': { type: 'boolean', default: false } } });
const variants = values.variants.split(',');
const R = Number(values.repeats), steps = Number(values.steps);
const work = mkdtempSync(join(tmpdir(), 'olmo-bench-fsdp-'));
const mpi = ['--allow-run-as-root', '--oversubscribe'];
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};

// --- data: a token file (vocab < 4096) for the tiny preset
const toks = new Uint16Array(64 * 1024);
let s = 7;
for (let i = 0; i < toks.length; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; toks[i] = (s >>> 20) % 4000; }
writeFileSync(join(work, 'tokens.npy'), Buffer.from(toks.buffer));

// --- 1. training throughput: tiny preset (d 128, 4 layers, vocab 4096), seq 64, batch 8, microbatch 4
const over = [`--max_duration=${steps}`, '--global_train_batch_size=8', '--device_train_microbatch_size=4', '--model.max_sequence_length=64',
  '--time_limit=null', '--save_interval=null', '--eval_interval=null', '--progress=false', '--console_log_interval=1000', '--speed_monitor.window_size=1000', `--data.paths=[${join(work, 'tokens.npy')}]`];
// variants: '1' = one process (plain trainer), '1-fsdp' = FSDP code path at W = 1 (recomputation, no
// communication), '2' = FSDP over MPI with 2 ranks
const train = Object.fromEntries(variants.map((v) => [v, []]));
for (let r = 0; r < R; r++) for (const V of variants) {
  const W = V.startsWith('2') ? 2 : 1;
  const save = join(work, `w${V}-${r}`);
  const t0 = performance.now();
  run('mpirun', [...mpi, '-np', String(W), '-x', `OLMO_FSDP_OVERLAP=${V === '2-blocking' ? 0 : 1}`, process.execPath, 'packages/trainer/dist/bin.js', 'train', 'configs/tiny.yaml', ...over, `--save_folder=${save}`, ...(V === '1-fsdp' ? ['--fsdp.wrapping_strategy=by_block'] : [])]);
  const wall = (performance.now() - t0) / 1000;
  const m = readFileSync(join(save, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const last = m.at(-1);
  const comm = W > 1 ? median(m.slice(1).map((x) => x['dist/comm_seconds'])) : 0;
  const commBytes = W > 1 ? median(m.slice(1).map((x) => x['dist/comm_bytes'])) : 0;
  const global = last['throughput/total/tokens_per_second'] ?? last['throughput/device/tokens_per_second'];
  train[V].push({ tokensPerSecond: global, deviceTokensPerSecond: last['throughput/device/tokens_per_second'], stepSeconds: 1 / last['throughput/device/batches_per_second'], commSecondsPerStep: comm, commBytesPerStep: commBytes, wall, finalLoss: last['train/CrossEntropyLoss'] });
  console.log(`train ${V} repeat ${r}: ${global.toFixed(0)} tokens/s (global), comm ${(comm * 1000).toFixed(1)} ms/step, load ${loadavg()[0].toFixed(1)}`);
}

// --- 2. collectives: the tiny preset's FSDP units (by_block): one block, the embedding (root) unit
const d = 128, hidden = 512, V = 4096;
const sizes = [d * d * 4 + 3 * d * hidden, V * d, 16384];
if (!values['no-collectives']) run('mpicc', ['-O2', '-o', join(work, 'mpi_coll'), join(root, 'bench/fsdp/mpi_coll.c')]);
const coll = { 'mpi-c': [], 'olmo-ts': [] };
const collRuns = values['no-collectives'] ? 0 : Math.max(5, R);
// alternating runs, 50 calls each; best-of (min time) is the overhead estimate, medians are kept too.
// One OpenMP thread per rank on both sides (idle OpenMP threads spinning next to MPI's polling on 2 cores distort timings).
for (let r = 0; r < collRuns; r++) {
  for (const l of run('mpirun', [...mpi, '-np', '2', '-x', 'OMP_NUM_THREADS=1', join(work, 'mpi_coll'), '50', ...sizes.map(String)]).trim().split('\n')) coll['mpi-c'].push(JSON.parse(l));
  for (const l of run('mpirun', [...mpi, '-np', '2', '-x', 'OMP_NUM_THREADS=1', process.execPath, 'bench/fsdp/coll.mjs', '50', ...sizes.map(String)]).split('\n').filter((x) => x.startsWith('{'))) coll['olmo-ts'].push(JSON.parse(l));
}
const collSummary = collRuns === 0 ? [] : sizes.map((n) => {
  const rows = (impl) => coll[impl].filter((x) => x.elements === Math.ceil(n / 2) * 2);
  const pick = (impl, k) => (k.endsWith('Seconds') ? Math.min(...rows(impl).map((x) => x[k])) : Math.max(...rows(impl).map((x) => x[k])));
  const med = (impl, k) => median(rows(impl).map((x) => x[k]));
  const row = { elements: n, bytes: n * 4 };
  for (const impl of ['mpi-c', 'olmo-ts']) row[impl] = { allGatherSeconds: pick(impl, 'allGatherSeconds'), reduceScatterSeconds: pick(impl, 'reduceScatterSeconds'), allGatherGBps: pick(impl, 'allGatherBytesPerSec') / 1e9, reduceScatterGBps: pick(impl, 'reduceScatterBytesPerSec') / 1e9, medianAllGatherSeconds: med(impl, 'allGatherSeconds'), medianReduceScatterSeconds: med(impl, 'reduceScatterSeconds') };
  row.overheadAllGather = row['olmo-ts'].allGatherSeconds / row['mpi-c'].allGatherSeconds;
  row.overheadReduceScatter = row['olmo-ts'].reduceScatterSeconds / row['mpi-c'].reduceScatterSeconds;
  return row;
});
const summary = {
  date: new Date().toISOString(), cpus: cpus().length, cpuModel: cpus()[0]?.model, loadavg: loadavg(), repeats: R, steps,
  train: Object.fromEntries(variants.map((W) => [W, { runs: train[W], medianTokensPerSecond: median(train[W].map((x) => x.tokensPerSecond)), medianCommSecondsPerStep: median(train[W].map((x) => x.commSecondsPerStep)), medianStepSeconds: median(train[W].map((x) => x.stepSeconds)) }])),
  collectives: collSummary,
};
writeFileSync(values.out, JSON.stringify(summary, null, 1) + '\n');
console.log(JSON.stringify({ train: Object.fromEntries(variants.map((v) => [v, { tokensPerSecond: summary.train[v].medianTokensPerSecond, stepSeconds: summary.train[v].medianStepSeconds, commPerStep: summary.train[v].medianCommSecondsPerStep }])), collectives: collSummary }, null, 1));
rmSync(work, { recursive: true, force: true });
