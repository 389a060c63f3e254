/**
 * SFT and DPO losses.
 *  - Packing is invisible: the packed SFT loss ('sum') and every parameter gradient equal the sum
 *    over the same examples run one by one; 'token' equals that sum / the labelled-token count.
 *  - sequenceLogps equals a float64 log-softmax of the model's logits summed over labelled tokens.
 *  - dpoLoss: loss, metrics and gradients against a float64 reference written here from the
 *    published formula (−log σ(β((π_c − r_c) − (π_r − r_r))), averaged; 'dpo_norm' divides each
 *    log-prob by its token count), gradients by central finite differences of that reference.
 */
import { describe, expect, it } from 'vitest';
import { Generator, noGrad, tensor } from '@olmo/tensor-cuda';
import { OLMo, OLMoConfig } from '@olmo/model';
import { IGNORE_INDEX, padSft, type SftExample } from '@olmo/data';
import { dpoLoss, dpoStep, referenceLogps, sequenceLogps, sftBatch, sftLoss } from '../src/index.js';

const cfg = () => OLMoConfig.from({
  architecture: 'olmo2', vocab_size: 100, embedding_size: 128, hidden_size: 32, intermediate_size: 64,
  num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, eos_token_id: 99, pad_token_id: 0,
});

function examples(seed: number, lens: number[]): SftExample[] {
  const g = new Generator(seed);
  return lens.map((n) => {
    const inputIds = Array.from({ length: n }, () => 1 + Math.floor(g.uniform() * 98));
    // a prompt part (masked) then a labelled response
    const cut = Math.max(1, Math.floor(n / 3));
    const labels = inputIds.map((id, i) => (i < cut ? IGNORE_INDEX : id));
    return { inputIds, labels };
  });
}

function grads(m: OLMo): Float32Array[] {
  return m.parameters().map((p) => (p.grad ? p.grad.toFloat32Array().slice() : new Float32Array(p.size)));
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i]! - b[i]!) ** 2; den += b[i]! ** 2; }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

