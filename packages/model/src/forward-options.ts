/**
 * What OLMo.forward takes and returns: its options (labels, KV cache, activation checkpointing,
 * sharded units, packed documents) and output, plus OLMo's activation-checkpointing strategies.
 */
import type { Tensor } from '@olmo/tensor-cuda';
import type { KVCache } from './kv-cache.js';

/**
 * OLMo's `activation_checkpointing` strategies: whole_layer = every block recomputed in backward;
 * one_in_N = blocks whose index is a multiple of N; fine_grained = inside every block, the input
 * norms, the attention core (RoPE + softmax attention) and the SwiGLU activation (OLMo's
 * attn_norm / attention / ff_norm / act wrapping).
 */
export type ActivationCheckpointing = 'whole_layer' | 'one_in_two' | 'one_in_three' | 'one_in_four' | 'fine_grained';
export const ACTIVATION_CHECKPOINTING: readonly ActivationCheckpointing[] = ['whole_layer', 'one_in_two', 'one_in_three', 'one_in_four', 'fine_grained'];

/** Whether strategy `s` recomputes block `l` as a whole in backward (fine_grained never does). */
export function checkpointsBlock(s: ActivationCheckpointing | null | undefined, l: number): boolean {
  switch (s) {
    case 'whole_layer': return true;
    case 'one_in_two': return l % 2 === 0;
    case 'one_in_three': return l % 3 === 0;
    case 'one_in_four': return l % 4 === 0;
    default: return false;
  }
}

export interface ForwardOptions {
  /** Recompute activations in backward instead of keeping them (training memory); see ActivationCheckpointing. */
  activationCheckpointing?: ActivationCheckpointing | null;
  /** HF semantics: labels [B, T] aligned with the inputs; position t predicts labels[t + 1]; -100 is ignored. */
  labels?: number[][] | Tensor;
  ignoreIndex?: number;
  /** Adds OLMo's z-loss (multiplier · logsumexp²), returned separately as zLoss. */
  zLossMultiplier?: number;
  /** Compute logits only for the last position of each row ([B, 1, V]). */
  lastOnly?: boolean;
  /** KV cache for incremental decoding (inference only). */
  cache?: KVCache;
  /** One token of one sequence with a cache on the cpu runs each block as one native call (decode.ts); false: op by op. Default true. */
  fusedDecode?: boolean;
  /**
   * Sharded execution (FSDP, from @olmo/tensor-cuda): the model runs as units — the embedding
   * lookup, each block, and the head — through `units.run`, reading parameters through
   * `units.param(name)` (gathered just in time) instead of its own flat buffer, which may then be
   * released. Under it, `logits` are returned detached; the differentiable output is `loss`,
   * computed inside the head unit by `lossFn` (or the default mean cross-entropy with labels).
   */
  units?: UnitRunner;
  /**
   * Loss on the logits [B, T, V], computed inside the head (for training under `units`). It runs
   * again during backward (recomputation), so tensors it captures must stay alive until then.
   */
  lossFn?: (logits: Tensor) => Tensor;
  /**
   * Packed sequences: per-token document ids [B][T] (or flat, row-major). A document is a run of
   * equal ids in a row; attention never crosses a document boundary and RoPE positions restart
   * at 0 in every document (so a packed row computes what its documents would compute alone).
   */
  documentIds?: number[][] | ArrayLike<number>;
}

/** What the model needs from a sharded-execution engine (FSDP in @olmo/tensor-cuda satisfies it). */
export interface UnitRunner {
  run(units: readonly string[], inputs: readonly Tensor[], fn: (inputs: Tensor[]) => Tensor[]): Tensor[];
  param(name: string): Tensor;
  unitName(paramName: string): string;
}

export interface ForwardOutput {
  /** [B, T, V] (V = embedding_size), row-major. The caller owns it. */
  logits: Tensor;
  /** Mean next-token cross-entropy (scalar) when labels were given. */
  loss: Tensor | null;
  zLoss: Tensor | null;
}
