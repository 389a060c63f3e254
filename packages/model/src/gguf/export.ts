/**
 * `olmo export gguf`: an HF OLMo folder (config.json + safetensors + tokenizer.json) → one GGUF v3
 * file that llama.cpp loads (arch `olmo` for OLMo-1, `olmo2` for OLMo-2; tensor names and
 * metadata keys as llama.cpp's convert_hf_to_gguf.py writes them). Tensors stream one at a time
 * from the safetensors shards (any of F32/BF16/F16 inputs), so peak memory is one tensor, never
 * the model.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { OLMoConfig, headDim, parameterSpecs } from '../config.js';
import { CheckpointError, NotFoundError, OlmoError } from '../errors.js';
import { SafetensorsSet } from '../safetensors.js';
import { FILE_TYPE, GGUF_TENSOR_TYPES, Q8_0_BLOCK, ValueType, ggufTensorName, permuteRopeRows, type GgufArch, type GgufTensorType } from './format.js';
import { tokenizerMetadata } from './tokenizer-metadata.js';
import { writeGguf, type GgufTensorEntry, type GgufValue } from './writer.js';
import { formatHelp, parseCommandArgs, terminal, type CliCommand, type CommandSpec } from '@olmo/tensor-cuda';

export interface ExportGgufOptions {
  /** HF model folder (config.json + model.safetensors or a sharded set). */
  model: string;
  out: string;
  /** Type of the 2-D weights (1-D norm weights are always f32, as llama.cpp's converter does). Default f32. */
  type?: GgufTensorType;
  /** tokenizer.json to embed (default: MODEL/tokenizer.json). */
  tokenizer?: string;
  /** llama.cpp pre-tokenizer name, when it cannot be detected from tokenizer.json. */
  tokenizerPre?: string;
  /** `general.name` (default: the folder name). */
  name?: string;
}

/** The llama.cpp architecture for a config. */
export function ggufArch(c: OLMoConfig): GgufArch {
  return c.architecture === 'olmo2' ? 'olmo2' : 'olmo';
}

/** Model hyperparameters as GGUF metadata (the keys llama.cpp's OLMo / OLMo-2 loaders read). */
export function configMetadata(c: OLMoConfig, type: GgufTensorType, name: string): Map<string, GgufValue> {
  const arch = ggufArch(c);
  const m = new Map<string, GgufValue>();
  const u32 = (k: string, v: number) => m.set(k, { type: ValueType.UINT32, value: v });
  const f32 = (k: string, v: number) => m.set(k, { type: ValueType.FLOAT32, value: v });
  m.set('general.architecture', { type: ValueType.STRING, value: arch });
  m.set('general.type', { type: ValueType.STRING, value: 'model' });
  m.set('general.name', { type: ValueType.STRING, value: name });
  u32(`${arch}.block_count`, c.num_hidden_layers);
  u32(`${arch}.context_length`, c.max_position_embeddings);
  u32(`${arch}.embedding_length`, c.hidden_size);
  u32(`${arch}.feed_forward_length`, c.intermediate_size);
  u32(`${arch}.attention.head_count`, c.num_attention_heads);
  u32(`${arch}.attention.head_count_kv`, c.num_key_value_heads);
  f32(`${arch}.rope.freq_base`, c.rope_theta);
  u32(`${arch}.rope.dimension_count`, headDim(c));
  if (arch === 'olmo') {
    f32(`${arch}.attention.layer_norm_epsilon`, c.layer_norm_eps);
    if (c.clip_qkv !== null) f32(`${arch}.attention.clamp_kqv`, c.clip_qkv);
  } else f32(`${arch}.attention.layer_norm_rms_epsilon`, c.layer_norm_eps);
  u32(`${arch}.vocab_size`, c.embedding_size);
  u32('general.file_type', FILE_TYPE[type]);
  u32('general.quantization_version', 2);
  // Not read by llama.cpp; keeps our round trip lossless (the tokenizer's real vocabulary size).
  u32('olmo_ts.vocab_size', c.vocab_size);
  return m;
}

