/** The real @olmo/model OLMo (random tiny init): KV-cache prefix sharing == plain full-sequence scoring. */
import { describe, expect, it } from 'vitest';
import { OLMo, OLMoConfig } from '@olmo/model';
import { asScoringModel, createByteTokenizer, evaluateTask, loadTask } from '../src/index.js';
import { evalData, hasShared } from './helpers.js';

describe.skipIf(!hasShared)('real OLMo model', () => {
  it('asScoringModel reads the config; cached, batched and one-at-a-time scores agree', async () => {
    const cfg = OLMoConfig.tiny({ vocab_size: 257, embedding_size: 320, max_position_embeddings: 256, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 4 });
    const model = OLMo.init(cfg, { seed: 7, requiresGrad: false });
    const sm = asScoringModel(model);
    expect(sm.contextLength).toBe(256);
    expect(sm.vocabSize).toBe(320);
    expect(typeof sm.forwardPrefixed).toBe('function');
    const tok = createByteTokenizer();
    for (const name of ['piqa', 'winogrande']) {
      const task = loadTask(name, { path: evalData, limit: 3 });
      const cached = await evaluateTask(model, tok, task, { batchSize: 8, progress: false });
      const plain = await evaluateTask({ forward: sm.forward, contextLength: 256, vocabSize: 320 }, tok, task, { batchSize: 8, progress: false });
      const single = await evaluateTask({ forward: sm.forward, contextLength: 256, vocabSize: 320 }, tok, task, { batchSize: 1, shareContexts: false, progress: false });
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < cached.perExample[i]!.ll.length; j++) {
          expect(cached.perExample[i]!.ll[j]).toBeCloseTo(single.perExample[i]!.ll[j]!, 3);
          expect(plain.perExample[i]!.ll[j]).toBeCloseTo(single.perExample[i]!.ll[j]!, 3);
        }
      }
    }
    model.dispose();
  });
});
