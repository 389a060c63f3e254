// Shared by the benches that compare with an anchor (bench/train, bench/model, bench/tokenizer):
// what machine and load a number was measured under, jemalloc for the PyTorch anchors, and
// statistics over alternated rounds (BENCHMARKS.md: ours and the anchor alternate inside one run;
// each RESULTS file reports medians and the spread, the load, the CPU and the command).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** { median, min, max } of xs. */
export function spread(xs) {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

/** "12.3 (11.9–12.8)": median and range, `digits` decimals. */
export function fmtSpread(xs, digits = 1, unit = '') {
  const s = spread(xs);
  return `${s.median.toFixed(digits)}${unit} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

/** The `uptime` line (load averages over 1, 5, 15 min). */
export function uptime() {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average: ${os.loadavg().map((x) => x.toFixed(2)).join(', ')}`;
  }
}

/** CPU model and the SIMD flags that decide kernel speed, from lscpu (the full flag list too). */
export function cpuInfo() {
  let model = os.cpus()[0]?.model ?? 'unknown';
  let flags = [];
  try {
    const out = execFileSync('lscpu', { encoding: 'utf8' });
    model = /^Model name:\s*(.+)$/m.exec(out)?.[1]?.trim() ?? model;
    flags = (/^Flags:\s*(.+)$/m.exec(out)?.[1] ?? '').trim().split(/\s+/);
  } catch { /* lscpu missing: model from os.cpus() */ }
  const simd = flags.filter((f) => /^(sse4_2|avx|avx2|fma|f16c|avx512\w*|avx_vnni|amx\w*)$/.test(f));
  return { model, cores: os.availableParallelism(), simd, flags };
}

/** libjemalloc.so.2 for LD_PRELOAD (ldconfig -p), or null with the install command on stderr. */
export function jemallocPath() {
  try {
    const out = execFileSync('ldconfig', ['-p'], { encoding: 'utf8' });
    const m = /libjemalloc\.so\.2 .*=> (\S+)/.exec(out);
    if (m && existsSync(m[1])) return m[1];
  } catch { /* fall through */ }
  for (const p of ['/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2']) if (existsSync(p)) return p;
  console.warn('[bench] libjemalloc.so.2 not found: the PyTorch anchor runs with glibc malloc (not at its best). apt-get install -y libjemalloc2');
  return null;
}

/** Environment for a PyTorch anchor process: jemalloc preloaded, `threads` OpenMP/BLAS threads. */
export function torchEnv(threads) {
  const je = jemallocPath();
  return { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), ...(je ? { LD_PRELOAD: je } : {}) };
}

/** Markdown lines describing the conditions of a run (start and end load, CPU, command). */
export function conditionsMarkdown({ command, startUptime, endUptime, notes = [] }) {
  const cpu = cpuInfo();
  return [
    `- command: \`${command}\``,
    `- CPU: ${cpu.model}, ${cpu.cores} cores; SIMD flags: ${cpu.simd.join(' ') || 'none reported'}`,
    `- node ${process.version}; jemalloc for PyTorch: ${jemallocPath() ?? 'NOT FOUND (glibc malloc)'}`,
    `- load at start: \`${startUptime}\``,
    `- load at end: \`${endUptime}\``,
    ...notes.map((n) => `- ${n}`),
    '',
    '<details><summary>all lscpu flags</summary>',
    '',
    cpu.flags.join(' '),
    '',
    '</details>',
  ];
}
