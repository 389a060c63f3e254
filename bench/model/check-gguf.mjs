#!/usr/bin/env node
// Peak RSS of loading a real-size GGUF (NOT part of the test suite; needs ~4 GB free RAM and ~7 GB
// disk). OLMo.fromPretrained('x.gguf') maps the file: weights whose stored type is the model's are
// views into it, so the goal is peak RSS ≈ the file size + a small overhead.
//   1. write: an OLMo-1B-size random bf16 checkpoint (streamed tiled values, as check-7b.mjs's
//      `write` phase: no model in memory) + OLMo's tokenizer from ../shared, exported with
//      `olmo export gguf` to --type q8_0 and --type bf16;
//   2. a fresh process per row: fromPretrained(file[, opts]) -> generate 8 tokens; reports VmHWM
//      (peak RSS), the process's RSS before loading (node + the addon), what memoryStats() says is
//      mapped / allocated, and the file size.
// Usage (after `npx turbo run build` or the tsc builds of tensor-cuda and model):
//   node bench/model/check-gguf.mjs [--size 1b|tiny] [--dir /tmp/olmo-check-gguf] [--keep]
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const GB = 1e9;
const configFor = (C, size) => (size === '1b' ? C.olmo1B() : C.tiny());
const status = (key) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
const TOKENIZER = path.join(here, '../../../shared/tokenizers/allenai_gpt-neox-olmo-dolma-v1_5.json');

/** The rows: [label, file type, fromPretrained options]. */
const ROWS = [
  ['bf16 (file type: bfloat16, mapped)', 'bf16', {}],
  ['q8_0 (file type: q8_0 linear + float32 embedding)', 'q8_0', {}],
  ['q8_0 with dtype bfloat16 (bf16 embedding)', 'q8_0', { dtype: 'bfloat16', quantize: 'q8_0' }],
];

async function phase(name, size, dir) {
  const model = await import(path.join(here, '../../packages/model/dist/index.js'));
  const tc = await import(path.join(here, '../../packages/tensor-cuda/dist/index.js'));
  const cfg = configFor(model.OLMoConfig, size);
  const now = () => Number(process.hrtime.bigint()) / 1e9;
  if (name === 'write') {
    const gen = new tc.Generator(1);
    const specs = model.parameterSpecs(cfg);
    const entries = specs.map((s) => ({
      name: s.name, shape: s.shape, data: () => { throw new Error('raw only'); },
      raw: { dtype: 'BF16', bytes: () => {
        const n = s.shape.reduce((a, b) => a * b, 1);
        const spec = model.initSpecFor(cfg, s.name);
        const tile = new Uint16Array(Math.min(n, 1 << 16));
        for (let i = 0; i < tile.length; i++) tile[i] = tc.f32ToBf16Bits(spec.kind === 'ones' ? 1 : gen.normal(0, spec.std));
        const out = new Uint16Array(n);
        for (let o = 0; o < n; o += tile.length) out.set(tile.subarray(0, Math.min(tile.length, n - o)), o);
        return new Uint8Array(out.buffer);
      } },
    }));
    const src = path.join(dir, 'hf');
    mkdirSync(src, { recursive: true });
    await model.saveSafetensorsDir(src, entries, { dtype: 'bfloat16', maxShardSize: '5GB' });
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path.join(src, 'config.json'), JSON.stringify(model.OLMoConfig.toHF(cfg, 'bfloat16'), null, 2));
    copyFileSync(TOKENIZER, path.join(src, 'tokenizer.json'));
    const t0 = now();
    for (const type of ['q8_0', 'bf16']) await model.exportGguf({ model: src, out: path.join(dir, `model-${type}.gguf`), type });
    rmSync(src, { recursive: true, force: true });
    return { exportS: now() - t0 };
  }
  const [, type, opts] = ROWS[Number(name)];
  const file = path.join(dir, `model-${type}.gguf`);
  const rssBefore = status('VmRSS');
  const t0 = now();
  const m = await model.OLMo.fromPretrained(file, opts);
  const loadS = now() - t0;
  const st = tc.memoryStats();
  const afterLoad = status('VmRSS');
  const prompt = Array.from({ length: 8 }, (_, i) => 100 + i * 7);
  const ids = [];
  const t1 = now();
  for await (const id of m.generate(prompt, { maxNewTokens: 8, stopTokenIds: [] })) ids.push(id);
  const genS = now() - t1;
  const precision = m.precision;
  m.dispose();
  return { fileBytes: statSync(file).size, rssBefore, rssAfterLoad: afterLoad, mappedBytes: st.mappedBytes, allocatedBytes: st.cpuBytes, allocPeak: st.cpuPeakBytes, loadS, genS, precision, ids: ids.join(',') };
}

async function main() {
  const sub = arg('phase');
  if (sub) {
    const r = await phase(sub, arg('size', '1b'), arg('dir'));
    process.stdout.write(JSON.stringify({ ...r, vmHWM: status('VmHWM') }) + '\n');
    return;
  }
  if (!existsSync(TOKENIZER)) throw new Error(`needs OLMo's tokenizer at ${TOKENIZER} (../shared)`);
  const size = arg('size', '1b');
  const dir = arg('dir', path.join(os.tmpdir(), `olmo-check-gguf-${size}`));
  mkdirSync(dir, { recursive: true });
  const cpu = execFileSync('sh', ['-c', "lscpu | grep 'Model name' | sed 's/.*: *//'"]).toString().trim();
  const flags = execFileSync('sh', ['-c', "lscpu | grep -o -w -E 'avx2|avx512f|avx512_bf16|avx512_vnni|avx_vnni|amx_bf16|amx_int8' | sort -u | tr '\\n' ' '"]).toString().trim();
  console.log(`# check-gguf ${size}: ${new Date().toISOString()} | cpu ${cpu} (${flags}) | ${os.availableParallelism()} cores | load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} | free ${(os.freemem() / GB).toFixed(1)} GB`);
  const run = (name) => {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--phase', name, '--size', size, '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'], env: process.env, maxBuffer: 1 << 20 });
    if (r.status !== 0) throw new Error(`phase ${name} failed (status ${r.status}, signal ${r.signal})`);
    return JSON.parse(r.stdout.toString().trim().split('\n').pop());
  };
  try {
    if (!existsSync(path.join(dir, 'model-bf16.gguf'))) {
      const w = run('write');
      console.log(`write + export: ${w.exportS.toFixed(0)} s for both exports`);
    }
    const gb = (x) => `${(x / GB).toFixed(3)} GB`;
    console.log('| load (default = the file\'s own types) | file | peak RSS (VmHWM) | peak − file | RSS before load | mapped | allocated (peak) | load s | 8 tokens s |\n|---|---|---|---|---|---|---|---|---|');
    const ids = [];
    for (let i = 0; i < ROWS.length; i++) {
      const r = run(String(i));
      ids.push(`${ROWS[i][1]}: ${r.ids}`);
      console.log(`| ${ROWS[i][0]} | ${gb(r.fileBytes)} | ${gb(r.vmHWM)} (${(r.vmHWM / r.fileBytes).toFixed(3)}x) | ${gb(r.vmHWM - r.fileBytes)} | ${gb(r.rssBefore)} | ${gb(r.mappedBytes)} | ${gb(r.allocatedBytes)} (${gb(r.allocPeak)}) | ${r.loadS.toFixed(2)} | ${r.genS.toFixed(1)} |`);
    }
    console.log(`greedy ids: ${ids.join(' | ')}`);
  } finally {
    if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
