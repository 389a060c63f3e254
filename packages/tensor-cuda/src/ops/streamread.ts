/**
 * streamread family (kernel: native/cpu/streamread.cc; header native/include/olmo/ops/streamread.h).
 *   streamReadBandwidth(bytes, threads = 1) -> GB/s (1e9 bytes/s): the read-only streaming bandwidth
 *     of `threads` threads each reading its share of a freshly written `bytes`-sized buffer with wide
 *     vector loads (median of 5 timings of >= 1 GiB). Decode benchmarks divide the weight bytes one
 *     token streams by it (the "bandwidth floor"); size the buffer like those weights so the cache
 *     level matches (a buffer that fits in L3 measures L3). Takes ~0.5-2 s; allocates `bytes`.
 * bytes: integer in [64 KiB, 64 GiB]; threads: integer in [1, 256]; otherwise INVALID_ARGUMENT.
 */
import { call } from '../native.js';
import { ArgumentError } from '../errors.js';

export function streamReadBandwidth(bytes: number, threads = 1): number {
  if (!Number.isInteger(bytes) || bytes < 64 * 1024 || bytes > 64 * 2 ** 30) {
    throw new ArgumentError(`streamReadBandwidth: bytes must be an integer in [64 KiB, 64 GiB], got ${bytes}`);
  }
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new ArgumentError(`streamReadBandwidth: threads must be an integer in [1, 256], got ${threads}`);
  }
  return call((n) => n.streamReadBandwidth(bytes, threads) as number);
}
