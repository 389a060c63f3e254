#!/usr/bin/env node
/**
 * Global shuffle of N indices (OLMo's order: arange(N, uint32) + Generator(PCG64(seed)).shuffle):
 * @olmo/data's native kernel vs numpy, in the same run, alternating, same N and seed; outputs are
 * checked to be identical (sha256). Usage:
 *   node bench/data/shuffle.mjs [--n 100000000] [--seed 6198] [--runs 3] [--python /usr/bin/python3]
 * Needs: the native addon (cd packages/tensor-cuda && node scripts/build-native.mjs) and built TS
 * (npx tsc -p packages/tensor-cuda/tsconfig.json && npx tsc -p packages/data/tsconfig.json).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const arg = (name, d) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : d;
};
const N = Number(arg('n', '100000000'));
const SEED = Number(arg('seed', '6198'));
const RUNS = Number(arg('runs', '3'));
const PY = arg('python', '/usr/bin/python3');
const { globalOrder } = await import(join(repo, 'packages/data/dist/index.js'));

const env = { ...process.env };
delete env.OPENBLAS_CORETYPE; // numpy's OpenBLAS refuses some values set for other tools
delete env.OPENBLAS_L2_SIZE;
const pyCode = `
import numpy as np, time, hashlib, json, sys
n, seed = int(sys.argv[1]), int(sys.argv[2])
t = time.perf_counter()
a = np.arange(n, dtype=np.uint32)
np.random.Generator(np.random.PCG64(seed)).shuffle(a)
dt = time.perf_counter() - t
print(json.dumps({"s": dt, "sha": hashlib.sha256(a.tobytes()).hexdigest(), "numpy": np.__version__}))
`;
const sha = (a) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
const ours = [], np = [];
let shaOurs = '', shaNp = '', npVersion = '';
for (let r = 0; r < RUNS; r++) {
  const t0 = performance.now();
  let a = globalOrder(N, SEED);
  ours.push((performance.now() - t0) / 1000);
  shaOurs = sha(a);
  a = null;
  const out = JSON.parse(execFileSync(PY, ['-c', pyCode, String(N), String(SEED)], { env, maxBuffer: 1 << 20 }).toString());
  np.push(out.s);
  shaNp = out.sha;
  npVersion = out.numpy;
}
const med = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const [o, p] = [med(ours), med(np)];
console.log(`N=${N} seed=${SEED} runs=${RUNS} (alternating; arange + shuffle, allocation included)`);
console.log(`  @olmo/data native : ${o.toFixed(3)} s median  [${ours.map((x) => x.toFixed(2)).join(', ')}]`);
console.log(`  numpy ${npVersion}     : ${p.toFixed(3)} s median  [${np.map((x) => x.toFixed(2)).join(', ')}]`);
console.log(`  ratio ours/numpy  : ${(o / p).toFixed(3)}x   identical output: ${shaOurs === shaNp} (sha256 ${shaOurs.slice(0, 16)}…)`);
