// NCCL collectives at world size 1 on cuda:0 (run by scripts/gpu-check.sh on a GPU host; under
// mpirun -np N it checks N GPUs). Prints one JSON line per rank; exits non-zero on a mismatch.
import { ProcessGroup, tensor, zeros } from '../../dist/index.js';

const pg = ProcessGroup.init({ backend: 'nccl', cudaDevice: Number(process.env.OMPI_COMM_WORLD_LOCAL_RANK ?? 0) });
const { rank, worldSize: W } = pg;
const dev = `cuda:${Number(process.env.OMPI_COMM_WORLD_LOCAL_RANK ?? 0)}`;
const fail = (m) => { console.error(`[rank ${rank}] ${m}`); process.exit(3); };
const eq = (a, b, what) => { for (let i = 0; i < b.length; i++) if (Math.abs(a[i] - b[i]) > 1e-5) fail(`${what}[${i}] ${a[i]} != ${b[i]}`); };
const n = 1000;
const mine = Array.from({ length: n }, (_, i) => rank * 10 + i * 0.5);
const t = tensor(mine, { device: dev });
pg.allReduce(t, 'sum').wait();
eq(t.toFloat32Array(), mine.map((_, i) => Array.from({ length: W }, (_, r) => r * 10 + i * 0.5).reduce((a, b) => a + b)), 'allReduce');
const out = zeros([W * n], { device: dev });
pg.allGather(out, tensor(mine, { device: dev })).wait();
eq(out.toFloat32Array(), Array.from({ length: W * n }, (_, k) => Math.floor(k / n) * 10 + (k % n) * 0.5), 'allGather');
const shard = zeros([n], { device: dev });
pg.reduceScatter(shard, tensor(Array.from({ length: W * n }, () => 1), { device: dev }), 'sum').wait();
eq(shard.toFloat32Array(), Array(n).fill(W), 'reduceScatter');
const b = tensor(mine, { device: dev });
pg.broadcast(b, 0).wait();
eq(b.toFloat32Array(), mine.map((_, i) => i * 0.5), 'broadcast');
console.log(JSON.stringify({ rank, worldSize: W, backend: pg.backend, ok: true }));
pg.destroy();
