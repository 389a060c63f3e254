/**
 * HF checkpoint IO for OLMo: OLMo.fromPretrained (an HF folder, validated against config.json, or
 * a `*.gguf` file through gguf/load.ts) and OLMo.savePretrained (config.json, generation_config.json
 * and safetensors shards that transformers loads).
 */
import { mkdir, rename, writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { QTensor, Tensor, dequantize, noGrad, type Device } from '@olmo/tensor-cuda';
import { OLMoConfig, parameterSpecs, type ParamSpec } from './config.js';
import { CheckpointError, OlmoError } from './errors.js';
import type { OLMo } from './model.js';
import { SafetensorsSet, saveSafetensorsDir, type SaveDType } from './safetensors.js';
import { loadLowpWeights, parsePrecision, type Precision, type Quantization, type Weight, type WeightDType } from './weights.js';

export interface FromPretrainedOptions {
  device?: Device;
  /**
   * Weight storage dtype (default 'float32'; for a GGUF file given neither dtype nor quantize:
   * the file's own types). 'bfloat16' keeps weights in bf16 — mapped straight from a bf16
   * checkpoint on the cpu, no copy — for inference; activations stay float32.
   */
  dtype?: WeightDType;
  /** 'q8_0': linear weights as llama.cpp Q8_0 blocks (8.5 bits/weight; cpu only; inference; mapped from a q8_0 GGUF). */
  quantize?: Quantization;
  /** Mark parameters as requiring gradients (default false: inference). */
  requiresGrad?: boolean;
  /** Reject tensors the model does not use (default true). */
  strict?: boolean;
}

/**
 * How the loader gets a model (OLMo's constructor is private): float32 with its own flat buffer
 * when called with the config alone, else over the given precision and weights.
 */
export type BuildModel = (config: OLMoConfig, precision?: Precision, weights?: Map<string, Weight>) => OLMo;

/** OLMo.fromPretrained (see there). */
export async function loadPretrained(dir: string, opts: FromPretrainedOptions, build: BuildModel): Promise<OLMo> {
  const known = new Set(['device', 'dtype', 'quantize', 'requiresGrad', 'strict']);
  const unknown = Object.keys(opts).filter((k) => !known.has(k));
  if (unknown.length) throw new OlmoError('INVALID_ARGUMENT', `fromPretrained: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`, `valid options: ${[...known].join(', ')}`);
  if (/\.gguf$/i.test(dir)) {
    // GGUF: the file's own types unless dtype / quantize say otherwise (gguf/load.ts).
    const { loadGguf } = await import('./gguf/load.js');
    return loadGguf(dir, opts, (config, precision, weights) => build(config, precision, weights ?? undefined));
  }
  const precision = parsePrecision(opts, 'fromPretrained', opts.device ?? 'cpu');
  const lowPrecision = precision.dtype !== 'float32' || precision.quantize !== null;
  if (lowPrecision && opts.requiresGrad) {
    throw new OlmoError('DTYPE_UNSUPPORTED', `fromPretrained: ${precision.quantize ?? precision.dtype} weights are for inference and cannot require grad`, 'load in float32 to train');
  }
  const config = await OLMoConfig.load(dir);
  const set = await SafetensorsSet.openDir(dir);
  let model: OLMo | null = null;
  try {
    const specs = parameterSpecs(config);
    const expected = new Set(specs.map((s) => s.name));
    const missing = specs.filter((s) => !set.has(s.name)).map((s) => s.name);
    if (missing.length) {
      throw new CheckpointError(`${dir}: missing tensors ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` (+${missing.length - 5} more)` : ''}`,
        config.tie_word_embeddings ? 'the checkpoint is incomplete' : 'the checkpoint is incomplete (or config.json should say tie_word_embeddings: true)');
    }
    if (opts.strict !== false) {
      const unexpected = set.names().filter((n) => !expected.has(n) && !/rotary_emb\.inv_freq$/.test(n));
      if (unexpected.length) {
        throw new CheckpointError(`${dir}: unexpected tensors ${unexpected.slice(0, 5).join(', ')}${unexpected.length > 5 ? ` (+${unexpected.length - 5} more)` : ''}`,
          'config.json does not describe this checkpoint (architecture, layer count, tie_word_embeddings), or pass { strict: false }');
      }
    }
    for (const s of specs) {
      const info = set.info(s.name);
      if (info.shape.length !== s.shape.length || info.shape.some((d, i) => d !== s.shape[i])) {
        throw new CheckpointError(`${dir}: tensor '${s.name}' has shape [${info.shape.join(', ')}] but config.json implies [${s.shape.join(', ')}]`, 'config.json and the weights disagree');
      }
    }
    if (lowPrecision) {
      const weights = await loadLowpWeights(set, specs, precision, opts.device ?? 'cpu');
      return build(config, precision, weights);
    }
    model = build(config);
    for (const s of specs) {
      const view = model.flat!.view(s.name);
      await set.file(s.name).readChunks(s.name, (vals, off) => view.buf.write(view.byteOffset + off * 4, vals));
    }
    model.requiresGrad_(opts.requiresGrad ?? false);
    return model;
  } catch (e) {
    model?.dispose();
    throw e;
  } finally {
    await set.close();
  }
}

/** OLMo.savePretrained: writes config.json and the weights (HF names, loadable by transformers) into `dir`. */
export async function savePretrained(
  dir: string, config: OLMoConfig, specs: readonly ParamSpec[], weight: (name: string) => Tensor | QTensor,
  opts: { dtype?: SaveDType; maxShardSize?: number | string },
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const entries = specs.map((s) => {
    const w = weight(s.name);
    if (w instanceof QTensor) return { name: s.name, shape: s.shape, data: () => noGrad(() => { const d = dequantize(w); try { return d.toFloat32Array(); } finally { d.dispose(); } }) };
    return {
      name: s.name, shape: s.shape, data: () => noGrad(() => w.toFloat32Array()),
      // bf16 weights saved as bf16: the bytes as they are (no float32 copy of a 7B-size tensor)
      raw: w.dtype === 'bfloat16' ? { dtype: 'BF16' as const, bytes: () => new Uint8Array(w.buf.read(w.byteOffset, w.size * 2)) } : undefined,
    };
  });
  const files = await saveSafetensorsDir(dir, entries, { dtype: opts.dtype, maxShardSize: opts.maxShardSize });
  const cfgFile = path.join(dir, 'config.json');
  const tmp = `${cfgFile}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, JSON.stringify(OLMoConfig.toHF(config, opts.dtype ?? 'float32'), null, 2) + '\n');
    await rename(tmp, cfgFile);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  const gen: Record<string, unknown> = { _from_model_config: true, eos_token_id: config.eos_token_id, pad_token_id: config.pad_token_id };
  if (config.bos_token_id !== null) gen.bos_token_id = config.bos_token_id;
  await writeFile(path.join(dir, 'generation_config.json'), JSON.stringify(gen, null, 2) + '\n');
  return [...files, cfgFile];
}
