/**
 * Parameter initialisation exactly as OLMo defines it (olmo/model.py `OLMo.reset_parameters`,
 * `OLMoBlock.reset_parameters`, `OLMoSequentialBlock.reset_parameters`; olmo/initialization.py
 * `init_normal`: trunc_normal(std, ±cutoff·std) when a cutoff is set, else normal(std)).
 *
 * Mapping of OLMo modules onto HF names: att_proj → q/k/v_proj, ff_proj → gate/up_proj,
 * attn_out → o_proj, block ff_out → down_proj, wte → embed_tokens, transformer.ff_out → lm_head.
 * Norm weights (OLMo-2) start at one.
 */
import type { OLMoConfig } from './config.js';

export interface InitSpec {
  /** 'ones' for norm weights, otherwise a (truncated) normal. */
  kind: 'ones' | 'normal';
  std: number;
  /** Truncation at ±cutoff·std, or null for a plain normal. */
  cutoff: number | null;
}

export function initSpecFor(c: OLMoConfig, name: string): InitSpec {
  if (name.endsWith('norm.weight')) return { kind: 'ones', std: 0, cutoff: null };
  const fn = c.init_fn;
  const d = c.hidden_size;
  const cutoffOr3 = c.init_cutoff_factor ?? 3.0;
  if (name === 'model.embed_tokens.weight') {
    if (fn === 'normal') return { kind: 'normal', std: c.emb_init_std ?? c.init_std, cutoff: c.init_cutoff_factor };
    if (fn === 'mitchell') return { kind: 'normal', std: c.emb_init_std ?? 1 / Math.sqrt(d), cutoff: cutoffOr3 };
    return { kind: 'normal', std: c.emb_init_std ?? c.init_std, cutoff: cutoffOr3 };
  }
  if (name === 'lm_head.weight') {
    if (fn === 'normal') return { kind: 'normal', std: c.init_std, cutoff: c.init_cutoff_factor };
    return { kind: 'normal', std: 1 / Math.sqrt(d), cutoff: cutoffOr3 };
  }
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
  if (!m) throw new Error(`initSpecFor: unknown parameter ${name}`);
  const layer = Number(m[1]);
  const rest = m[2]!;
  const isIn = /self_attn\.[qkv]_proj\.weight$|mlp\.(gate|up)_proj\.weight$/.test(rest);
  if (isIn) {
    if (fn === 'normal') return { kind: 'normal', std: c.init_std, cutoff: c.init_cutoff_factor };
    if (fn === 'mitchell') return { kind: 'normal', std: 1 / Math.sqrt(d), cutoff: cutoffOr3 };
    return { kind: 'normal', std: c.init_std, cutoff: cutoffOr3 };
  }
  if (rest === 'self_attn.o_proj.weight' || rest === 'mlp.down_proj.weight') {
    if (fn === 'normal') return { kind: 'normal', std: c.init_std, cutoff: c.init_cutoff_factor };
    if (fn === 'mitchell') {
      const fanIn = rest === 'self_attn.o_proj.weight' ? d : c.intermediate_size;
      return { kind: 'normal', std: 1 / Math.sqrt(2 * fanIn * (layer + 1)), cutoff: cutoffOr3 };
    }
    return { kind: 'normal', std: c.init_std / Math.sqrt(2 * c.num_hidden_layers), cutoff: cutoffOr3 };
  }
  throw new Error(`initSpecFor: unknown parameter ${name}`);
}
