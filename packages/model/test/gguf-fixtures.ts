/** Small OLMo-1 / OLMo-2 model folders (config + safetensors + a byte-level BPE tokenizer.json) for the GGUF tests. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Generator, noGrad } from '@olmo/tensor-cuda';
import { OLMo, OLMoConfig } from '../src/index.js';
import { tmpDir } from './helpers.js';

/** GPT-2's byte → printable-unicode map (the alphabet of byte-level BPE vocabularies). */
function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n++); }
  const out = new Array<string>(256);
  bs.forEach((b, i) => { out[b] = String.fromCodePoint(cs[i]!); });
  return out;
}

/**
 * A byte-level BPE tokenizer.json: 256 byte tokens, `merges` merged tokens, then `<|endoftext|>`
 * (special) and `<|padding|>` (special): vocab_size = 256 + merges + 2.
 */
export function byteLevelTokenizer(nMerges = 40): { json: Record<string, unknown>; vocabSize: number; eos: number; pad: number } {
  const alphabet = bytesToUnicode();
  const vocab: Record<string, number> = {};
  alphabet.forEach((ch, i) => { vocab[ch] = i; });
  const letters = 'etaoinshrdlucmfw';
  const merges: string[] = [];
  const sp = alphabet[32]!; // 'Ġ'
  for (const a of [sp, ...letters]) {
    for (const b of letters) {
      if (merges.length >= nMerges || vocab[a + b] !== undefined) continue;
      merges.push(`${a} ${b}`);
      vocab[a + b] = Object.keys(vocab).length;
    }
  }
  const eos = Object.keys(vocab).length, pad = eos + 1;
  const json = {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [
      { id: eos, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: pad, content: '<|padding|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab: { ...vocab, '<|endoftext|>': eos, '<|padding|>': pad }, merges },
  };
  return { json, vocabSize: pad + 1, eos, pad };
}

/** Weight scale (see fixtureConfig). */
const GAIN = 1.5;

export type FixtureKind = 'olmo1' | 'olmo2';

/**
 * Demo-size random models. Weights are N(0, gain²/fan_in) (gain 1.5) so logits spread over
 * several units and the greedy argmax has clear margins (default inits at this size give
 * near-ties). OLMo-1: tied embeddings, clip_qkv low enough to clamp; OLMo-2: GQA, untied.
 */
export function fixtureConfig(kind: FixtureKind): OLMoConfig {
  const tok = byteLevelTokenizer();
  const common = { vocab_size: tok.vocabSize, embedding_size: 320, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, max_position_embeddings: 128, eos_token_id: tok.eos, pad_token_id: tok.pad, bos_token_id: null };
  return kind === 'olmo1'
    ? OLMoConfig.from({ ...common, architecture: 'olmo1', num_attention_heads: 4, num_key_value_heads: 4, tie_word_embeddings: true, clip_qkv: 2.5, rope_theta: 10000 })
    : OLMoConfig.from({ ...common, architecture: 'olmo2', num_attention_heads: 4, num_key_value_heads: 2, tie_word_embeddings: false, rope_theta: 500000, layer_norm_eps: 1e-6 });
}

export function fixtureModel(kind: FixtureKind, seed = 7): OLMo {
  const m = OLMo.init(fixtureConfig(kind), { seed, requiresGrad: false });
  const gen = new Generator(seed + 1000);
  noGrad(() => {
    for (const [name, p] of m.namedParameters()) {
      if (p.shape.length !== 2) {
        // Norm weights around 1 (not exactly 1, so a lost or misplaced norm tensor shows).
        const w = new Float32Array(p.shape[0]!);
        gen.fillNormal(w, 1, 0.1);
        p.buf.write(p.byteOffset, w);
        continue;
      }
      // A tied embedding is also the LM head: scale it like a C-input linear layer.
      const emb = name === 'model.embed_tokens.weight';
      const fanIn = emb && !m.config.tie_word_embeddings ? 1 : p.shape[1]!;
      const w = new Float32Array(p.shape[0]! * p.shape[1]!);
      gen.fillNormal(w, 0, GAIN / Math.sqrt(fanIn));
      // Padding rows (ids ≥ vocab_size) of the embedding / LM head are zero: our generate never
      // picks a padding id, llama.cpp may; with zero rows their logit is 0 and never the max.
      if (emb || name === 'lm_head.weight') w.fill(0, m.config.vocab_size * p.shape[1]!);
      p.buf.write(p.byteOffset, w);
    }
  });
  return m;
}

/** Saves a fixture as an HF folder with tokenizer.json; returns the folder. */
export async function fixtureDir(kind: FixtureKind, seed = 7): Promise<{ dir: string; model: OLMo }> {
  const dir = tmpDir(`olmo-gguf-${kind}-`);
  const model = fixtureModel(kind, seed);
  await model.savePretrained(dir);
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(byteLevelTokenizer().json));
  return { dir, model };
}
