// GPU check of the cuBLASLt bf16 GEMM path and the FSDP overlap on NCCL (run by scripts/gpu-check.sh;
// plain node over the built dist). Prints one `{"stage":"result",...}` JSON line; exit 1 on a failed check.
//   1. cudaGemmInfo(0): which libraries loaded (cuBLASLt, cuBLAS) and why not.
//   2. bf16 GEMMs (the linear forward/backward layouts: X W^T, dY W, dY^T X) on cuda:0 with
//      OLMO_CUDA_GEMM = lt, cublas, tiled vs the CPU bf16 GEMM (same operand rounding, fp32
//      accumulation): relative L2 error <= 1e-4, cuBLASLt really ran (ltCalls grows), bf16 output
//      = the fp32 output rounded once; then TFLOP/s of each backend at an OLMo-1B shape
//      (tokens 8192 x d 2048 x hidden 8192).
//   3. FSDP over NCCL at W=1 on cuda:0 (8 blocks): overlap on vs off → bit-identical losses and
//      gradients, prefetch hits, <= 2 gathered units; seconds per pass for each.
import {
  FSDP, Generator, ProcessGroup, add, cudaAvailable, cudaGemmInfo, embedding, crossEntropy, fsdpUnits, gemmInto, linear, rmsNorm, tensor, tidy, zeros,
} from '@olmo/tensor-cuda';

if (!cudaAvailable()) { console.log('[lt-overlap] no CUDA device'); process.exit(2); }
const result = { stage: 'result', name: 'lt-overlap' };
let failed = 0;
const check = (ok, what) => { console.log(`[lt-overlap] ${ok ? 'ok  ' : 'FAIL'} ${what}`); if (!ok) failed++; };
const gen = new Generator(5);
const randArr = (n, s = 1) => Float32Array.from({ length: n }, () => gen.normal(0, s));
const relErr = (a, b) => { let n = 0, d = 0; for (let i = 0; i < b.length; i++) { n += (a[i] - b[i]) ** 2; d += b[i] ** 2; } return Math.sqrt(n) / Math.max(Math.sqrt(d), 1e-30); };
const sync = (t) => { const v = t.slice(0, 0, 1); v.toFloat32Array(); v.dispose(); };  // a read-back waits for the queued kernels

const info0 = cudaGemmInfo(0);
console.log('[lt-overlap] gemm libraries', JSON.stringify(info0));
result.gemm = { cublasLt: info0.cublasLt.loaded ? info0.cublasLt.path : `missing: ${info0.cublasLt.reason}`, bf16: info0.bf16 };

// ---- 2. GEMM parity per backend, three linear layouts ------------------------------------------------
const [M, N, K] = [256, 320, 192];
const layouts = [
  { name: 'Y=X W^T', a: [M, K], b: [N, K], tb: true, ta: false },
  { name: 'dX=dY W', a: [M, N], b: [N, K], tb: false, ta: false },
  { name: 'dW=dY^T X', a: [M, N], b: [M, K], ta: true, tb: false },
];
for (const backend of ['lt', 'cublas', 'tiled']) {
  process.env.OLMO_CUDA_GEMM = backend;
  for (const L of layouts) {
    try {
      const A = randArr(L.a[0] * L.a[1]), B = randArr(L.b[0] * L.b[1]);
      const rows = L.ta ? L.a[1] : L.a[0], cols = L.tb ? L.b[0] : L.b[1];
      const before = cudaGemmInfo(0).ltCalls;
      const errs = tidy(() => {
        const ref = zeros([rows, cols]);
        gemmInto(ref, tensor(A, { shape: L.a }), tensor(B, { shape: L.b }), { transA: L.ta, transB: L.tb, precision: 'bf16' });
        const ag = tensor(A, { shape: L.a, device: 'cuda:0' }).to('bfloat16'), bg = tensor(B, { shape: L.b, device: 'cuda:0' }).to('bfloat16');
        const out = zeros([rows, cols], { device: 'cuda:0' });
        gemmInto(out, ag, bg, { transA: L.ta, transB: L.tb });
        const outB = zeros([rows, cols], { device: 'cuda:0', dtype: 'bfloat16' });
        gemmInto(outB, ag, bg, { transA: L.ta, transB: L.tb });
        const r = ref.toFloat32Array();
        const rounded = out.to('bfloat16').to('float32').toFloat32Array();
        return { f32: relErr(out.toFloat32Array(), r), bf16Out: relErr(outB.to('float32').toFloat32Array(), rounded) };
      });
      const ran = cudaGemmInfo(0).ltCalls - before;
      check(errs.f32 <= 1e-4 && errs.bf16Out <= 8e-3, `${backend} ${L.name}: rel err ${errs.f32.toExponential(2)}, bf16 out vs rounded fp32 ${errs.bf16Out.toExponential(2)}${backend === 'lt' ? `, cuBLASLt calls ${ran}` : ''}`);
      if (backend === 'lt') check(ran === 2, `${backend} ${L.name}: both GEMMs ran on cuBLASLt`);
    } catch (e) {
      check(false, `${backend} ${L.name}: ${e.code ?? ''} ${e.message}`);
    }
  }
}

