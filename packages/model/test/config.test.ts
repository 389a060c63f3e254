import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OLMo, OLMoConfig, countParameters } from '../src/index.js';
import { sharedDir } from './helpers.js';

describe('OLMoConfig presets', () => {
  it('OLMo-1B and OLMo-7B parameter counts on lazy shapes (no allocation)', () => {
    const m1 = OLMo.init(OLMoConfig.olmo1B(), { device: 'meta' });
    expect(m1.numParameters()).toBe(1_176_764_416);
    const m7 = OLMo.init(OLMoConfig.olmo7B(), { device: 'meta' });
    expect(m7.numParameters()).toBe(6_888_095_744);
    expect(countParameters(OLMoConfig.olmo7B_0424())).toBe(6_888_095_744);
    expect(() => m1.parameters()).toThrow(/meta/);
  });

  it('preset shapes match OLMo configs', () => {
    const c1 = OLMoConfig.olmo1B();
    expect([c1.hidden_size, c1.num_hidden_layers, c1.num_attention_heads, c1.intermediate_size, c1.tie_word_embeddings]).toEqual([2048, 16, 16, 8192, true]);
    expect([c1.vocab_size, c1.embedding_size, c1.eos_token_id, c1.init_fn]).toEqual([50280, 50304, 50279, 'mitchell']);
    const c7 = OLMoConfig.olmo7B_0424();
    expect([c7.hidden_size, c7.intermediate_size, c7.clip_qkv, c7.tie_word_embeddings, c7.max_position_embeddings]).toEqual([4096, 11008, 8, false, 4096]);
    const o2 = OLMoConfig.olmo2_1B();
    expect([o2.architecture, o2.rope_theta, o2.layer_norm_eps, o2.embedding_size, o2.init_fn, o2.init_cutoff_factor]).toEqual(['olmo2', 500000, 1e-6, 100352, 'normal', 3]);
    const o27 = OLMoConfig.olmo2_7B();
    // OLMo-2 7B: 7B-class with QK-norm and the post-norms (norm weights counted).
    const perLayer = 4 * 4096 * 4096 + 3 * 4096 * 11008 + 4096 * 4;
    expect(countParameters(o27)).toBe(2 * 100352 * 4096 + 32 * perLayer + 4096);
    const t = OLMoConfig.tiny();
    expect([t.hidden_size, t.num_hidden_layers, t.num_attention_heads, t.intermediate_size, t.embedding_size]).toEqual([256, 4, 4, 1024, 50304]);
    const s = OLMoConfig.small();
    expect([s.hidden_size, s.num_hidden_layers, s.num_attention_heads, s.intermediate_size, s.embedding_size]).toEqual([512, 8, 8, 2048, 50304]);
  });

  it('flopsPerToken follows OLMo (fwd 2N_nonemb + 4Lds, bwd 4N + 8Lds)', () => {
    const c = OLMoConfig.olmo1B();
    const N = 1_176_764_416, Ne = N - 50304 * 2048;
    const m = OLMo.init(c, { device: 'meta' });
    expect(m.flopsPerToken(2048)).toBe(2 * Ne + 16 * 4 * 2048 * 2048 + 4 * N + 16 * 8 * 2048 * 2048);
  });

  it('HF config.json round trip, JSON-serialisable', () => {
    for (const c of [OLMoConfig.olmo1B(), OLMoConfig.olmo7B_0424(), OLMoConfig.olmo2_7B(), OLMoConfig.tiny({ num_key_value_heads: 2 })]) {
      const json = JSON.parse(JSON.stringify(OLMoConfig.toHF(c)));
      expect(OLMoConfig.fromHF(json)).toEqual(c);
      expect(JSON.parse(JSON.stringify(c))).toEqual(c);
    }
    const hf = OLMoConfig.toHF(OLMoConfig.olmo2_1B());
    expect(hf.model_type).toBe('olmo2');
    expect(hf.architectures).toEqual(['Olmo2ForCausalLM']);
    expect(hf.vocab_size).toBe(100352);
    expect(hf.rms_norm_eps).toBe(1e-6);
    expect('clip_qkv' in hf).toBe(false);
  });

  it('invalid configs give CONFIG_INVALID', () => {
    expect(() => OLMoConfig.tiny({ num_key_value_heads: 3 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => OLMoConfig.tiny({ embedding_size: 100 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => OLMoConfig.fromHF({ model_type: 'llama', vocab_size: 10 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => OLMoConfig.fromHF({ model_type: 'olmo', vocab_size: 64, hidden_size: 32 })).toThrow(/is missing/);
  });

  const golden = path.join(sharedDir, 'golden/olmo-tiny-untied-gqa-clip/config.json');
  if (!existsSync(golden)) console.warn(`[config] real HF OlmoConfig test skipped: ${golden} not found`);
  it.skipIf(!existsSync(golden))('reads a real HF OlmoConfig', () => {
    const c = OLMoConfig.fromHF(JSON.parse(readFileSync(golden, 'utf8')));
    expect([c.architecture, c.num_key_value_heads, c.clip_qkv, c.tie_word_embeddings, c.embedding_size]).toEqual(['olmo1', 2, 0.5, false, 512]);
  });
});
