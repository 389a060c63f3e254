/**
 * The `olmo` command.
 *
 *   olmo train CONFIG.yaml [--dotted.key=value ...]   train (prints the resolved config)
 *   olmo config CONFIG.yaml [--dotted.key=value ...]  print the resolved config and exit
 *   olmo checkpoint DIR                               print a checkpoint's trainer state
 *   olmo checkpoint unshard DIR --out HF_DIR          any checkpoint (sharded or not) → HF model folder
 *   olmo demo [--out DIR] [--steps N] [--key=value]   the main job (corpus → tokenizer → train → eval → generate → report)
 *   olmo data ...       → @olmo/data     (prepare | inspect | order)
 *   olmo eval ...       → @olmo/eval
 *   olmo generate ...   → @olmo/model
 *   olmo export gguf ... → @olmo/model (HF folder → llama.cpp GGUF)
 */
import { OlmoError } from '@olmo/tensor-cuda';
import { configToYAML, loadConfig } from './config.js';
import { buildModel } from './model.js';
import { EvaluatorCallback } from './callbacks.js';
import { configEvaluator } from './evaluate.js';
import { Trainer } from './trainer.js';
import { setRankThreads } from './fsdp.js';
import { readTrainerState, resolveCheckpoint } from './checkpoint.js';

type Out = (s: string) => void;
const USAGE = `usage: olmo <command> [...]
  train CONFIG.yaml [--key.path=value ...]   train a model (OLMo-style YAML config; overrides parsed as YAML)
  config CONFIG.yaml [--key.path=value ...]  print the resolved config
  checkpoint DIR                             show a checkpoint's trainer state
  checkpoint unshard DIR --out HF_DIR        write an HF-format model from a (sharded) checkpoint
  demo [--out DIR] [--steps N] [--key.path=value ...]  the one-command main job
  data prepare|inspect|order ...             corpus preparation and data order (@olmo/data)
  eval --model DIR ...                       evaluation (@olmo/eval)
  export gguf --model DIR --out FILE [--type f32|f16|bf16|q8_0]  llama.cpp GGUF file (@olmo/model)
  generate --model DIR --prompt "..."        text generation (@olmo/model)`;

function splitArgs(args: string[]): { positional: string[]; overrides: string[] } {
  const positional: string[] = [], overrides: string[] = [];
  for (const a of args) (a.startsWith('--') || /^[A-Za-z_][\w.]*=/.test(a) ? overrides : positional).push(a);
  return { positional, overrides };
}

export async function runTrain(args: string[], out: Out = (s) => process.stdout.write(s + '\n')): Promise<Trainer> {
  // under mpirun only rank 0 prints
  if (Number(process.env.OMPI_COMM_WORLD_RANK ?? process.env.PMI_RANK ?? 0) !== 0) out = () => {};
  setRankThreads();
  const { positional, overrides } = splitArgs(args);
  if (positional.length > 1) throw new OlmoError('CONFIG_INVALID', `expected one config file, got ${positional.join(' ')}`, 'olmo train CONFIG.yaml [--key=value ...]');
  const cfg = loadConfig(positional[0] ?? null, overrides);
  out('resolved config:\n' + configToYAML(cfg).replace(/^/gm, '  '));
  const model = await buildModel(cfg);
  const evalFn = await configEvaluator(cfg, model);
  const extra = evalFn ? [new EvaluatorCallback(cfg.eval_interval, evalFn)] : [];
  const t = await Trainer.fromConfig(cfg, { model, extraCallbacks: extra, log: out });
  const r = await t.fit();
  if (t.dist) { t.dist.barrier(); t.dist.pg.destroy(); }
  out(`[olmo] done: ${r.step} steps, ${r.tokens} tokens${r.metrics ? `, final train/CrossEntropyLoss ${r.metrics['train/CrossEntropyLoss']!.toFixed(4)}` : ''}`);
  return t;
}

async function delegate(pkg: string, names: string[], args: string[]): Promise<number> {
  const mod = (await import(pkg)) as Record<string, unknown>;
  for (const n of names) if (typeof mod[n] === 'function') {
    const r = await (mod[n] as (a: string[]) => Promise<number | void>)(args);
    return typeof r === 'number' ? r : 0;
  }
  throw new OlmoError('NATIVE_UNAVAILABLE', `${pkg} does not provide a CLI (${names.join(' / ')})`, `update ${pkg}`);
}

/** Runs the CLI; returns the exit code (errors print `error CODE: message`). */
export async function runCli(argv: string[]): Promise<number> {
  const [cmd, ...args] = argv;
  try {
    switch (cmd) {
      case 'train': await runTrain(args); return 0;
      case 'config': {
        const { positional, overrides } = splitArgs(args);
        process.stdout.write(configToYAML(loadConfig(positional[0] ?? null, overrides)));
        return 0;
      }
      case 'checkpoint': {
        if (!args[0]) throw new OlmoError('INVALID_ARGUMENT', 'olmo checkpoint DIR');
        if (args[0] === 'unshard') {
          const oi = args.findIndex((a) => a === '--out' || a.startsWith('--out='));
          const outDir = oi < 0 ? undefined : args[oi]!.startsWith('--out=') ? args[oi]!.slice(6) : args[oi + 1];
          const src = args.slice(1).find((a, i) => !a.startsWith('--') && args[i] !== '--out');
          if (!src || !outDir) throw new OlmoError('INVALID_ARGUMENT', 'olmo checkpoint unshard DIR --out HF_DIR');
          const { unshardCheckpoint } = await import('./sharded-checkpoint.js');
          const dir = resolveCheckpoint(src);
          const files = await unshardCheckpoint(dir, outDir);
          process.stdout.write(`unsharded ${dir} → ${outDir} (${files.length ? files.join(', ') : 'model.safetensors'})\n`);
          return 0;
        }
        const dir = resolveCheckpoint(args[0]);
        const s = readTrainerState(dir);
        process.stdout.write(JSON.stringify({ dir, ...s, config: undefined, config_yaml: undefined }, null, 2) + '\n');
        return 0;
      }
      case 'demo': { const { runDemo } = await import('./demo.js'); await runDemo(args); return 0; }
      case 'data': return await delegate('@olmo/data', ['runDataCli'], args);
      case 'eval': return await delegate('@olmo/eval', ['runEvalCli', 'runCli', 'main'], args);
      case 'generate': return await delegate('@olmo/model', ['runGenerateCli'], args);
      case 'export': return await delegate('@olmo/model', ['runExportCli'], args);
      case undefined: case '-h': case '--help': case 'help':
        process.stdout.write(USAGE + '\n');
        return cmd === undefined ? 1 : 0;
      default:
        process.stderr.write(`unknown command '${cmd}'\n${USAGE}\n`);
        return 2;
    }
  } catch (e) {
    if (e instanceof OlmoError) {
      const rank = process.env.OMPI_COMM_WORLD_SIZE && Number(process.env.OMPI_COMM_WORLD_SIZE) > 1 ? `[rank ${process.env.OMPI_COMM_WORLD_RANK}] ` : '';
      process.stderr.write(`\n${rank}error ${e.code}: ${e.message}\n`);
      return e.code === 'NON_FINITE' ? 3 : 1;
    }
    throw e;
  }
}
