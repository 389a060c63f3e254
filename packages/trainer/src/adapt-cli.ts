/**
 * `olmo adapt CONFIG.yaml [--key.path=value ...]` — SFT or DPO fine-tuning from a config (see
 * adapt-config.ts): loads the model (init_from), the tokenizer and the jsonl data (skips are
 * counted and printed), runs AdaptTrainer with the held-out evaluators (SFT cross-entropy on
 * their jsonl), resumes from load_path, and saves save_folder/stepN (model/ is an HF folder).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { OlmoError, noGrad } from '@olmo/tensor-cuda';
import { loadAdaptConfig, type AdaptConfig } from './adapt-config.js';
import { AdaptTrainer, type AdaptEvaluator, type AdaptResult } from './adapt.js';
import { sftBatch, sftLoss } from './sft.js';

export const ADAPT_USAGE = `usage: olmo adapt CONFIG.yaml [--key.path=value ...]
  Fine-tunes init_from with mode: sft (jsonl of {"messages": [...]}) or mode: dpo
  (jsonl of {"prompt", "chosen", "rejected"}). See configs/adapt-sft.yaml, configs/adapt-dpo.yaml.`;

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

export async function runAdaptCli(argv: string[]): Promise<number> {
  if (argv[0] === 'adapt') argv = argv.slice(1);
  if (argv.includes('-h') || argv.includes('--help')) { process.stdout.write(ADAPT_USAGE + '\n'); return 0; }
  const positional = argv.filter((a) => !a.startsWith('--'));
  if (positional.length !== 1) throw new OlmoError('INVALID_ARGUMENT', 'olmo adapt needs exactly one CONFIG.yaml', ADAPT_USAGE);
  await runAdapt(loadAdaptConfig(positional[0]!, argv.filter((a) => a.startsWith('--'))));
  return 0;
}
