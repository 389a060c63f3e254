// Run under mpirun by process-group.test.ts: every collective on uneven data, checked against the
// closed form on every rank. Prints one JSON line per rank.
import { ProcessGroup, tensor, zeros, noGrad } from '../../dist/index.js';

const pg = ProcessGroup.init();
const { rank, worldSize: W } = pg;
const fail = (msg) => { console.error(`[rank ${rank}] ${msg}`); process.exit(3); };
const eq = (a, b, what) => { for (let i = 0; i < b.length; i++) if (Math.abs(a[i] - b[i]) > 1e-5) fail(`${what}[${i}] = ${a[i]}, expected ${b[i]}`); };

noGrad(() => {
  const n = 7; // not a multiple of anything
  const mine = Array.from({ length: n }, (_, i) => rank * 100 + i);
  // allReduce sum / avg / max (sync and async)
  const t = tensor(mine);
  pg.allReduce(t, 'sum').wait();
  eq(t.toFloat32Array(), mine.map((_, i) => Array.from({ length: W }, (_, r) => r * 100 + i).reduce((a, b) => a + b)), 'sum');
  const a = tensor(mine);
  const work = pg.allReduce(a, 'avg', { async: true });
  work.wait();
  eq(a.toFloat32Array(), mine.map((_, i) => (100 * (W - 1)) / 2 + i), 'avg');
  const m = tensor(mine);
  pg.allReduce(m, 'max').wait();
  eq(m.toFloat32Array(), mine.map((_, i) => (W - 1) * 100 + i), 'max');
  // allGather
  const out = zeros([W * n]);
  pg.allGather(out, tensor(mine), { async: true }).wait();
  eq(out.toFloat32Array(), Array.from({ length: W * n }, (_, k) => Math.floor(k / n) * 100 + (k % n)), 'allGather');
  // reduceScatter: input k-th chunk of rank r = r + k
  const input = tensor(Array.from({ length: W * n }, (_, k) => rank + Math.floor(k / n)));
  const shard = zeros([n]);
  pg.reduceScatter(shard, input, 'sum').wait();
  eq(shard.toFloat32Array(), Array(n).fill((W * (W - 1)) / 2 + W * rank), 'reduceScatter');
  // broadcast from the last rank
  const b = tensor(mine);
  pg.broadcast(b, W - 1).wait();
  eq(b.toFloat32Array(), mine.map((_, i) => (W - 1) * 100 + i), 'broadcast');
  const nums = pg.allReduceNumbers([rank, 1], 'sum');
  eq(nums, [(W * (W - 1)) / 2, W], 'numbers');
  if (pg.any(rank === W - 1) !== true) fail('any() missed the flag');
  pg.barrier();
});
console.log(JSON.stringify({ rank, worldSize: W, backend: pg.backend, ok: true, stats: pg.stats.allReduce }));
pg.destroy();
