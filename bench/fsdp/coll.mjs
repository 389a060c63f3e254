// The same loop as mpi_coll.c through @olmo/tensor-cuda's ProcessGroup (tensors in, Work.wait()).
// usage: mpirun -np W node bench/fsdp/coll.mjs ITERS N1 [N2 ...]
import { ProcessGroup, zeros, tensor } from '@olmo/tensor-cuda';

const pg = ProcessGroup.init();
const [iters, ...sizes] = process.argv.slice(2).map(Number);
for (const full of sizes) {
  const shard = Math.ceil(full / pg.worldSize), padded = shard * pg.worldSize;
  const src = tensor(Float32Array.from({ length: padded }, (_, i) => (i % 97) * 0.01));
  const out = zeros([padded]), part = zeros([shard]);
  const mine = src.slice(0, pg.rank * shard, (pg.rank + 1) * shard).contiguous();
  pg.allGather(out, mine).wait();
  pg.reduceScatter(part, src, 'sum').wait();
  pg.barrier();
  let t0 = performance.now();
  for (let i = 0; i < iters; i++) pg.allGather(out, mine).wait();
  const ag = (performance.now() - t0) / 1000 / iters;
  pg.barrier();
  t0 = performance.now();
  for (let i = 0; i < iters; i++) pg.reduceScatter(part, src, 'sum').wait();
  const rs = (performance.now() - t0) / 1000 / iters;
  if (pg.rank === 0) console.log(JSON.stringify({ impl: 'olmo-ts', world: pg.worldSize, elements: padded, allGatherSeconds: ag, reduceScatterSeconds: rs, allGatherBytesPerSec: (padded * 4) / ag, reduceScatterBytesPerSec: (padded * 4) / rs }));
  for (const t of [src, out, part, mine]) t.dispose();
}
pg.destroy();
