// A hand-written fine-tuning loop from the loop pieces: SFT with packed examples (document-aware
// attention) and then DPO against cached reference log-probs — the pieces AdaptTrainer is made of.
// Run after `olmo demo` (it writes runs/demo/model and runs/demo/tokenizer.json):
//   node --experimental-strip-types examples/sft-dpo-loop.ts   (Node >= 22.6; or compile with tsc)
import { OLMo } from '@olmo/model';
import { Tokenizer } from '@olmo/tokenizer';
import { encodeDpoPairs, encodeSftDataset } from '@olmo/data';
import { tidy } from '@olmo/tensor-cuda';
import { AdamW, clipGradNorm, countLabelledTargets, dpoStep, referenceLogps, sftBatch, sftLoss } from '@olmo/trainer';

const base = process.env.OLMO_EXAMPLE_BASE ?? 'runs/demo';
const tok = await Tokenizer.fromFile(`${base}/tokenizer.json`); // OLMo tokenizer → OLMo-2 chat template
const model = await OLMo.fromPretrained(`${base}/model`);
model.requiresGrad_(true);
const params = model.namedParameters().map(([name, param]) => ({ name, param }));

const facts = [[1862, 'Abraham Lincoln'], [1935, 'Franklin D Roosevelt'], [1983, 'Ronald Reagan'], [2003, 'George W Bush']] as const;
const ask = (y: number) => `Who gave the State of the Union address of ${y}?`;

// SFT: messages → ids + labels (assistant tokens only), packed into 128-token rows.
const { examples, stats } = encodeSftDataset(tok, facts.map(([y, n]) => [{ role: 'user', content: ask(y) }, { role: 'assistant', content: `${n}.` }]), { maxLength: 64 });
console.log('SFT examples', stats);
let opt = new AdamW(params, { lr: 1e-3 });
for (let step = 1; step <= 20; step++) {
  model.zeroGrad();
  const rows = sftBatch(examples, { padId: tok.padTokenId, packing: true, seqLen: 128 });
  const ce = tidy(() => {
    const out = sftLoss(model, rows, { normalizer: countLabelledTargets(rows) }); // per-token mean
    out.loss.backward();
    return out.ceSum / out.tokens;
  });
  clipGradNorm(params.map((p) => p.param), 1);
  opt.step();
  if (step % 5 === 0) console.log(`sft step ${step}: CE ${ce.toFixed(3)}`);
}

// DPO: chosen = right president, rejected = a wrong one; reference = the SFT model, computed once.
const { pairs } = encodeDpoPairs(tok, facts.map(([y, n], i) => ({ prompt: ask(y), chosen: `${n}.`, rejected: `${facts[(i + 1) % facts.length]![1]}.` })), { maxLength: 64 });
const ref = referenceLogps(model, pairs, { padId: tok.padTokenId });
opt = new AdamW(params, { lr: 3e-4 });
for (let step = 1; step <= 10; step++) {
  model.zeroGrad();
  const out = tidy(() => dpoStep(model, pairs, ref, { padId: tok.padTokenId, beta: 0.1 }));
  clipGradNorm(params.map((p) => p.param), 1);
  opt.step();
  console.log(`dpo step ${step}: loss ${out.loss.toFixed(4)} rewards/accuracies ${out.metrics['rewards/accuracies']} margins ${out.metrics['rewards/margins'].toFixed(4)}`);
}
model.dispose();
