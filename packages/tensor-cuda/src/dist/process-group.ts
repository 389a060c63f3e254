/**
 * ProcessGroup: collectives over tensors with three backends —
 *   'local' (world size 1, zero cost), 'mpi' (OpenMPI: host tensors; also the launcher, `mpirun`),
 *   'nccl' (CUDA tensors; libnccl loaded at run time, unique id broadcast over MPI).
 * The backend follows the launcher's environment (OMPI_COMM_WORLD_SIZE, PMI_SIZE, …) unless given.
 * Non-blocking calls return a Work handle so communication can overlap compute.
 */
import { DTYPE_BYTES, DTYPE_CODE } from '../dtype.js';
import { OlmoError } from '../errors.js';
import { call, native } from '../native.js';
import { scaleInPlace, copyInto } from '../ops/elementwise.js';
import type { Tensor } from '../tensor.js';

export type ReduceOp = 'sum' | 'avg' | 'max' | 'min';
export type Backend = 'local' | 'mpi' | 'nccl';

const OP_CODE: Record<Exclude<ReduceOp, 'avg'>, number> = { sum: 0, max: 1, min: 2 };
const BACKEND_CODE = { mpi: 0, nccl: 1 } as const;

export class DistributedError extends OlmoError {
  constructor(message: string, hint = 'check the output of the other ranks') {
    super('DISTRIBUTED_ERROR', message, hint);
  }
}

/** A pending collective. wait() completes it (and applies the avg scaling); test() polls.
 * Time blocked in wait() is added to the collective's stats (so `seconds` counts issue + waiting:
 * the communication time not hidden behind compute). */
export class Work {
  private done = false;
  constructor(private readonly request: number, private readonly finish: () => void = () => {}, private readonly onWait: (seconds: number) => void = () => {}) {
    if (request === 0) this.complete();
  }
  private complete(): void {
    if (this.done) return;
    this.done = true;
    this.finish();
  }
  wait(): void {
    if (this.done) return;
    const t0 = performance.now();
    call((n) => n.distWait(this.request));
    this.onWait((performance.now() - t0) / 1000);
    this.complete();
  }
  test(): boolean {
    if (this.done) return true;
    if (call((n) => n.distTest(this.request))) {
      this.complete();
      return true;
    }
    return false;
  }
}

/** Communication counters (bytes and seconds per collective), for reports and benchmarks. */
export interface CommStats {
  calls: number;
  bytes: number;
  seconds: number;
}

/** World size and rank from a launcher's environment (OpenMPI, PMI/Slurm, torchrun-style). */
export function launcherEnv(env = process.env): { rank: number; worldSize: number; launcher: string } | null {
  const pairs: Array<[string, string, string]> = [
    ['OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE', 'openmpi'],
    ['PMI_RANK', 'PMI_SIZE', 'pmi'],
    ['PMIX_RANK', 'OMPI_COMM_WORLD_SIZE', 'pmix'],
  ];
  for (const [r, s, name] of pairs) {
    if (env[r] !== undefined && env[s] !== undefined) return { rank: Number(env[r]), worldSize: Number(env[s]), launcher: name };
  }
  return null;
}

let current: ProcessGroup | null = null;

/** Copies input's elements into out (same element count, both contiguous). */
function copyFlat(out: Tensor, input: Tensor): void {
  const o = out._view([out.size], out.offset), i = input._view([input.size], input.offset);
  try {
    copyInto(o, i);
  } finally {
    o.dispose();
    i.dispose();
  }
}

export class ProcessGroup {
  readonly stats: Record<'allReduce' | 'allGather' | 'reduceScatter' | 'broadcast', CommStats> = {
    allReduce: { calls: 0, bytes: 0, seconds: 0 },
    allGather: { calls: 0, bytes: 0, seconds: 0 },
    reduceScatter: { calls: 0, bytes: 0, seconds: 0 },
    broadcast: { calls: 0, bytes: 0, seconds: 0 },
  };

  private constructor(readonly backend: Backend, readonly rank: number, readonly worldSize: number) {}

