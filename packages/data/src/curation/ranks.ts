/**
 * Sharding over launcher ranks (`mpirun -np W olmo data tag|mix|dedupe …`): rank and world size come
 * from the launcher's environment (OpenMPI, PMI), or from --rank/--world-size. `tag` and `mix` give
 * each rank every W-th file / output shard; `dedupe` gives each rank the keys whose hash is ≡ rank
 * (mod W), so every duplicate meets its twin on one rank, and rank 0 merges the partitions' attribute
 * files into the same files a single process writes. No collectives are needed: ranks meet through
 * files (each partition writes a `.done` marker; rank 0 waits for all of them).
 */
import { launcherEnv } from '@olmo/tensor-cuda';
import { badArg } from '../errors.js';

export interface RankShare { rank: number; worldSize: number }

export function rankShare(flags: { rank?: string; worldSize?: string } = {}, env = process.env): RankShare {
  if (flags.rank !== undefined || flags.worldSize !== undefined) {
    const rank = Number(flags.rank ?? 0);
    const worldSize = Number(flags.worldSize ?? 1);
    if (!Number.isInteger(worldSize) || worldSize < 1 || !Number.isInteger(rank) || rank < 0 || rank >= worldSize) {
      throw badArg(`--rank ${flags.rank} / --world-size ${flags.worldSize}: need 0 <= rank < world size`);
    }
    return { rank, worldSize };
  }
  const l = launcherEnv(env);
  return l && l.worldSize > 1 ? { rank: l.rank, worldSize: l.worldSize } : { rank: 0, worldSize: 1 };
}

export function myShare<T>(items: readonly T[], s: RankShare): T[] {
  return s.worldSize === 1 ? [...items] : items.filter((_, i) => i % s.worldSize === s.rank);
}