/** The GGUF type of one parameter: norms stay f32; q8_0 needs rows that are a multiple of 32 (else f16, as the converter falls back). */
export function tensorTypeFor(shape: readonly number[], type: GgufTensorType): GgufTensorType {
  if (shape.length < 2) return 'f32';
  if (type === 'q8_0' && shape[shape.length - 1]! % Q8_0_BLOCK !== 0) return 'f16';
  return type;
}

/** Exports an HF OLMo folder to GGUF. Returns the tensor count and the file written. */
export async function exportGguf(opts: ExportGgufOptions): Promise<{ file: string; tensors: number }> {
  const type = opts.type ?? 'f32';
  if (!GGUF_TENSOR_TYPES.includes(type)) throw new OlmoError('INVALID_ARGUMENT', `unknown GGUF type '${String(type)}'`, `use one of ${GGUF_TENSOR_TYPES.join(', ')}`);
  const config = await OLMoConfig.load(opts.model);
  const tokFile = opts.tokenizer ?? path.join(opts.model, 'tokenizer.json');
  let tokText: string;
  try {
    tokText = await readFile(tokFile, 'utf8');
  } catch (e) {
    throw new NotFoundError(`no tokenizer for the GGUF vocabulary: cannot read ${tokFile} (${(e as Error).message})`, 'pass --tokenizer FILE (the model\'s HF tokenizer.json)');
  }
  let tokJson: unknown;
  try {
    tokJson = JSON.parse(tokText);
  } catch (e) {
    throw new OlmoError('TOKENIZER_INVALID', `${tokFile} is not valid JSON: ${(e as Error).message}`, 'pass a valid HF tokenizer.json');
  }
  const meta = configMetadata(config, type, opts.name ?? path.basename(path.resolve(opts.model)));
  for (const [k, v] of tokenizerMetadata(tokJson, { embeddingSize: config.embedding_size, bos: config.bos_token_id, eos: config.eos_token_id, pad: config.pad_token_id, pre: opts.tokenizerPre, file: tokFile })) meta.set(k, v);

  const set = await SafetensorsSet.openDir(opts.model);
  try {
    const specs = parameterSpecs(config);
    for (const s of specs) {
      if (!set.has(s.name)) throw new CheckpointError(`${opts.model}: missing tensor '${s.name}'`, 'the checkpoint is incomplete');
      const info = set.info(s.name);
      if (info.shape.length !== s.shape.length || info.shape.some((d, i) => d !== s.shape[i])) {
        throw new CheckpointError(`${opts.model}: tensor '${s.name}' has shape [${info.shape.join(', ')}] but config.json implies [${s.shape.join(', ')}]`, 'config.json and the weights disagree');
      }
    }
    const olmo1 = config.architecture === 'olmo1';
    const entries: GgufTensorEntry[] = specs.map((s) => ({
      name: ggufTensorName(s.name),
      shape: s.shape,
      type: tensorTypeFor(s.shape, type),
      data: async () => {
        const w = await set.file(s.name).readFloat32(s.name);
        if (olmo1 && s.name.endsWith('self_attn.q_proj.weight')) return permuteRopeRows(w, s.shape[0]!, s.shape[1]!, config.num_attention_heads);
        if (olmo1 && s.name.endsWith('self_attn.k_proj.weight')) return permuteRopeRows(w, s.shape[0]!, s.shape[1]!, config.num_key_value_heads);
        return w;
      },
    }));
    // llama.cpp's OLMo-2 graph always reads `output.weight`; a tied OLMo-2 gets a copy of the embedding.
    if (!olmo1 && config.tie_word_embeddings) {
      const emb = specs[0]!;
      entries.push({ name: 'output.weight', shape: emb.shape, type: tensorTypeFor(emb.shape, type), data: () => set.file(emb.name).readFloat32(emb.name) });
    }
    await writeGguf(opts.out, meta, entries);
    return { file: opts.out, tensors: entries.length };
  } finally {
    await set.close();
  }
}

