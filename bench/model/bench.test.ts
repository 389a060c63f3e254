/**
 * @olmo/model benchmark, float32 on 2 threads, side by side in one run:
 *  - forward tokens/s (no grad) vs PyTorch 1.13 (Debian python3-torch, the equivalent model in
 *    torch_olmo.py) and vs onnxruntime-node running that model exported to ONNX;
 *  - greedy decode tokens/s at batch 1 (32-token prompt, 128 new tokens, KV cache) vs PyTorch with
 *    a KV cache, and as a fraction of the memory-bandwidth floor (weight bytes per token ÷ measured
 *    bandwidth).
 * Configs: tiny (d 256, 4 layers, 4 heads, ff 1024, V 50304, seq 256, batch 8) and small (d 512,
 * 8 layers, 8 heads, ff 2048, V 50304, seq 512, batch 4). Random weights (throughput does not depend
 * on them).
 *
 *   OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 npx vitest run --config bench/model/vitest.config.ts
 *   BENCH_CONFIGS=tiny BENCH_REPS=3 ...   (defaults: tiny,small and 5)
 *
 * Writes bench/model/RESULTS.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'vitest';
import { noGrad, scaleInPlace, zeros, Generator } from '@olmo/tensor-cuda';
import { OLMo, OLMoConfig, type OLMoConfig as Cfg } from '@olmo/model';

const here = __dirname;
const REPS = Number(process.env.BENCH_REPS ?? 5);
const THREADS = 2;
const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const CONFIGS: Record<string, { cfg: Cfg; B: number; T: number }> = {
  tiny: { cfg: OLMoConfig.tiny({ clip_qkv: null }), B: 8, T: 256 },
  small: { cfg: OLMoConfig.small({ clip_qkv: null }), B: 4, T: 512 },
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const now = () => Number(process.hrtime.bigint()) / 1e9;

function randomIds(B: number, T: number, V: number, seed: number): number[][] {
  const g = new Generator(seed);
  return Array.from({ length: B }, () => Array.from({ length: T }, () => g.nextU32() % V));
}

/** Streaming bandwidth (GB/s): in-place scale of a 256 MB buffer reads and writes every byte. */
function bandwidth(): number {
  const n = 64 << 20;
  const t = zeros([n]);
  scaleInPlace(t, 1);
  const ts: number[] = [];
  for (let r = 0; r < 5; r++) { const t0 = now(); scaleInPlace(t, 1.0000001); ts.push(now() - t0); }
  t.dispose();
  return (2 * n * 4) / median(ts) / 1e9;
}

function oursForward(m: OLMo, ids: number[][]): number {
  noGrad(() => m.forward(ids).logits.dispose());
  const ts: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const t0 = now();
    noGrad(() => m.forward(ids).logits.dispose());
    ts.push(now() - t0);
  }
  return median(ts);
}

async function oursDecode(m: OLMo, prompt: number[], n: number): Promise<number> {
  const ts: number[] = [];
  for (let r = 0; r < Math.max(1, Math.floor(REPS / 2)); r++) {
    const t0 = now();
    let k = 0;
    for await (const _ of m.generate(prompt, { maxNewTokens: n, stopTokenIds: [] })) k++;
    ts.push(now() - t0);
    if (k !== n) throw new Error('short generation');
  }
  return median(ts);
}

async function ortForward(onnxPath: string, ids: number[][]): Promise<number | null> {
  let ort: typeof import('onnxruntime-node');
  try {
    ort = await import('onnxruntime-node');
  } catch {
    return null;
  }
  const sess = await ort.InferenceSession.create(onnxPath, { intraOpNumThreads: THREADS, interOpNumThreads: 1, executionProviders: ['cpu'] });
  const B = ids.length, T = ids[0]!.length;
  const input = new ort.Tensor('int64', BigInt64Array.from(ids.flat().map(BigInt)), [B, T]);
  await sess.run({ input_ids: input });
  const ts: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const t0 = now();
    await sess.run({ input_ids: input });
    ts.push(now() - t0);
  }
  await sess.release();
  return median(ts);
}

