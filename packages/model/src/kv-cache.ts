/** The key/value cache of incremental decoding (OLMo.createCache, ForwardOptions.cache). */
import { Tensor, copyInto, deviceIndex, type Device } from '@olmo/tensor-cuda';
import { headDim, type OLMoConfig } from './config.js';
import { OlmoError } from './errors.js';

/** Per-layer key/value cache: [B, maxLen, NKV, HS] buffers, filled up to `length`. */
export class KVCache {
  readonly k: Tensor[] = [];
  readonly v: Tensor[] = [];
  length = 0;

  constructor(readonly config: OLMoConfig, readonly batch: number, readonly maxLength: number, device: Device) {
    const shape = [batch, maxLength, config.num_key_value_heads, headDim(config)];
    for (let l = 0; l < config.num_hidden_layers; l++) {
      this.k.push(Tensor.allocate(shape, 'float32', deviceIndex(device), false).keep());
      this.v.push(Tensor.allocate(shape, 'float32', deviceIndex(device), false).keep());
    }
  }

  /** Writes new keys/values [B, T, NKV, HS] at positions [length, length+T) and returns the filled prefix views. */
  append(layer: number, k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
    const T = k.shape[1]!;
    const end = this.length + T;
    if (end > this.maxLength) throw new OlmoError('INVALID_ARGUMENT', `KV cache overflow: ${end} positions > capacity ${this.maxLength}`, 'allocate a larger cache (maxNewTokens + prompt length)');
    for (const [buf, src] of [[this.k[layer]!, k], [this.v[layer]!, v]] as const) {
      if (this.batch === 1) {
        const dst = buf.slice(1, this.length, end);
        copyInto(dst, src);
        dst.dispose();
      } else {
        for (let b = 0; b < this.batch; b++) {
          const row = buf.slice(0, b, b + 1);
          const dst = row.slice(1, this.length, end);
          const s = src.slice(0, b, b + 1);
          copyInto(dst, s);
          dst.dispose(); row.dispose(); s.dispose();
        }
      }
    }
    return { k: this.k[layer]!.slice(1, 0, end), v: this.v[layer]!.slice(1, 0, end) };
  }

  dispose(): void {
    for (const t of [...this.k, ...this.v]) t.dispose();
    this.k.length = 0;
    this.v.length = 0;
  }
}