  /**
   * Creates (once per process) the group. backend: explicit, or 'mpi' when launched by mpirun with
   * more than one rank (or when `mpi: true`), else 'local'. 'nccl' also initialises MPI for the id.
   */
  static init(opts: { backend?: Backend; cudaDevice?: number } = {}): ProcessGroup {
    if (current) return current;
    const env = launcherEnv();
    const backend: Backend = opts.backend ?? (env && env.worldSize > 1 ? 'mpi' : 'local');
    if (backend === 'local') {
      current = new ProcessGroup('local', 0, 1);
      return current;
    }
    const info = native().distInfo() as { mpiCompiled: boolean; ncclAvailable: boolean; ncclWhy: string };
    if (backend === 'nccl' && !(env && env.worldSize > 1)) {
      // A single GPU process needs no MPI: NCCL makes its own unique id.
      if (!info.ncclAvailable) throw new DistributedError(`NCCL unavailable: ${info.ncclWhy}`, 'set OLMO_NCCL_PATH or use backend "mpi"');
      call((n) => n.ncclInit(0, 1, opts.cudaDevice ?? 0));
      current = new ProcessGroup('nccl', 0, 1);
      return current;
    }
    if (!info.mpiCompiled) {
      throw new DistributedError('the native addon was built without MPI', 'apt-get install -y libopenmpi-dev openmpi-bin, then rebuild @olmo/tensor-cuda (npm run build -w @olmo/tensor-cuda)');
    }
    const { rank, size } = call((n) => n.mpiInit()) as { rank: number; size: number };
    if (backend === 'nccl') {
      if (!info.ncclAvailable) throw new DistributedError(`NCCL unavailable: ${info.ncclWhy}`, 'set OLMO_NCCL_PATH or use backend "mpi"');
      call((n) => n.ncclInit(rank, size, opts.cudaDevice ?? 0));
    }
    current = new ProcessGroup(backend, rank, size);
    // A rank that dies on an exception takes the job down at once (mpirun reports which rank)
    // instead of leaving its peers blocked in a collective.
    if (size > 1) {
      process.on('uncaughtException', (e) => {
        console.error(`[rank ${rank}] fatal: ${e instanceof Error ? e.stack : e}`);
        native().mpiAbort(1);
      });
    }
    return current;
  }

  /** The group created by init(), or a local one. */
  static get(): ProcessGroup {
    return current ?? ProcessGroup.init({ backend: 'local' });
  }

  get isDistributed(): boolean {
    return this.worldSize > 1;
  }

  private code(): number {
    return BACKEND_CODE[this.backend as 'mpi' | 'nccl'];
  }

  private timed<T>(kind: keyof ProcessGroup['stats'], bytes: number, fn: () => T): T {
    const t0 = performance.now();
    const r = fn();
    const s = this.stats[kind];
    s.calls++;
    s.bytes += bytes;
    s.seconds += (performance.now() - t0) / 1000;
    return r;
  }

  private waited(kind: keyof ProcessGroup['stats']): (seconds: number) => void {
    return (seconds) => { this.stats[kind].seconds += seconds; };
  }

  private static contiguous(t: Tensor, what: string): void {
    t.assertAlive(what);
    if (!t.isContiguous) throw new DistributedError(`${what} must be contiguous`, 'call .contiguous() first');
  }

  /** In-place all-reduce of t across ranks. */
  allReduce(t: Tensor, op: ReduceOp = 'sum', opts: { async?: boolean } = {}): Work {
    ProcessGroup.contiguous(t, 'allReduce tensor');
    if (this.backend === 'local') return new Work(0);
    const finish = op === 'avg' ? () => scaleInPlace(t, 1 / this.worldSize) : undefined;
    const req = this.timed('allReduce', t.size * DTYPE_BYTES[t.dtype], () =>
      call((n) => n.allReduce(this.code(), t.buf, t.byteOffset, t.size, DTYPE_CODE[t.dtype], OP_CODE[op === 'avg' ? 'sum' : op], !!opts.async)) as number);
    return new Work(req, finish, this.waited('allReduce'));
  }

