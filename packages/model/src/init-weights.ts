/**
 * Draws a fresh model's weights: every parameter from its OLMo init distribution (init.ts), from one
 * seeded Generator in HF parameter order, so the same seed gives the same values in every precision.
 */
import { FlatBuffer, Generator, type Device } from '@olmo/tensor-cuda';
import type { OLMoConfig, ParamSpec } from './config.js';
import { initSpecFor, type InitSpec } from './init.js';
import { newStage, writeF32Chunk, type Quantization, type Weight, type WeightDType } from './weights.js';

export interface InitOptions {
  seed?: number;
  /** 'meta': shapes only, no storage (parameter counts and FLOPs at any size). */
  device?: Device | 'meta';
  /** Default true for float32 (a freshly initialised model is for training); false — and must stay false — for bfloat16 / q8_0 weights. */
  requiresGrad?: boolean;
  /** Weight storage dtype, as in fromPretrained (default 'float32'). */
  dtype?: WeightDType;
  /** 'q8_0' linear weights, as in fromPretrained. */
  quantize?: Quantization;
  /**
   * 'random' (default): every element drawn from its init distribution. 'tiled': one 2^20-value
   * random block per tensor, repeated — the right scale and no zeros, for throughput benchmarks at
   * 7B scale where drawing every element in JS takes minutes. Not for real training.
   */
  fill?: 'random' | 'tiled';
}

/** Fills arr with the next values of spec's distribution (ones for norm weights). */
function draw(gen: Generator, spec: InitSpec, arr: Float32Array): void {
  if (spec.kind === 'ones') arr.fill(1);
  else if (spec.cutoff === null) gen.fillNormal(arr, 0, spec.std);
  else gen.fillTruncNormal(arr, 0, spec.std, -spec.cutoff * spec.std, spec.cutoff * spec.std);
}

/** float32 weights, written into the model's flat buffer 2^20 values at a time. */
export function initFlatWeights(config: OLMoConfig, specs: readonly ParamSpec[], flat: FlatBuffer, seed: number, fill: InitOptions['fill']): void {
  const gen = new Generator(seed);
  for (const s of specs) {
    const spec = initSpecFor(config, s.name);
    const n = s.shape.reduce((a, b) => a * b, 1);
    const view = flat.view(s.name);
    const chunk = 1 << 20;
    const buf = new Float32Array(Math.min(n, chunk));
    const tiled = fill === 'tiled';
    for (let off = 0; off < n; off += chunk) {
      const k = Math.min(chunk, n - off);
      const arr = buf.subarray(0, k);
      if (tiled && off > 0) { view.buf.write(view.byteOffset + off * 4, buf.subarray(0, k)); continue; }
      draw(gen, spec, arr);
      view.buf.write(view.byteOffset + off * 4, arr);
    }
  }
}

/** Low-precision weights: the same float32 values (same seed), converted chunk by chunk. */
export function initLowpWeights(config: OLMoConfig, specs: readonly ParamSpec[], weights: Map<string, Weight>, seed: number): void {
  const gen = new Generator(seed);
  const stage = newStage();
  try {
    for (const s of specs) {
      const spec = initSpecFor(config, s.name);
      const n = s.shape.reduce((a, b) => a * b, 1);
      const w = weights.get(s.name)!;
      const row = s.shape.length === 2 ? s.shape[1]! : 1;
      const chunk = Math.max(1, Math.floor((1 << 20) / row)) * row;  // whole rows (q8_0 blocks)
      const buf = new Float32Array(Math.min(n, chunk));
      for (let off = 0; off < n; off += chunk) {
        const arr = buf.subarray(0, Math.min(chunk, n - off));
        draw(gen, spec, arr);
        writeF32Chunk(w, off, arr, stage);
      }
    }
  } finally {
    stage.dispose();
  }
}