describe('SFT loss: packing is invisible', () => {
  const exs = examples(3, [9, 17, 5, 30, 12, 2]);

  it("'sum': packed loss and gradients equal the per-example sum; 'token' = sum / labelled tokens", () => {
    const m = OLMo.init(cfg(), { seed: 5 });
    m.requiresGrad_(true);
    const rows = sftBatch(exs, { seqLen: 40, packing: true, padId: 0 });
    expect(rows.examplesPerRow.some((n) => n > 1)).toBe(true);
    const packed = sftLoss(m, rows, { normalization: 'sum' });
    packed.loss.backward();
    const gPacked = grads(m);
    const lossPacked = packed.loss.item();
    packed.loss.dispose();

    m.zeroGrad();
    let lossSum = 0, tokens = 0;
    for (const ex of exs) {
      const one = sftLoss(m, padSft([ex], 0), { normalization: 'sum' });
      one.loss.backward();
      lossSum += one.loss.item();
      tokens += one.tokens;
      one.loss.dispose();
    }
    const gSep = grads(m);
    expect(packed.tokens).toBe(tokens);
    expect(Math.abs(lossPacked - lossSum) / lossSum).toBeLessThan(1e-5);
    gPacked.forEach((g, i) => expect(relErr(g, gSep[i]!), `param ${i}`).toBeLessThan(1e-4));

    const tok = noGrad(() => sftLoss(m, rows));
    expect(Math.abs(tok.loss.item() - lossSum / tokens) / (lossSum / tokens)).toBeLessThan(1e-5);
    tok.loss.dispose();

    // Without document masking the packed loss is different: the mask is what makes packing invisible.
    const leaky = noGrad(() => sftLoss(m, rows, { normalization: 'sum', documentMasking: false }));
    expect(Math.abs(leaky.loss.item() - lossSum) / lossSum).toBeGreaterThan(1e-3);
    leaky.loss.dispose();
    m.dispose();
  });

  it('bad normalisation / no labels -> typed errors', () => {
    const m = OLMo.init(cfg(), { seed: 1 });
    const rows = padSft(exs.slice(0, 1), 0);
    expect(() => sftLoss(m, rows, { normalization: 'mean' as never })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const none = padSft([{ inputIds: [1, 2, 3], labels: [-100, -100, -100] }], 0);
    expect(() => noGrad(() => sftLoss(m, none))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    m.dispose();
  });
});

describe('sequenceLogps', () => {
  it('equals a float64 log-softmax of the logits over labelled tokens, padded and packed', () => {
    const m = OLMo.init(cfg(), { seed: 8 });
    const exs = examples(4, [7, 13, 4, 20]);
    const want = exs.map((ex) => noGrad(() => {
      const { logits } = m.forward([ex.inputIds]);
      const L = logits.toFloat32Array();
      logits.dispose();
      const V = 128;
      let s = 0;
      for (let t = 0; t + 1 < ex.inputIds.length; t++) {
        const y = ex.labels[t + 1]!;
        if (y === IGNORE_INDEX) continue;
        let mx = -Infinity;
        for (let v = 0; v < V; v++) mx = Math.max(mx, L[t * V + v]!);
        let z = 0;
        for (let v = 0; v < V; v++) z += Math.exp(L[t * V + v]! - mx);
        s += L[t * V + y]! - mx - Math.log(z);
      }
      return s;
    }));
    for (const packing of [false, true]) {
      const { logps, counts } = noGrad(() => sequenceLogps(m, exs, { padId: 0, packing, seqLen: packing ? 30 : undefined }));
      const got = logps.toFloat32Array();
      logps.dispose();
      got.forEach((v, i) => expect(Math.abs(v - want[i]!) / Math.abs(want[i]!), `packing=${packing} ex ${i}`).toBeLessThan(1e-5));
      expect(counts).toEqual(exs.map((e) => e.labels.slice(1).filter((l) => l !== IGNORE_INDEX).length));
    }
    m.dispose();
  });
});

describe('dpoLoss against the published formula (float64)', () => {
  const g = new Generator(21);
  const n = 5, beta = 0.1;
  const rnd = () => Array.from({ length: n }, () => -20 - 10 * g.uniform());
  const x = { policyChosen: rnd(), policyRejected: rnd(), referenceChosen: rnd(), referenceRejected: rnd(), chosenCounts: [3, 7, 1, 12, 5], rejectedCounts: [4, 2, 9, 6, 5] };

  /** The reference: written from the formula, nothing shared with the implementation. */
  function ref(pc: number[], pr: number[], norm: boolean) {
    const nc = norm ? x.chosenCounts : pc.map(() => 1), nr = norm ? x.rejectedCounts : pc.map(() => 1);
    let loss = 0;
    const rc: number[] = [], rr: number[] = [];
    for (let i = 0; i < n; i++) {
      rc.push(beta * (pc[i]! / nc[i]! - x.referenceChosen[i]! / nc[i]!));
      rr.push(beta * (pr[i]! / nr[i]! - x.referenceRejected[i]! / nr[i]!));
      loss += -Math.log(1 / (1 + Math.exp(-(rc[i]! - rr[i]!))));
    }
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    return {
      loss: loss / n,
      metrics: {
        'rewards/chosen': mean(rc), 'rewards/rejected': mean(rr), 'rewards/accuracies': mean(rc.map((c, i) => (c > rr[i]! ? 1 : 0))),
        'rewards/margins': mean(rc.map((c, i) => c - rr[i]!)), 'logps/chosen': mean(pc.map((p, i) => p / nc[i]!)), 'logps/rejected': mean(pr.map((p, i) => p / nr[i]!)),
      },
    };
  }

  for (const lossType of ['dpo', 'dpo_norm'] as const) {
    it(`${lossType}: loss, metrics, gradients`, () => {
      const norm = lossType === 'dpo_norm';
      const got = dpoLoss(x, { beta, lossType });
      const want = ref(x.policyChosen, x.policyRejected, norm);
      expect(got.loss).toBeCloseTo(want.loss, 12);
      for (const [k, v] of Object.entries(want.metrics)) expect(got.metrics[k as keyof typeof got.metrics], k).toBeCloseTo(v, 12);
      const h = 1e-5;
      for (let i = 0; i < n; i++) {
        const bump = (arr: number[], d: number) => arr.map((v, j) => (j === i ? v + d : v));
        const fdC = (ref(bump(x.policyChosen, h), x.policyRejected, norm).loss - ref(bump(x.policyChosen, -h), x.policyRejected, norm).loss) / (2 * h);
        const fdR = (ref(x.policyChosen, bump(x.policyRejected, h), norm).loss - ref(x.policyChosen, bump(x.policyRejected, -h), norm).loss) / (2 * h);
        expect(got.gradChosen[i]).toBeCloseTo(fdC, 8);
        expect(got.gradRejected[i]).toBeCloseTo(fdR, 8);
      }
    });
  }

  it('bad input -> typed errors', () => {
    expect(() => dpoLoss(x, { beta: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => dpoLoss({ ...x, policyRejected: [1] }, { beta })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => dpoLoss({ ...x, chosenCounts: undefined }, { beta, lossType: 'dpo_norm' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('dpoStep', () => {
  it('model gradients equal the chain rule through sequenceLogps (policy = reference: loss log 2, accuracy 0)', () => {
    const m = OLMo.init(cfg(), { seed: 9 });
    m.requiresGrad_(true);
    const pairs = examples(6, [8, 11, 6, 9]).reduce<{ chosen: SftExample; rejected: SftExample }[]>((a, e, i, all) => (i % 2 ? a : [...a, { chosen: e, rejected: all[i + 1]! }]), []);
    const ref = referenceLogps(m, pairs, { padId: 0 });
    const out = dpoStep(m, pairs, ref, { padId: 0, beta: 0.5 });
    expect(out.loss).toBeCloseTo(Math.log(2), 5);
    expect(out.metrics['rewards/accuracies']).toBe(0);
    const g1 = grads(m);
    // The same gradient by hand: backward of Σ_i dL/dπ_i · π_i, with the π of a fresh forward.
    m.zeroGrad();
    const { logps } = sequenceLogps(m, [...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)], { padId: 0 });
    const v = logps.toFloat32Array();
    v.forEach((x, i) => expect(Math.abs(x - (i < 2 ? ref.chosen[i]! : ref.rejected[i - 2]!))).toBeLessThan(1e-4));
    logps.backward(tensor(Float32Array.from([...out.gradChosen, ...out.gradRejected]), { shape: [4] }));
    logps.dispose();
    const g2 = grads(m);
    expect(g1.some((g) => g.some((x) => x !== 0))).toBe(true);
    g1.forEach((g, i) => expect(relErr(g, g2[i]!), `param ${i}`).toBeLessThan(1e-6));
    m.dispose();
  });
});