  /** out[r * n : (r+1) * n] = input of rank r, with n = input.size and out.size = worldSize * n. */
  allGather(out: Tensor, input: Tensor, opts: { async?: boolean } = {}): Work {
    ProcessGroup.contiguous(out, 'allGather output');
    ProcessGroup.contiguous(input, 'allGather input');
    if (out.size !== input.size * this.worldSize) throw new DistributedError(`allGather: output has ${out.size} elements, expected ${input.size} × ${this.worldSize}`, 'size the output as worldSize × input');
    if (this.backend === 'local') { copyFlat(out, input); return new Work(0); }
    const req = this.timed('allGather', out.size * DTYPE_BYTES[out.dtype], () =>
      call((n) => n.allGather(this.code(), input.buf, input.byteOffset, out.buf, out.byteOffset, input.size, DTYPE_CODE[input.dtype], !!opts.async)) as number);
    return new Work(req, undefined, this.waited('allGather'));
  }

  /** out (n elements) = reduction over ranks of input[rank * n : (rank+1) * n]. */
  reduceScatter(out: Tensor, input: Tensor, op: ReduceOp = 'sum', opts: { async?: boolean } = {}): Work {
    ProcessGroup.contiguous(out, 'reduceScatter output');
    ProcessGroup.contiguous(input, 'reduceScatter input');
    if (input.size !== out.size * this.worldSize) throw new DistributedError(`reduceScatter: input has ${input.size} elements, expected ${out.size} × ${this.worldSize}`, 'size the input as worldSize × output');
    if (this.backend === 'local') { copyFlat(out, input); return new Work(0); }
    const finish = op === 'avg' ? () => scaleInPlace(out, 1 / this.worldSize) : undefined;
    const req = this.timed('reduceScatter', input.size * DTYPE_BYTES[input.dtype], () =>
      call((n) => n.reduceScatter(this.code(), input.buf, input.byteOffset, out.buf, out.byteOffset, out.size, DTYPE_CODE[out.dtype], OP_CODE[op === 'avg' ? 'sum' : op], !!opts.async)) as number);
    return new Work(req, finish, this.waited('reduceScatter'));
  }

  broadcast(t: Tensor, root = 0, opts: { async?: boolean } = {}): Work {
    ProcessGroup.contiguous(t, 'broadcast tensor');
    if (this.backend === 'local') return new Work(0);
    const req = this.timed('broadcast', t.size * DTYPE_BYTES[t.dtype], () =>
      call((n) => n.broadcast(this.code(), t.buf, t.byteOffset, t.size, DTYPE_CODE[t.dtype], root, !!opts.async)) as number);
    return new Work(req);
  }

  barrier(): void {
    if (this.worldSize > 1) call((n) => n.mpiBarrier());
  }

  /** All-reduce of plain numbers (losses, flags, counts) through a small host buffer (MPI). */
  allReduceNumbers(values: readonly number[], op: ReduceOp = 'sum'): number[] {
    if (this.worldSize === 1 || values.length === 0) return [...values];
    const n = native();
    const buf = new n.NativeBuffer(values.length * 4, -1, false);
    try {
      buf.write(0, Float32Array.from(values));
      call((m) => m.allReduce(0, buf, 0, values.length, DTYPE_CODE.float32, OP_CODE[op === 'avg' ? 'sum' : op], false));
      const out = Array.from(new Float32Array(buf.read(0, values.length * 4)));
      return op === 'avg' ? out.map((v) => v / this.worldSize) : out;
    } finally {
      buf.free();
    }
  }

  /** Every rank learns whether any rank raised the flag (stopping agreement). */
  any(flag: boolean): boolean {
    return this.allReduceNumbers([flag ? 1 : 0], 'max')[0]! > 0;
  }

  destroy(): void {
    if (this.backend === 'nccl') call((n) => n.ncclDestroy());
    if (this.backend !== 'local') call((n) => n.mpiFinalize());
    if (current === this) current = null;
  }
}
