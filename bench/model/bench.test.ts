/**
 * @olmo/model benchmark, float32 on 2 threads, side by side in one run:
 *  - forward tokens/s (no grad) vs PyTorch 1.13 (Debian python3-torch, the equivalent model in
 *    torch_olmo.py) and vs onnxruntime-node running that model exported to ONNX;
 *  - greedy decode tokens/s at batch 1 (32-token prompt, 128 new tokens, KV cache) vs PyTorch with
 *    a preallocated KV cache, and as a fraction of the memory-bandwidth floor (weight bytes per
 *    token ÷ measured bandwidth).
 * Both sides run the SAME model: PyTorch loads the weights we save, and the prompt's logits must
 * agree. Ours and PyTorch alternate for BENCH_ROUNDS rounds (order flipped each round; PyTorch with
 * jemalloc preloaded); RESULTS.md reports medians with the range, the load, the CPU and the command.
 * Configs: tiny (d 256, 4 layers, 4 heads, ff 1024, V 50304, seq 256, batch 8) and small (d 512,
 * 8 layers, 8 heads, ff 2048, V 50304, seq 512, batch 4). Random weights (throughput does not depend
 * on them).
 *
 *   OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 npx vitest run --config bench/model/vitest.config.ts
 *   BENCH_CONFIGS=tiny BENCH_ROUNDS=3 BENCH_REPS=3 BENCH_DECODE_REPS=1 ...   (these are the defaults, with tiny,small)
 * Needs: apt-get install -y python3-torch libjemalloc2 (and onnxruntime-node from npm for the ORT column).
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
// @ts-expect-error plain ESM helper shared by the benches (no types)
import { conditionsMarkdown, fmtSpread, torchEnv, uptime } from '../common/machine.mjs';

const here = __dirname;
const REPS = Number(process.env.BENCH_REPS ?? 3);
const DECODE_REPS = Number(process.env.BENCH_DECODE_REPS ?? 1);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
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
  for (let r = 0; r < DECODE_REPS; r++) {
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

it('model throughput (alternated rounds, same model on both sides)', async () => {
  const names = (process.env.BENCH_CONFIGS ?? 'tiny,small').split(',');
  const startUptime = uptime();
  const bw = bandwidth();
  const table = [
    '| config | forward tok/s: ours | PyTorch | onnxruntime | ours/PyTorch | ours/ORT | decode tok/s: ours | PyTorch (preallocated KV cache) | ours/PyTorch | bandwidth floor tok/s | ours/floor |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  // Written after every config, so a run cut short still leaves what it measured.
  const writeResults = () => {
    const lines = [
      '# bench/model results', '',
      `${new Date().toISOString()} · float32, ${THREADS} threads · ${ROUNDS} alternated rounds (ours / PyTorch, order flipped each round; onnxruntime after each round); per round: forward median of ${REPS} reps after a warm-up, decode median of ${DECODE_REPS}; cells: median over rounds (min–max); ratio = per-round time ratio.`,
      `Measured streaming bandwidth: ${bw.toFixed(1)} GB/s (in-place scale of 256 MB, read + write).`, '',
      ...conditionsMarkdown({
        command: `BENCH_CONFIGS=${names.join(',')} BENCH_ROUNDS=${ROUNDS} BENCH_REPS=${REPS} BENCH_DECODE_REPS=${DECODE_REPS} npx vitest run --config bench/model/vitest.config.ts`,
        startUptime, endUptime: uptime(),
        notes: ['PyTorch: bench/model/torch_olmo.py with the weights @olmo/model saved (same model; prompt logits checked to 1e-4), KV cache preallocated, LD_PRELOAD=libjemalloc.so.2, 2 threads',
          'decode: batch 1, 32-token prompt, 128 new tokens, greedy; the floor is weight bytes per token ÷ the measured bandwidth'],
      }),
      '', ...table, '',
      'Goals (issue 4): forward ≥ 1.3× PyTorch and onnxruntime; decode ≥ 1.5× PyTorch and ≥ 80% of the bandwidth floor.',
      'The machine is shared: compare within a run (the ratio columns), not across runs.', '',
    ];
    writeFileSync(path.join(here, 'RESULTS.md'), lines.join('\n'));
  };
  for (const name of names) {
    const { cfg, B, T } = CONFIGS[name]!;
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'olmo-bench-'));
    // The SAME model on both sides: PyTorch loads the weights we save (float32 safetensors).
    const m = OLMo.init(cfg, { seed: 1, requiresGrad: false });
    await m.savePretrained(tmp);
    const ids = randomIds(B, T, cfg.vocab_size, 2);
    const prompt = ids[0]!.slice(0, 32);
    const cj = path.join(tmp, 'c.json');
    writeFileSync(cj, JSON.stringify({ d: cfg.hidden_size, L: cfg.num_hidden_layers, H: cfg.num_attention_heads, ff: cfg.intermediate_size, V: cfg.embedding_size, B, T, threads: THREADS, reps: REPS, decode_reps: DECODE_REPS, prompt: 32, new: 128, ids, prompt_ids: prompt }));
    const torchRound = (round: number): { forward_s: number; decode_s: number; onnx?: string; prompt_last_logits: number[] } | null => {
      const rj = path.join(tmp, `r${round}.json`);
      try {
        execFileSync(PY, [path.join(here, 'torch_olmo.py'), cj, rj, '--weights', path.join(tmp, 'model.safetensors'), ...(round === 0 ? ['--onnx', tmp] : [])], { stdio: ['ignore', 'ignore', 'pipe'], env: torchEnv(THREADS) });
        return JSON.parse(readFileSync(rj, 'utf8'));
      } catch (e) {
        console.warn(`[bench] PyTorch anchor unavailable: ${(e as Error).message.slice(0, 300)}`);
        return null;
      }
    };
    const fwd: number[] = [], dec: number[] = [], tFwd: number[] = [], tDec: number[] = [], ortS: number[] = [];
    let onnx: string | undefined;
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? ['ours', 'torch'] : ['torch', 'ours'];
      for (const side of order) {
        if (side === 'ours') {
          fwd.push(oursForward(m, ids));
          dec.push(await oursDecode(m, prompt, 128));
        } else {
          const t = torchRound(r);
          if (!t) continue;
          if (r === 0) {
            // Same model check: the prompt's last-position logits agree (float32 on both sides).
            const ours = noGrad(() => { const { logits } = m.forward([prompt]); const a = logits.toFloat32Array().slice((prompt.length - 1) * cfg.embedding_size); logits.dispose(); return a; });
            let num = 0, den = 0;
            for (let i = 0; i < ours.length; i++) { num += (ours[i]! - t.prompt_last_logits[i]!) ** 2; den += ours[i]! ** 2; }
            const rel = Math.sqrt(num / den);
            if (!(rel < 1e-4)) throw new Error(`the PyTorch anchor is not the same model: prompt logits differ (relative L2 ${rel})`);
            onnx = t.onnx;
          }
          tFwd.push(t.forward_s);
          tDec.push(t.decode_s);
        }
      }
      if (onnx) { const o = await ortForward(onnx, ids); if (o) ortS.push(o); }
      console.log(`[bench/model] ${name} round ${r + 1}/${ROUNDS}: fwd ours ${(B * T / fwd.at(-1)!).toFixed(0)} / torch ${tFwd.length ? (B * T / tFwd.at(-1)!).toFixed(0) : 'n/a'} tok/s; decode ours ${(128 / dec.at(-1)!).toFixed(1)} / torch ${tDec.length ? (128 / tDec.at(-1)!).toFixed(1) : 'n/a'} tok/s; ${uptime()}`);
    }
    const embBytes = cfg.embedding_size * cfg.hidden_size * 4;
    const weightBytes = m.numParameters() * 4 - (cfg.tie_word_embeddings ? 0 : embBytes); // the lookup reads one row
    const floor = (bw * 1e9) / weightBytes;
    m.dispose();
    const tok = B * T;
    const rate = (n: number, xs: number[]) => xs.map((x) => n / x);
    const ratio = (ours: number[], theirs: number[]) => (theirs.length === ours.length ? fmtSpread(theirs.map((t, i) => t / ours[i]!), 2, '×') : 'n/a');
    table.push(`| ${name} (B ${B}, T ${T}) | ${fmtSpread(rate(tok, fwd), 0)} | ${tFwd.length ? fmtSpread(rate(tok, tFwd), 0) : 'n/a'} | ${ortS.length ? fmtSpread(rate(tok, ortS), 0) : 'n/a'} | ${ratio(fwd, tFwd)} | ${ratio(fwd, ortS)} | ` +
      `${fmtSpread(rate(128, dec), 1)} | ${tDec.length ? fmtSpread(rate(128, tDec), 1) : 'n/a'} | ${ratio(dec, tDec)} | ${floor.toFixed(0)} | ${((128 / median(dec)) / floor * 100).toFixed(0)}% |`);
    console.log(table.at(-1));
    writeResults();
  }
});
