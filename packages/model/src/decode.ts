/**
 * The fused batch-1 decode path: for one new token of one sequence with a KV cache on the CPU,
 * each block runs as ONE native call (`decodeLayer` from @olmo/tensor-cuda) instead of ~20 ops
 * that each allocate a tensor — the per-token JS + N-API overhead that dominated small models.
 * decodeLayer runs the same kernels in the same order as OLMo.block(), so logits are identical to
 * the op-by-op path (test/decode-fused.test.ts); `ForwardOptions.fusedDecode: false` (or
 * `GenerateOptions.fusedDecode: false`) keeps the op-by-op path, e.g. to compare.
 */
import { QTensor, autocastDtype, decodeLayer, isGradEnabled, type DecodeLayerOptions, type DecodeLayerWeights, type Tensor } from '@olmo/tensor-cuda';
import type { OLMoConfig } from './config.js';
import type { KVCache } from './kv-cache.js';

type Param = (name: string) => Tensor | QTensor;

/** Whether a forward step can take the fused path (the caller has checked batch 1, 1 token, a cache). */
export function canDecodeFused(device: string, sharded: boolean, param: Param, config: OLMoConfig): boolean {
  if (device !== 'cpu' || sharded || autocastDtype() !== null) return false;
  if (!isGradEnabled()) return true;
  // Under grad mode the op path would record a graph for weights that require grad.
  const w = param('model.layers.0.self_attn.q_proj.weight');
  return config.num_hidden_layers === 0 || w instanceof QTensor || !w.requiresGrad;
}

function layerWeights(param: Param, l: number, olmo2: boolean): DecodeLayerWeights {
  const w = (n: string) => param(`model.layers.${l}.${n}`);
  return {
    q: w('self_attn.q_proj.weight'), k: w('self_attn.k_proj.weight'), v: w('self_attn.v_proj.weight'), o: w('self_attn.o_proj.weight'),
    gate: w('mlp.gate_proj.weight'), up: w('mlp.up_proj.weight'), down: w('mlp.down_proj.weight'),
    ...(olmo2 ? {
      qNorm: w('self_attn.q_norm.weight') as Tensor, kNorm: w('self_attn.k_norm.weight') as Tensor,
      postAttentionNorm: w('post_attention_layernorm.weight') as Tensor, postFeedforwardNorm: w('post_feedforward_layernorm.weight') as Tensor,
    } : {}),
  };
}

/** Runs every block on x ([1, 1, C] float32, updated in place) for the token at position `pos`. */
export function decodeBlocksFused(x: Tensor, param: Param, config: OLMoConfig, cache: KVCache, pos: number): void {
  const c = config;
  const opts: DecodeLayerOptions = {
    architecture: c.architecture, numHeads: c.num_attention_heads, numKvHeads: c.num_key_value_heads,
    eps: c.layer_norm_eps, clipQkv: c.clip_qkv, ropeTheta: c.rope_theta,
  };
  for (let l = 0; l < c.num_hidden_layers; l++) {
    decodeLayer(x, layerWeights(param, l, c.architecture === 'olmo2'), cache.k[l]!, cache.v[l]!, pos, opts);
  }
}
