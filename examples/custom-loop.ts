// A hand-written OLMo training loop on a swapped data mix (30% Moby Dick / 70% State of the Union,
// the reverse of configs/mixes/books-speeches-70-30.yaml), built from the library's pieces.
// Run after `bash scripts/demo.sh` (it trains runs/demo/tokenizer.json), on Node >= 20:
//   npm run examples   (compiles examples/ with tsc against the built packages, runs examples/dist/custom-loop.js)
// Environment: OLMO_EXAMPLE_TOKENIZER (default runs/demo/tokenizer.json), OLMO_EXAMPLE_OUT (token
// files, default runs/example), OLMO_EXAMPLE_STEPS (default 100).
import { OLMo, OLMoConfig } from '@olmo/model';
import { DataMix, globalIndices, prepare } from '@olmo/data';
import { Tokenizer } from '@olmo/tokenizer';
import { add, tidy } from '@olmo/tensor-cuda';
import { AdamW, Scheduler, clipGradNorm, microbatchLoss, namedParameters } from '@olmo/trainer';

const env = process.env, dir = env.OLMO_EXAMPLE_OUT ?? 'runs/example';
const tok = await Tokenizer.fromFile(env.OLMO_EXAMPLE_TOKENIZER ?? 'runs/demo/tokenizer.json');
for (const src of ['moby-dick', 'sotu']) await prepare({ tokenizer: tok, out: `${dir}/${src}`, sources: [src] });

const mix = new DataMix({
  name: 'speeches-books-30-70', seed: 1,
  sources: [
    { name: 'moby-dick', paths: [`${dir}/moby-dick`], weight: 0.3 },
    { name: 'sotu', paths: [`${dir}/sotu`], weight: 0.7 },
  ],
});
const T = 128, B = 16, steps = Number(env.OLMO_EXAMPLE_STEPS ?? 100);
const data = mix.realise({ seqLen: T, dtype: 'uint16' });
console.log(data.formatTable());
const order = globalIndices({ numInstances: data.length, seed: 1 });

const V = Math.ceil(tok.vocabSize / 128) * 128;
const model = OLMo.init(OLMoConfig.from({
  vocab_size: tok.vocabSize, embedding_size: V, hidden_size: 128, intermediate_size: 256, num_hidden_layers: 4,
  num_attention_heads: 4, num_key_value_heads: 4, max_position_embeddings: T, eos_token_id: tok.eosTokenId, init_fn: 'normal',
}), { seed: 1 });
model.flatGrads();
const params = namedParameters(model);
const opt = new AdamW(params, { lr: 3e-3, betas: [0.9, 0.95], eps: 1e-5, weightDecay: 0.1 }); // OLMo's groups
const sched = new Scheduler({ name: 'cosine_with_warmup', tWarmup: 10, alphaF: 0.1 });

for (let step = 1; step <= steps; step++) {
  const ids = new Int32Array(B * T);
  order.subarray((step - 1) * B, step * B).forEach((gi, r) => ids.set(data.get(gi).inputIds, r * T));
  model.zeroGrad();
  let loss = 0;
  tidy(() => {
    const out = microbatchLoss(model, ids, B, T, { normalizer: B * (T - 1), zLossMultiplier: 1e-4 });
    loss = out.ceSum / (B * (T - 1));
    (out.zLoss ? add(out.ceLoss, out.zLoss) : out.ceLoss).backward();
  });
  const { totalNorm } = clipGradNorm(params.map((p) => p.param), 1.0);
  opt.setLr(sched.getLr(3e-3, step, steps));
  opt.step();
  if (step % 10 === 0 || step === steps) console.log(`step ${step} loss ${loss.toFixed(3)} grad_norm ${totalNorm.toFixed(3)}`);
}