it('model throughput', async () => {
  const lines: string[] = [];
  const names = (process.env.BENCH_CONFIGS ?? 'tiny,small').split(',');
  const bw = bandwidth();
  const head = `# bench/model results\n\n${new Date().toISOString()} · ${os.cpus()[0]?.model ?? 'cpu'} · ${os.availableParallelism()} cores · float32, ${THREADS} threads · reps ${REPS} (median) · load average at start ${os.loadavg()[0]!.toFixed(1)}\n` +
    `Measured streaming bandwidth: ${bw.toFixed(1)} GB/s (in-place scale of 256 MB).\n\n` +
    '| config | forward tok/s: ours | PyTorch | onnxruntime | ours/PyTorch | ours/ORT | decode tok/s: ours | PyTorch (KV cache) | ours/PyTorch | bandwidth floor tok/s | ours/floor |\n|---|---|---|---|---|---|---|---|---|---|---|';
  lines.push(head);
  for (const name of names) {
    const { cfg, B, T } = CONFIGS[name]!;
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'olmo-bench-'));
    const cj = path.join(tmp, 'c.json'), rj = path.join(tmp, 'r.json');
    writeFileSync(cj, JSON.stringify({ d: cfg.hidden_size, L: cfg.num_hidden_layers, H: cfg.num_attention_heads, ff: cfg.intermediate_size, V: cfg.embedding_size, B, T, threads: THREADS, reps: REPS, prompt: 32, new: 128 }));
    let torch: { forward_s: number; decode_s: number; onnx?: string } | null = null;
    try {
      execFileSync(PY, [path.join(here, 'torch_olmo.py'), cj, rj, '--onnx', tmp], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: String(THREADS) } });
      torch = JSON.parse(readFileSync(rj, 'utf8'));
    } catch (e) {
      console.warn(`[bench] PyTorch anchor unavailable: ${(e as Error).message.slice(0, 200)}`);
    }
    const m = OLMo.init(cfg, { seed: 1, requiresGrad: false });
    const ids = randomIds(B, T, cfg.vocab_size, 2);
    const fwd = oursForward(m, ids);
    const dec = await oursDecode(m, ids[0]!.slice(0, 32), 128);
    const ortS = torch?.onnx ? await ortForward(torch.onnx, ids) : null;
    const embBytes = cfg.embedding_size * cfg.hidden_size * 4;
    const weightBytes = m.numParameters() * 4 - (cfg.tie_word_embeddings ? 0 : embBytes); // the lookup reads one row
    const floor = (bw * 1e9) / weightBytes;
    m.dispose();
    const tok = B * T;
    const f = (x: number) => x.toFixed(0);
    const r = (x: number) => `${x.toFixed(2)}×`;
    const row = `| ${name} (B ${B}, T ${T}) | ${f(tok / fwd)} | ${torch ? f(tok / torch.forward_s) : 'n/a'} | ${ortS ? f(tok / ortS) : 'n/a'} | ${torch ? r(torch.forward_s / fwd) : 'n/a'} | ${ortS ? r(ortS / fwd) : 'n/a'} | ` +
      `${(128 / dec).toFixed(1)} | ${torch ? (128 / torch.decode_s).toFixed(1) : 'n/a'} | ${torch ? r(torch.decode_s / dec) : 'n/a'} | ${floor.toFixed(0)} | ${((128 / dec) / floor * 100).toFixed(0)}% |`;
    lines.push(row);
    console.log(row);
  }
  lines.push('\nGoals (issue 4): forward ≥ 1.3× PyTorch and onnxruntime; decode ≥ 1.5× PyTorch and ≥ 80% of the bandwidth floor.\n' +
    'Numbers are only comparable within one run: the machine is shared, so absolute rates move between runs.\n');
  writeFileSync(path.join(here, 'RESULTS.md'), lines.join('\n') + '\n');
});
