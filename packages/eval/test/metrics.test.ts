import { describe, expect, it } from 'vitest';
import { argmaxFirst, computeMetric, LOG_2_OF_E, requestValue, scoreSpans, type ScoringModel } from '../src/index.js';

/** A model whose logits are the same at every position: p = [1/8, 2/8, 5/8]. */
function tableModel(): ScoringModel {
  const row = [0, Math.log(2), Math.log(5)];
  return {
    vocabSize: 3,
    contextLength: 16,
    forward(ids) {
      const B = ids.length, T = ids[0]!.length;
      const data = new Float32Array(B * T * 3);
      for (let i = 0; i < B * T; i++) data.set(row, i * 3);
      return { logits: { shape: [B, T, 3], toFloat32Array: () => data, dispose() {} } };
    },
  };
}

describe('log-likelihoods by hand', () => {
  it('sums log p of the continuation tokens at positions ctx_len-1 ..', async () => {
    const { scores } = await scoreSpans(tableModel(), [
      { input: [0, 1, 2], start: 2, targets: [2] },          // ln 5/8
      { input: [0, 1, 2], start: 1, targets: [2, 1] },       // ln 5/8 + ln 2/8
      { input: [0], start: 0, targets: [0] },                // ln 1/8
    ], { greedy: true });
    expect(scores[0]!.sum).toBeCloseTo(Math.log(5 / 8), 6);
    expect(scores[1]!.sum).toBeCloseTo(Math.log(5 / 8) + Math.log(2 / 8), 6);
    expect(scores[2]!.sum).toBeCloseTo(Math.log(1 / 8), 6);
    expect(scores[0]!.greedy).toBe(true);   // token 2 is the argmax
    expect(scores[1]!.greedy).toBe(false);  // token 1 is not
  });
});

describe('requestValue (ICLMetric.update)', () => {
  const r = { ll: -6, dcLl: -2, contStrLen: 3, contByteLen: 4 };
  it('acc = Σ ll', () => expect(requestValue('acc', r)).toBe(-6));
  it('len_norm = ll / characters', () => expect(requestValue('len_norm', r)).toBe(-2));
  it('ce_loss = -ll / characters', () => expect(requestValue('ce_loss', r)).toBe(2));
  it('bpb = -ll / bytes · log2(e)', () => expect(requestValue('bpb', r)).toBeCloseTo((6 / 4) * LOG_2_OF_E, 12));
  it('bpb of 8 bits over 4 bytes is 2', () => expect(requestValue('bpb', { ...r, ll: -8 * Math.LN2 })).toBeCloseTo(2, 9));
  it('pmi_dc = ll / dc_ll (OLMo\'s ratio)', () => expect(requestValue('pmi_dc', r)).toBe(3));
  it('pmi_dc without dc ll is a typed error', () => expect(() => requestValue('pmi_dc', { ll: -1, contStrLen: 1, contByteLen: 1 })).toThrow(/domain-conditional/));
});

describe('computeMetric (ICLMetric.compute)', () => {
  it('acc: argmax of Σ ll against the label', () => {
    const { score, docs } = computeMetric('acc', [
      { docId: 0, contId: 0, label: 1, value: -5 }, { docId: 0, contId: 1, label: 1, value: -3 },  // pred 1 ✓
      { docId: 1, contId: 0, label: 1, value: -2 }, { docId: 1, contId: 1, label: 1, value: -4 },  // pred 0 ✗
    ]);
    expect(score).toBe(0.5);
    expect(docs.map((d) => d.pred)).toEqual([1, 0]);
  });
  it('len_norm can flip the prediction of acc', () => {
    // ll = [-6, -5]; characters = [6, 2] → len_norm = [-1, -2.5] → pred 0, acc pred 1
    const recs = (m: 'acc' | 'len_norm') => [
      { docId: 0, contId: 0, label: 0, value: requestValue(m, { ll: -6, contStrLen: 6, contByteLen: 6 }) },
      { docId: 0, contId: 1, label: 0, value: requestValue(m, { ll: -5, contStrLen: 2, contByteLen: 2 }) },
    ];
    expect(computeMetric('acc', recs('acc')).score).toBe(0);
    expect(computeMetric('len_norm', recs('len_norm')).score).toBe(1);
  });
  it('ties go to the first maximal index (torch.argmax)', () => {
    expect(argmaxFirst([-1, -1, -2])).toBe(0);
    expect(argmaxFirst([-3, -1, -1])).toBe(1);
    expect(computeMetric('acc', [
      { docId: 0, contId: 0, label: 0, value: -1 }, { docId: 0, contId: 1, label: 0, value: -1 },
      { docId: 1, contId: 0, label: 1, value: -1 }, { docId: 1, contId: 1, label: 1, value: -1 },
    ]).score).toBe(0.5);
  });
  it('de-duplicates: the first (doc, cont) value and the first label win (DistributedSampler padding)', () => {
    const { score, docs } = computeMetric('acc', [
      { docId: 0, contId: 0, label: 0, value: -1 },
      { docId: 0, contId: 1, label: 0, value: -2 },
      { docId: 0, contId: 0, label: 1, value: -9 },  // duplicate: ignored (value and label)
      { docId: 0, contId: 1, label: 1, value: 0 },   // duplicate: ignored
    ]);
    expect(docs).toHaveLength(1);
    expect(docs[0]!.values).toEqual([-1, -2]);
    expect(score).toBe(1);
  });
  it('skips a document whose continuation ids are not 0..n-1', () => {
    const { score, docs } = computeMetric('acc', [
      { docId: 0, contId: 0, label: 0, value: -1 }, { docId: 0, contId: 2, label: 0, value: -2 },
      { docId: 1, contId: 0, label: 0, value: -1 }, { docId: 1, contId: 1, label: 0, value: -2 },
    ]);
    expect(docs.map((d) => d.docId)).toEqual([1]);
    expect(score).toBe(1);
  });
  it('pmi_dc picks the largest ll/dc_ll ratio', () => {
    const v = (ll: number, dc: number) => requestValue('pmi_dc', { ll, dcLl: dc, contStrLen: 1, contByteLen: 1 });
    const { docs } = computeMetric('pmi_dc', [
      { docId: 0, contId: 0, label: 1, value: v(-4, -2) },  // 2
      { docId: 0, contId: 1, label: 1, value: v(-3, -1) },  // 3
    ]);
    expect(docs[0]!.pred).toBe(1);
    expect(docs[0]!.score).toBe(1);
  });
  it('ce_loss / bpb average the value of continuation 0', () => {
    const { score } = computeMetric('ce_loss', [
      { docId: 0, contId: 0, label: 0, value: 2 },
      { docId: 1, contId: 0, label: 0, value: 4 },
    ]);
    expect(score).toBe(3);
    const b = computeMetric('bpb', [{ docId: 0, contId: 0, label: 0, value: requestValue('bpb', { ll: -16 * Math.LN2, contStrLen: 8, contByteLen: 8 }) }]);
    expect(b.score).toBeCloseTo(2, 9);
  });
  it('no documents → NaN', () => expect(computeMetric('acc', []).score).toBeNaN());
});
