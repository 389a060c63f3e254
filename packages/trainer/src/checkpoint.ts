/**
 * Checkpoints. An unsharded checkpoint is a folder `SAVE_FOLDER/step{N}-unsharded/`:
 *
 *   model/                HF folder from model.savePretrained (config.json + model.safetensors)
 *   optim.safetensors     optimizer moments `exp_avg.<param>`, `exp_avg_sq.<param>` (+ step, lrs)
 *   trainer.msgpack       TrainerState (msgpackr): step, tokens, RNG states, scheduler, data
 *                         position, callback states, resolved config, hashes, code version, format
 *
 * `format` = { kind: 'unsharded', world_size: 1 }; the FSDP sharded format will use
 * `step{N}/` with `model/rank{r}.safetensors` + `optim/rank{r}.safetensors` and kind 'sharded',
 * same trainer.msgpack. Writes are atomic: everything goes to `.tmp-step{N}-<pid>/`, is fsynced
 * and renamed into place; then the `latest` symlink is replaced atomically (symlink + rename).
 * A crash during the write leaves only a `.tmp-*` folder (removed at the next start) and the
 * previous checkpoint and `latest` untouched.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pack, unpack } from 'msgpackr';
import { OlmoError } from '@olmo/tensor-cuda';
import { CheckpointError } from './errors.js';

export const CODE_VERSION = '@olmo/trainer@0.1.0';

export interface TrainerState {
  format: { kind: 'unsharded' | 'sharded'; world_size: number; version: 1 };
  step: number;
  tokens: number;
  rng: Record<string, unknown>;
  scheduler: unknown;
  data: { step: number; seed: number; epoch: number; order_hash: string; num_instances: number };
  callbacks: Record<string, unknown>;
  config: unknown;
  config_yaml: string;
  tokenizer_hash: string | null;
  data_order_hash: string;
  code_version: string;
  time: string;
  /** finetune.mode dpo: the reference model's log-probs of every pair (chosen, rejected). */
  dpo_reference?: { chosen: number[]; rejected: number[] };
}

const STEP_RE = /^step(\d+)(-unsharded)?$/;

export function checkpointDirName(step: number): string { return `step${step}-unsharded`; }

function fsyncDir(p: string): void {
  try { const fd = openSync(p, 'r'); try { fsyncSync(fd); } finally { closeSync(fd); } } catch { /* best effort */ }
}

/** Removes leftovers of interrupted writes. */
export function cleanTmp(saveFolder: string): void {
  if (!existsSync(saveFolder)) return;
  for (const e of readdirSync(saveFolder)) if (e.startsWith('.tmp-step')) rmSync(join(saveFolder, e), { recursive: true, force: true });
}

/**
 * Writes a checkpoint atomically. `writeContents(tmpDir)` writes model/ and optim.safetensors;
 * this function adds trainer.msgpack, renames, updates `latest`, and prunes to keepN (−1 = all).
 */
export async function writeCheckpoint(saveFolder: string, step: number, state: TrainerState, writeContents: (dir: string) => Promise<void>, keepN = -1): Promise<string> {
  mkdirSync(saveFolder, { recursive: true });
  const name = checkpointDirName(step);
  const final = join(saveFolder, name);
  const tmp = join(saveFolder, `.tmp-${name}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await writeContents(tmp);
  const fd = openSync(join(tmp, 'trainer.msgpack'), 'w');
  try { writeFileSync(fd, pack(state)); fsyncSync(fd); } finally { closeSync(fd); }
  if (process.env.OLMO_TEST_CRASH_IN_CHECKPOINT === String(step)) {
    // test hook: simulate kill -9 in the middle of a checkpoint write
    process.kill(process.pid, 'SIGKILL');
  }
  fsyncDir(tmp);
  if (existsSync(final)) rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  fsyncDir(saveFolder);
  const link = join(saveFolder, 'latest');
  const tmpLink = join(saveFolder, `.latest-${process.pid}`);
  rmSync(tmpLink, { force: true });
  symlinkSync(name, tmpLink);
  renameSync(tmpLink, link);
  fsyncDir(saveFolder);
  if (keepN > 0) pruneCheckpoints(saveFolder, keepN, name);
  return final;
}

export function listCheckpoints(saveFolder: string): Array<{ step: number; dir: string }> {
  if (!existsSync(saveFolder)) return [];
  return readdirSync(saveFolder)
    .map((e) => ({ e, m: STEP_RE.exec(e) }))
    .filter((x) => x.m && existsSync(join(saveFolder, x.e, 'trainer.msgpack')))
    .map((x) => ({ step: Number(x.m![1]), dir: join(saveFolder, x.e) }))
    .sort((a, b) => a.step - b.step);
}

export function pruneCheckpoints(saveFolder: string, keepN: number, protect: string): void {
  const all = listCheckpoints(saveFolder);
  const excess = all.length - keepN;
  for (let i = 0; i < excess; i++) if (basename(all[i]!.dir) !== protect) rmSync(all[i]!.dir, { recursive: true, force: true });
}

/** The checkpoint `latest` points to (falling back to the highest complete step), or null. */
export function latestCheckpoint(saveFolder: string): string | null {
  const link = join(saveFolder, 'latest');
  try {
    const target = resolve(saveFolder, readlinkSync(link));
    if (existsSync(join(target, 'trainer.msgpack'))) return target;
  } catch { /* no link */ }
  const all = listCheckpoints(saveFolder);
  return all.length ? all[all.length - 1]!.dir : null;
}

/** Accepts a checkpoint folder or a save folder (→ its latest checkpoint). */
export function resolveCheckpoint(path: string): string {
  if (existsSync(join(path, 'trainer.msgpack'))) return path;
  if (existsSync(path) && statSync(path).isDirectory()) {
    const l = latestCheckpoint(path);
    if (l) return l;
  }
  if (!existsSync(path)) throw new OlmoError('NOT_FOUND', `checkpoint ${path} does not exist`, 'pass a checkpoint folder (stepN-unsharded/, stepN/) or a save folder');
  throw new CheckpointError(`no checkpoint at ${path} (expected a folder with trainer.msgpack, or a save folder with step*/ checkpoints)`);
}

export function readTrainerState(dir: string): TrainerState {
  const p = join(dir, 'trainer.msgpack');
  let s: TrainerState;
  try { s = unpack(readFileSync(p)) as TrainerState; } catch (e) { throw new CheckpointError(`${p} is unreadable: ${(e as Error).message}`); }
  if (!s || typeof s !== 'object' || typeof s.step !== 'number' || !s.format) throw new CheckpointError(`${p} is not a trainer state`);
  if (s.format.kind !== 'unsharded' && s.format.kind !== 'sharded') throw new CheckpointError(`${dir} is a ${String(s.format.kind)} checkpoint; this build loads unsharded and sharded (see sharded-checkpoint.ts) checkpoints`);
  return s;
}