/** `olmo export gguf`: one spec gives the parser and the generated help (@olmo/tensor-cuda's cli layer). */
export const EXPORT_GGUF_SPEC: CommandSpec = {
  name: 'olmo export gguf',
  summary: 'write an HF OLMo / OLMo-2 folder as one GGUF v3 file that llama.cpp (and OLMo.fromPretrained) loads',
  details: 'The file is written atomically (temp file + rename). OLMo-1 q/k rows are permuted for llama.cpp\'s\ninterleaved RoPE (the reader undoes it); norms stay f32 whatever --type says.',
  options: [
    { name: 'model', type: 'string', value: 'DIR', required: true, description: 'HF folder: config.json + model.safetensors (or a sharded set)' },
    { name: 'out', type: 'string', value: 'FILE', required: true, description: 'the .gguf file to write' },
    { name: 'type', type: 'string', choices: GGUF_TENSOR_TYPES, default: 'f32', description: 'type of the 2-D weights' },
    { name: 'tokenizer', type: 'string', value: 'FILE', defaultText: 'DIR/tokenizer.json', description: 'HF tokenizer.json for the GGUF vocabulary' },
    { name: 'tokenizer-pre', type: 'string', value: 'NAME', defaultText: 'detected: olmo / dbrx', description: 'llama.cpp pre-tokenizer name' },
    { name: 'name', type: 'string', value: 'NAME', defaultText: 'the folder name', description: 'general.name' },
  ],
  examples: ['olmo export gguf --model runs/demo/model --out demo-q8_0.gguf --type q8_0'],
};

/** The generated help of EXPORT_GGUF_SPEC (what `olmo export gguf --help` prints). */
export const EXPORT_USAGE = formatHelp(EXPORT_GGUF_SPEC).trimEnd();

/** Parses `[export] gguf --model DIR --out FILE ...`; 'help' for -h/--help. Throws INVALID_ARGUMENT. */
export function parseExportArgs(argv: string[]): ExportGgufOptions | 'help' {
  let args = argv[0] === 'export' ? argv.slice(1) : argv;
  if (args.length === 0) throw new OlmoError('INVALID_ARGUMENT', 'export needs a format: olmo export gguf ...', '`olmo export gguf --help` lists the options');
  if (args[0] === '-h' || args[0] === '--help') return 'help';
  if (args[0] !== 'gguf') throw new OlmoError('INVALID_ARGUMENT', `unknown export format '${args[0]}'`, 'the formats: gguf');
  args = args.slice(1);
  const { values: v, help } = parseCommandArgs({ ...EXPORT_GGUF_SPEC, options: EXPORT_GGUF_SPEC.options!.map((o) => ({ ...o, required: false })) }, args);
  if (help) return 'help';
  if (v.model === undefined) throw new OlmoError('INVALID_ARGUMENT', '--model DIR is required', '`olmo export gguf --help` lists the options');
  if (v.out === undefined) throw new OlmoError('INVALID_ARGUMENT', '--out FILE is required', '`olmo export gguf --help` lists the options');
  return {
    model: v.model as string, out: v.out as string, type: v.type as GgufTensorType,
    ...(v.tokenizer !== undefined ? { tokenizer: v.tokenizer as string } : {}),
    ...(v['tokenizer-pre'] !== undefined ? { tokenizerPre: v['tokenizer-pre'] as string } : {}),
    ...(v.name !== undefined ? { name: v.name as string } : {}),
  };
}

/**
 * `olmo export gguf ...`: prints the usage for -h/--help (exit 0, nothing else happens); otherwise
 * exports and returns 0. Errors are thrown as OlmoError (the caller prints them).
 */
export async function runExportCli(argv: string[], io: { stdout?: NodeJS.WritableStream } = {}): Promise<number> {
  const out = io.stdout ?? process.stdout;
  const parsed = parseExportArgs(argv);
  if (parsed === 'help') { out.write(EXPORT_USAGE + '\n'); return 0; }
  const r = await exportGguf(parsed);
  out.write(`wrote ${r.file} (${r.tensors} tensors, ${parsed.type ?? 'f32'})\n`);
  return 0;
}

/** `olmo export` as an entry of the `olmo` command table (errors print in the standard format). */
export const exportCommand: CliCommand = {
  summary: 'export a model folder to another format (gguf: llama.cpp)',
  spec: EXPORT_GGUF_SPEC,
  run: (argv, io) => {
    const t = terminal(io);
    return runExportCli(argv, { stdout: { write: (s: string) => { t.write(s); return true; } } as unknown as NodeJS.WritableStream });
  },
};
