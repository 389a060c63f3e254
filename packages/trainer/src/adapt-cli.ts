/**
 * `olmo adapt CONFIG.yaml [--key.path=value ...]` — SFT or DPO fine-tuning from a config (see
 * adapt-config.ts): loads the model (init_from), the tokenizer and the jsonl data (skips are
 * counted and printed), runs AdaptTrainer with the held-out evaluators (SFT cross-entropy on
 * their jsonl), resumes from load_path, and saves save_folder/stepN (model/ is an HF folder).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { formatHelp, noGrad, OlmoError, parseCommandArgs, terminal, type CliIO, type CommandSpec } from '@olmo/tensor-cuda';
import { ADAPT_DEFAULTS, loadAdaptConfig, type AdaptConfig } from './adapt-config.js';
import { AdaptTrainer, type AdaptEvaluator, type AdaptResult } from './adapt.js';
import { sftBatch, sftLoss } from './sft.js';

/** `key: default` for every adaptation config key (nested sections flattened to dotted paths). */
function keyDefaults(o: Record<string, unknown> = ADAPT_DEFAULTS as unknown as Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' && !Array.isArray(v)
    ? keyDefaults(v as Record<string, unknown>, `${prefix}${k}.`)
    : [`  ${prefix}${k}: ${JSON.stringify(v)}`]));
}

export const ADAPT_SPEC: CommandSpec = {
  name: 'olmo adapt',
  summary: 'fine-tune a model: SFT on chat data or DPO on preference pairs, from an OLMo-style YAML config',
  details: 'Fine-tunes init_from (an HF folder or an adaptation checkpoint stepN/) with mode: sft (jsonl of\n{"messages": [...]}) or mode: dpo (jsonl of {"prompt", "chosen", "rejected"}). Examples:\nconfigs/adapt-sft.yaml, configs/adapt-dpo.yaml. Config keys and their defaults:\n' + keyDefaults().join('\n'),
  positionals: [{ name: 'CONFIG.yaml', description: 'adaptation config', required: true }],
  overrides: 'set any key above (parsed as YAML): --dpo.beta=0.05 --data.paths=[chat.jsonl]',
  examples: ["olmo adapt configs/adapt-sft.yaml --init_from=runs/demo/model --data.paths='[chat.jsonl]'"],
};

/** The generated help of ADAPT_SPEC (what `olmo adapt --help` prints). */
export const ADAPT_USAGE = formatHelp(ADAPT_SPEC).trimEnd();

/** An adaptation checkpoint stepN/ holds the HF folder in model/. */
function modelFolder(p: string): string {
  return existsSync(join(p, 'state.json')) && existsSync(join(p, 'model', 'config.json')) ? join(p, 'model') : p;
}

export async function runAdapt(c: AdaptConfig, log: (s: string) => void = (s) => process.stdout.write(s + '\n')): Promise<AdaptResult> {
  const { OLMo } = await import('@olmo/model');
  const { Tokenizer } = await import('@olmo/tokenizer');
  const data = await import('@olmo/data');
  const mdir = modelFolder(c.init_from);
  if (!existsSync(join(mdir, 'config.json'))) throw new OlmoError('NOT_FOUND', `init_from ${c.init_from} is not a model folder (no config.json)`, 'point init_from at an HF folder or an adaptation checkpoint stepN/');
  const tp = c.tokenizer ?? mdir;
  const tok = existsSync(tp) && statSync(tp).isDirectory() ? await Tokenizer.fromPretrained(tp) : await Tokenizer.fromFile(tp);
  const enc = { maxLength: c.max_length, overLength: c.over_length };
  let sft: import('@olmo/data').SftExample[] | undefined, dpo: import('@olmo/data').DpoPair[] | undefined;
  for (const p of c.data.paths) {
    if (c.mode === 'sft') {
      const r = await data.readSftJsonl(p, tok, enc);
      (sft ??= []).push(...r.examples);
      log(`[adapt] ${p}: ${r.stats.kept}/${r.stats.read} examples (${r.stats.truncated} truncated; skipped ${JSON.stringify(r.stats.skipped)})`);
    } else {
      const r = await data.readDpoJsonl(p, tok, enc);
      (dpo ??= []).push(...r.pairs);
      log(`[adapt] ${p}: ${r.stats.kept}/${r.stats.read} pairs (${r.stats.truncated} truncated; skipped ${JSON.stringify(r.stats.skipped)})`);
    }
  }
  const model = await OLMo.fromPretrained(mdir);
  const evaluators: AdaptEvaluator[] = [];
  for (const ev of c.evaluators) {
    const exs: import('@olmo/data').SftExample[] = [];
    for (const p of ev.data.paths) exs.push(...(await data.readSftJsonl(p, tok, enc)).examples);
    evaluators.push({
      label: ev.label, interval: c.eval_interval,
      run: () => noGrad(() => {
        let ce = 0, n = 0;
        for (let i = 0; i < exs.length; i += c.device_train_microbatch_size) {
          const rows = sftBatch(exs.slice(i, i + c.device_train_microbatch_size), { padId: tok.padTokenId, packing: c.packing, seqLen: c.max_length });
          const o = sftLoss(model, rows, { normalization: 'sum' });
          ce += o.ceSum; n += o.tokens;
          o.loss.dispose();
        }
        return { CrossEntropyLoss: ce / Math.max(1, n) };
      }),
    });
  }
  const t = new AdaptTrainer({
    mode: c.mode, model, sft, dpo, padId: tok.padTokenId, seqLen: c.max_length, packing: c.packing,
    batchSize: c.global_train_batch_size, microBatchSize: c.device_train_microbatch_size, maxSteps: c.max_duration,
    lr: c.optimizer.learning_rate, weightDecay: c.optimizer.weight_decay, betas: c.optimizer.betas as [number, number], eps: c.optimizer.eps,
    warmupSteps: c.scheduler.t_warmup, schedule: c.scheduler.name === 'constant_with_warmup' ? 'constant' : 'linear',
    maxGradNorm: c.max_grad_norm, normalization: c.loss_normalization, beta: c.dpo.beta, lossType: c.dpo.loss_type,
    seed: c.seed, saveFolder: c.save_folder, saveInterval: c.save_interval, evaluators, log,
  });
  if (c.load_path) { t.restore(c.load_path); log(`[adapt] resumed from ${c.load_path} at step ${t.step}`); }
  try {
    const r = await t.fit();
    await tok.save(join(c.save_folder, `step${t.step}`, 'model', 'tokenizer.json'));
    log(`[adapt] done: ${c.save_folder}/step${t.step}/model (chat with it: olmo chat --model ${c.save_folder}/step${t.step}/model)`);
    return r;
  } finally {
    model.dispose();
  }
}

export async function runAdaptCli(argv: string[], io: CliIO = {}): Promise<number> {
  const t = terminal(io);
  if (argv[0] === 'adapt') argv = argv.slice(1);
  const { positionals, overrides, help } = parseCommandArgs(ADAPT_SPEC, argv);
  if (help) { t.print(ADAPT_USAGE); return 0; }
  if (positionals.length !== 1) throw new OlmoError('INVALID_ARGUMENT', 'olmo adapt needs exactly one CONFIG.yaml', '`olmo adapt --help` lists the keys');
  await runAdapt(loadAdaptConfig(positionals[0]!, overrides), (s) => t.print(s));
  return 0;
}
