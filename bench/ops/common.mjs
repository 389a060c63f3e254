// Shared helpers for bench/ops: the PyTorch anchor process, medians, fresh-process memory probes.
import { spawn, execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
export const MiB = (b) => (b / 2 ** 20).toFixed(1);
export const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
export const TORCH_ENV = { ...process.env, LD_PRELOAD: 'libjemalloc.so.2' };
export const PY = '/usr/bin/python3'; // Debian python3-torch 1.13 (not a pyenv shim)

/**
 * Seconds taken by fn() (synchronous). BENCH_CPU_TIME=1: this process's CPU seconds instead (user +
 * system, all threads) — with OMP_NUM_THREADS=1 the work itself, unaffected by waiting for a core
 * on a loaded machine.
 */
export function time(fn) {
  if (process.env.BENCH_CPU_TIME === '1') {
    const c0 = process.cpuUsage();
    fn();
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1e6;
  }
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Long-lived torch_ops.py server: request(obj) -> Promise<{times: number[]}>. */
export function torchServer(threads) {
  const child = spawn(PY, [path.join(here, 'torch_ops.py'), '--threads', String(threads)], { env: TORCH_ENV, stdio: ['pipe', 'pipe', 'inherit'] });
  const rl = createInterface({ input: child.stdout });
  const waiting = [];
  rl.on('line', (l) => waiting.shift()?.resolve(JSON.parse(l)));
  child.on('exit', (code) => { for (const w of waiting.splice(0)) w.reject(new Error(`torch_ops.py exited with ${code}`)); });
  return {
    request(obj) {
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        child.stdin.write(JSON.stringify(obj) + '\n');
      });
    },
    close() { child.stdin.end(); },
  };
}

/** Peak-RSS growth of one torch fwd+bwd in a fresh python process. */
export function torchMem(req, threads) {
  const out = execFileSync(PY, [path.join(here, 'torch_ops.py'), '--threads', String(threads), '--mem', JSON.stringify(req)], { env: TORCH_ENV });
  return JSON.parse(out.toString()).peakRssDelta;
}

/** Runs `node script --mem-probe <impl> <json>` in a fresh process (so cpuPeakBytes starts at the inputs). */
export function ourMem(script, impl, shape) {
  const out = execFileSync(process.execPath, [script, '--mem-probe', impl, JSON.stringify(shape)]);
  return JSON.parse(out.toString());
}

/**
 * Inside a --mem-probe child: `setup()` builds the inputs, `step()` runs one fwd+bwd.
 * cpuPeakBytes is a process-lifetime high-water mark with no reset, so the probe runs in a fresh
 * process: right after setup, peak == live bytes, and (peak after - live before) is the extra native
 * memory the step needed at its worst moment (including the input gradients it leaves). peakRssDelta (growth of VmHWM, the peak RSS of this
 * process image; getrusage's maxrss would include the parent's from before exec) also counts the JS
 * heap (the naive paths' Float32Array copies) and allocator slack.
 */
export function vmHWM() {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(m[1]) * 1024;
}

export function memProbe(memoryStats, setup, step, cleanup) {
  const ctx = setup();
  if (global.gc) global.gc();
  const s0 = memoryStats();
  const rss0 = vmHWM();
  step(ctx);
  const s1 = memoryStats();
  const rss1 = vmHWM();
  cleanup(ctx); // drops the gradients (counted in the peak) so leakedBytes must be 0
  const s2 = memoryStats();
  console.log(JSON.stringify({
    nativePeakDelta: s1.cpuPeakBytes - s0.cpuBytes,
    peakWasLive: s0.cpuPeakBytes === s0.cpuBytes,
    leakedBytes: s2.cpuBytes - s0.cpuBytes,
    peakRssDelta: rss1 - rss0,
  }));
}

export function sysInfo() {
  let cpu = '';
  try { cpu = execFileSync('sh', ['-c', "lscpu | grep 'Model name' | sed 's/.*: *//'"]).toString().trim(); } catch { /* ignore */ }
  return `cpu: ${cpu} | cores: ${os.availableParallelism()} | OMP_NUM_THREADS=${process.env.OMP_NUM_THREADS ?? '(default)'} OPENBLAS_NUM_THREADS=${process.env.OPENBLAS_NUM_THREADS ?? '(default)'} | node ${process.version}`;
}
