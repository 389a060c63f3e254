/**
 * `olmo generate` (also the package's own `olmo-generate` bin): streams generated text to stdout.
 * The tokenizer comes from @olmo/tokenizer (an optional peer dependency, imported at run time);
 * without --tokenizer, DIR/tokenizer.json is used. `--prompt-ids 1,2,3` works without a tokenizer
 * and prints ids.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { defineCommand, EXIT, parseCommandArgs, runMain, type CliIO, type CommandSpec, type Device } from '@olmo/tensor-cuda';
import { OlmoError } from './errors.js';
import { generateText, type GenerateOptions, type TokenizerLike } from './generate.js';
import { OLMo } from './model.js';
import type { Quantization, WeightDType } from './weights.js';

export const GENERATE_SPEC: CommandSpec = {
  name: 'olmo generate',
  summary: 'generate text from an HF-format OLMo model folder',
  details: 'Give --prompt (needs a tokenizer) or --prompt-ids (prints token ids; no tokenizer needed).',
  options: [
    { name: 'model', type: 'string', value: 'DIR', required: true, description: 'HF model folder (config.json + model.safetensors)' },
    { name: 'tokenizer', type: 'string', value: 'FILE', defaultText: 'DIR/tokenizer.json', description: 'HF tokenizer.json' },
    { name: 'prompt', type: 'string', value: 'TEXT', defaultText: 'none', description: 'prompt text' },
    { name: 'prompt-ids', type: 'string', value: '1,2,3', defaultText: 'none', description: 'prompt as token ids (prints ids)' },
    { name: 'max-new-tokens', type: 'integer', value: 'N', min: 1, default: 64, description: 'tokens to generate' },
    { name: 'temperature', type: 'number', value: 'T', min: 0, default: 0, description: 'sampling temperature (0 = greedy)' },
    { name: 'top-k', type: 'integer', value: 'K', default: 0, description: 'sample from the K most likely tokens (0 = all)' },
    { name: 'top-p', type: 'number', value: 'P', min: 0, default: 1, description: 'nucleus sampling mass' },
    { name: 'seed', type: 'integer', value: 'S', default: 0, description: 'sampling seed' },
    { name: 'device', type: 'string', value: 'cpu|cuda:N', default: 'cpu', description: 'compute device' },
    { name: 'dtype', type: 'string', value: 'float32|bfloat16', defaultText: 'float32; a .gguf: its own types', description: 'weight storage (activations stay float32)' },
    { name: 'quantize', type: 'string', value: 'q8_0', defaultText: 'none', description: 'quantize the linear layers\' weights' },
  ],
  examples: ['olmo generate --model runs/demo/model --prompt "Call me" --max-new-tokens 40 --temperature 0.8 --top-k 40'],
};

interface Args {
  model?: string;
  tokenizer?: string;
  prompt?: string;
  promptIds?: number[];
  device: Device;
  dtype?: WeightDType;
  quantize?: Quantization;
  gen: GenerateOptions;
  help: boolean;
}

/** Parses `olmo generate` arguments (a leading `generate` word is accepted). Throws INVALID_ARGUMENT. */
export function parseGenerateArgs(argv: string[]): Args {
  if (argv[0] === 'generate') argv = argv.slice(1);
  const { values, help } = parseCommandArgs({ ...GENERATE_SPEC, options: GENERATE_SPEC.options!.map((o) => ({ ...o, required: false })) }, argv);
  return argsFromValues(values, help);
}

function argsFromValues(v: Record<string, unknown>, help = false): Args {
  const gen: GenerateOptions = { maxNewTokens: v['max-new-tokens'] as number };
  if (v.temperature !== 0) gen.temperature = v.temperature as number;
  if (v['top-k'] !== 0) gen.topK = v['top-k'] as number;
  if (v['top-p'] !== 1) gen.topP = v['top-p'] as number;
  if (v.seed !== 0) gen.seed = v.seed as number;
  let promptIds: number[] | undefined;
  if (v['prompt-ids'] !== undefined) {
    promptIds = (v['prompt-ids'] as string).split(',').filter(Boolean).map((s) => {
      const n = Number(s);
      if (!Number.isSafeInteger(n) || n < 0) throw new OlmoError('INVALID_ARGUMENT', `--prompt-ids needs non-negative integers, got '${s}'`, '`olmo generate --help` lists the options');
      return n;
    });
  }
  return { model: v.model as string | undefined, tokenizer: v.tokenizer as string | undefined, prompt: v.prompt as string | undefined, promptIds, device: v.device as Device, dtype: v.dtype as WeightDType | undefined, quantize: v.quantize as Quantization | undefined, gen, help };
}

async function loadTokenizer(file: string): Promise<TokenizerLike> {
  let mod: { Tokenizer: { fromFile(p: string): Promise<TokenizerLike> } };
  try {
    const name = '@olmo/tokenizer';
    mod = (await import(name)) as typeof mod;
  } catch (e) {
    throw new OlmoError('NOT_FOUND', `--tokenizer needs the @olmo/tokenizer package: ${(e as Error).message}`, 'npm install @olmo/tokenizer, or pass --prompt-ids');
  }
  return mod.Tokenizer.fromFile(file);
}

export const generateCommand = defineCommand(GENERATE_SPEC, async ({ values }, t) => {
  const args = argsFromValues(values);
  if (args.prompt === undefined && !args.promptIds) throw new OlmoError('INVALID_ARGUMENT', 'pass --prompt TEXT or --prompt-ids 1,2,3', '`olmo generate --help` lists the options');
  let model: OLMo | null = null;
  try {
    // unknown dtype / quantize values are typed errors from fromPretrained
    model = await OLMo.fromPretrained(args.model!, { device: args.device, ...(args.dtype ? { dtype: args.dtype } : {}), ...(args.quantize ? { quantize: args.quantize } : {}) });
    const gen = { ...args.gen, signal: t.signal };
    if (args.promptIds) {
      for await (const id of model.generate(args.promptIds, gen)) t.write(`${id} `);
      t.write('\n');
      return 0;
    }
    const tokFile = args.tokenizer ?? path.join(args.model!, 'tokenizer.json');
    if (!existsSync(tokFile)) throw new OlmoError('NOT_FOUND', `tokenizer ${tokFile} does not exist`, args.tokenizer ? 'check the path' : 'pass --tokenizer FILE (an HF tokenizer.json) or --prompt-ids; model folders written by olmo demo / train / checkpoint unshard include tokenizer.json');
    const tok = await loadTokenizer(tokFile);
    for await (const piece of generateText(model, tok, args.prompt!, gen)) t.write(piece);
    t.write('\n');
    return 0;
  } catch (e) {
    // Ctrl-C (the bin aborts io.signal): stop quietly with the conventional exit code
    if (t.signal?.aborted) { t.write('\n'); return t.signal.reason === 'SIGTERM' ? EXIT.SIGTERM : EXIT.SIGINT; }
    throw e;
  } finally {
    model?.dispose();
  }
});

/** Runs `olmo generate` as a program: returns the exit code; errors are printed in the standard format. */
export function runGenerateCli(argv: string[], io: CliIO = {}): Promise<number> {
  return runMain(generateCommand, argv[0] === 'generate' ? argv.slice(1) : argv, io);
}
