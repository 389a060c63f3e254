/**
 * `olmo-generate --model DIR [--tokenizer FILE] --prompt "..." [--max-new-tokens N --temperature T
 *  --top-k K --top-p P --seed S --device cpu|cuda:N --dtype float32|bfloat16 --quantize q8_0]` — streams
 *  generated text to stdout. --dtype / --quantize choose the weight storage (OLMo.fromPretrained).
 * The tokenizer comes from @olmo/tokenizer (an optional peer dependency, imported at run time);
 * without --tokenizer, DIR/tokenizer.json is used. `--prompt-ids 1,2,3` works without a tokenizer
 * and prints ids.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Device } from '@olmo/tensor-cuda';
import { OlmoError } from './errors.js';
import { generateText, type GenerateOptions, type TokenizerLike } from './generate.js';
import { OLMo } from './model.js';
import type { Quantization, WeightDType } from './weights.js';

const USAGE = `usage: olmo-generate --model DIR [--tokenizer FILE] --prompt "..." [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S] [--device cpu|cuda:N]
                     [--dtype float32|bfloat16] [--quantize q8_0]
       olmo-generate --model DIR --prompt-ids 1,2,3 [...]   (no tokenizer: prints ids)`;

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

export function parseGenerateArgs(argv: string[]): Args {
  const a: Args = { device: 'cpu', gen: { maxNewTokens: 64 }, help: false };
  if (argv[0] === 'generate') argv = argv.slice(1); // `olmo generate ...` spelling
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || v.trim() === '' || !Number.isFinite(n)) throw new OlmoError('INVALID_ARGUMENT', `${flag} needs a number, got ${JSON.stringify(v)}`, USAGE);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    let flag = argv[i]!;
    let val: string | undefined;
    const eq = flag.indexOf('=');
    if (flag.startsWith('--') && eq > 0) { val = flag.slice(eq + 1); flag = flag.slice(0, eq); }
    const next = () => {
      if (val !== undefined) return val;
      const v = argv[++i];
      if (v === undefined) throw new OlmoError('INVALID_ARGUMENT', `${flag} needs a value`, USAGE);
      return v;
    };
    switch (flag) {
      case '--model': a.model = next(); break;
      case '--tokenizer': a.tokenizer = next(); break;
      case '--prompt': a.prompt = next(); break;
      case '--prompt-ids': a.promptIds = next().split(',').filter(Boolean).map((s) => num('--prompt-ids', s)); break;
      case '--max-new-tokens': a.gen.maxNewTokens = num(flag, next()); break;
      case '--temperature': a.gen.temperature = num(flag, next()); break;
      case '--top-k': a.gen.topK = num(flag, next()); break;
      case '--top-p': a.gen.topP = num(flag, next()); break;
      case '--seed': a.gen.seed = num(flag, next()); break;
      case '--device': a.device = next() as Device; break;
      case '--dtype': a.dtype = next() as WeightDType; break;
      case '--quantize': a.quantize = next() as Quantization; break;
      case '-h': case '--help': a.help = true; break;
      default: throw new OlmoError('INVALID_ARGUMENT', `unknown argument '${flag}'`, USAGE);
    }
  }
  return a;
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

/** Runs the CLI; returns the exit code (never calls process.exit). */
export async function runGenerateCli(argv: string[], io: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream; signal?: AbortSignal } = {}): Promise<number> {
  const out = io.stdout ?? process.stdout, err = io.stderr ?? process.stderr;
  let args: Args;
  try {
    args = parseGenerateArgs(argv);
  } catch (e) {
    err.write(`${(e as Error).message}\n`);
    return 2;
  }
  if (args.help) { out.write(USAGE + '\n'); return 0; }
  if (!args.model || (args.prompt === undefined && !args.promptIds)) { err.write(USAGE + '\n'); return 2; }
  let model: OLMo | null = null;
  try {
    model = await OLMo.fromPretrained(args.model, { device: args.device, ...(args.dtype ? { dtype: args.dtype } : {}), ...(args.quantize ? { quantize: args.quantize } : {}) });
    const gen = { ...args.gen, signal: io.signal };
    if (args.promptIds) {
      const ids: number[] = [];
      for await (const id of model.generate(args.promptIds, gen)) { ids.push(id); out.write(`${id} `); }
      out.write('\n');
      return 0;
    }
    const tokFile = args.tokenizer ?? path.join(args.model, 'tokenizer.json');
    if (!existsSync(tokFile)) throw new OlmoError('NOT_FOUND', `no tokenizer: ${tokFile} does not exist`, 'pass --tokenizer FILE (an HF tokenizer.json) or --prompt-ids');
    const tok = await loadTokenizer(tokFile);
    for await (const piece of generateText(model, tok, args.prompt!, gen)) out.write(piece);
    out.write('\n');
    return 0;
  } catch (e) {
    const ex = e as Error & { code?: string };
    err.write(`olmo-generate: ${ex.code ? `[${ex.code}] ` : ''}${ex.message}\n`);
    return 1;
  } finally {
    model?.dispose();
  }
}