// ---- TFLOP/s at an OLMo-1B MLP shape ------------------------------------------------------------------
const [TM, TN, TK] = [8192, 8192, 2048];
result.tflops = {};
for (const backend of ['lt', 'cublas', 'tiled']) {
  process.env.OLMO_CUDA_GEMM = backend;
  try {
    const x = tensor(randArr(TM * TK, 0.5), { shape: [TM, TK], device: 'cuda:0' }).to('bfloat16');
    const w = tensor(randArr(TN * TK, 0.5), { shape: [TN, TK], device: 'cuda:0' }).to('bfloat16');
    const y = zeros([TM, TN], { device: 'cuda:0' });
    const reps = backend === 'tiled' ? 2 : 20;
    gemmInto(y, x, w, { transB: true }); sync(y);
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) gemmInto(y, x, w, { transB: true });
    sync(y);
    const s = (performance.now() - t0) / 1000 / reps;
    result.tflops[backend] = +((2 * TM * TN * TK) / s / 1e12).toFixed(1);
    console.log(`[lt-overlap] ${backend} ${TM}x${TN}x${TK} bf16: ${(s * 1e3).toFixed(2)} ms, ${result.tflops[backend]} TFLOP/s`);
    for (const t of [x, w, y]) t.dispose();
  } catch (e) {
    check(false, `${backend} timing: ${e.code ?? ''} ${e.message}`);
  }
}
delete process.env.OLMO_CUDA_GEMM;
result.ltStats = (({ ltCalls, ltFallbacks, ltLastFallback }) => ({ ltCalls, ltFallbacks, ltLastFallback }))(cudaGemmInfo(0));

// ---- 3. FSDP over NCCL at W=1: overlap on vs off ------------------------------------------------------
try {
  const pg = ProcessGroup.init({ backend: 'nccl', cudaDevice: 0 });
  const V = 4096, C = 1024, T = 256, B = 4, NL = 8, dev = 'cuda:0';
  const specs = [{ name: 'model.embed_tokens.weight', shape: [V, C] }];
  for (let l = 0; l < NL; l++) specs.push({ name: `model.layers.${l}.mlp.weight`, shape: [C, C] }, { name: `model.layers.${l}.norm.weight`, shape: [C] });
  const full = new Map(specs.map((s) => [s.name, tensor(randArr(s.shape.reduce((a, b) => a * b, 1), s.name.includes('norm') ? 0.01 : 0.02).map((v) => (s.name.includes('norm') ? 1 + v : v)), { shape: s.shape, device: dev })]));
  const ids = Int32Array.from({ length: B * (T + 1) }, (_, i) => (i * 7919) % V);
  const pass = (fsdp) => {
    const P = (n) => fsdp.param(n);
    const loss = tidy(() => {
      const rows = Array.from({ length: B }, (_, b) => ids.subarray(b * (T + 1), (b + 1) * (T + 1)));
      const inp = tensor(Int32Array.from(rows.flatMap((r) => Array.from(r.subarray(0, T)))), { shape: [B, T], dtype: 'int32', device: dev });
      const tgt = tensor(Int32Array.from(rows.flatMap((r) => Array.from(r.subarray(1)))), { shape: [B * T], dtype: 'int32', device: dev });
      let [x] = fsdp.run(['root'], [inp], ([i]) => [embedding(i, P('model.embed_tokens.weight'))]);
      for (let l = 0; l < NL; l++) [x] = fsdp.run([`block.${l}`], [x], ([h]) => [add(h, linear(rmsNorm(h, P(`model.layers.${l}.norm.weight`), 1e-6), P(`model.layers.${l}.mlp.weight`)))]);
      const [lo] = fsdp.run(['root'], [x, tgt], ([h, t]) => [crossEntropy(linear(h.reshape([B * T, C]), P('model.embed_tokens.weight')), t, { reduction: 'sum' }).loss]);
      return lo.keep();
    });
    loss.backward();
    fsdp.sync();
    const v = loss.item();
    loss.dispose();
    return v;
  };
  const runs = {};
  for (const overlap of [true, false]) {
    const fsdp = new FSDP(pg, fsdpUnits(specs, 'by_block'), { device: 0, gradReduce: 'avg', overlap });
    fsdp.loadFull((n) => full.get(n));
    const losses = [pass(fsdp)];
    const t0 = performance.now();
    for (let i = 0; i < 3; i++) losses.push(pass(fsdp));
    const seconds = (performance.now() - t0) / 1000 / 3;
    const grads = fsdp.pieces().map((p) => Array.from(p.param.grad.toFloat32Array().subarray(0, 64)));
    runs[overlap ? 'on' : 'off'] = { losses, grads, seconds, stats: { ...fsdp.overlapStats } };
    fsdp.dispose();
  }
  check(JSON.stringify(runs.on.losses) === JSON.stringify(runs.off.losses) && JSON.stringify(runs.on.grads) === JSON.stringify(runs.off.grads),
    `FSDP/NCCL W=1 overlap on == off bit for bit (losses ${runs.on.losses.map((v) => v.toFixed(4)).join(', ')})`);
  check(runs.on.stats.prefetchHits > 0 && runs.on.stats.peakGatheredUnits <= 2, `FSDP/NCCL overlap stats ${JSON.stringify(runs.on.stats)}`);
  result.fsdpNcclW1 = { secondsPerPassOn: +runs.on.seconds.toFixed(4), secondsPerPassOff: +runs.off.seconds.toFixed(4), stats: runs.on.stats };
  console.log(`[lt-overlap] FSDP/NCCL W=1 (${NL} blocks, d ${C}, ${B}x${T} tokens): ${runs.on.seconds.toFixed(4)} s/pass overlapped, ${runs.off.seconds.toFixed(4)} s blocking`);
  pg.destroy();
} catch (e) {
  check(false, `FSDP over NCCL: ${e.code ?? ''} ${e.message}`);
}
result.failed = failed;
console.log(JSON.stringify(result));
process.exit(failed ? 1 : 0);
