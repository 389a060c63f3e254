/**
 * Sharded (FSDP) checkpoints, resharding and unsharding.
 *
 * Layout of `SAVE_FOLDER/step{N}/` (OLMo's name for a sharded checkpoint):
 *   model/rank{r}.safetensors   this rank's parameter pieces: tensor `<HF name>` (1-D, F32) holding
 *                               elements [start, end) of the flattened parameter; header metadata
 *                               `pieces` = JSON [{name, unit, start, end}], `units` = the FSDP unit
 *                               layout [{name, size, padded_size, shard_size, params: [{name, shape, offset}]}]
 *   optim/rank{r}.safetensors   the optimizer moments of the same pieces: `exp_avg.<name>`,
 *                               `exp_avg_sq.<name>` (+ metadata step, kind, lrs, pieces)
 *   trainer.msgpack             TrainerState with format {kind: 'sharded', world_size: W}
 *   metadata.json               {format, world_size, step, params: [{name, shape}], units, files}
 *
 * Atomic: every rank writes into `.tmp-step{N}-sharded/`; barrier; rank 0 writes trainer.msgpack and
 * metadata.json, fsyncs, renames the folder into place and replaces `latest`; barrier.
 *
 * Loading is range-based: each target (a rank's piece, or a whole parameter in a single process)
 * asks for [start, end) of a parameter, and the bytes are read with positioned reads from whichever
 * files hold overlapping ranges — so a checkpoint written by W ranks loads with any W' (resharding),
 * into a single process, and unsharded checkpoints load into FSDP runs through the same path.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pack } from 'msgpackr';
import { copyInto, tensor, type Tensor } from '@olmo/tensor-cuda';
import { pruneCheckpoints, readTrainerState, type TrainerState } from './checkpoint.js';
import { CheckpointError } from './errors.js';
import type { DistContext } from './fsdp.js';
import type { Optimizer } from './optim.js';
import { writeSafetensorsF32 } from './safetensors.js';
import { copyTokenizerInto } from './tokenizer-files.js';

function fsyncPath(p: string): void {
  try { const fd = openSync(p, 'r'); try { fsyncSync(fd); } finally { closeSync(fd); } } catch { /* best effort */ }
}

export function shardedDirName(step: number): string { return `step${step}`; }

/** Writes a sharded checkpoint (collective: every rank calls it). Returns the final folder. */
export async function writeShardedCheckpoint(saveFolder: string, step: number, state: TrainerState, dist: DistContext, optimizer: Optimizer, keepN = -1): Promise<string> {
  const name = shardedDirName(step);
  const final = join(saveFolder, name);
  const tmp = join(saveFolder, `.tmp-${name}-sharded`);
  const { rank, worldSize: W } = dist;
  if (rank === 0) {
    mkdirSync(saveFolder, { recursive: true });
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(join(tmp, 'model'), { recursive: true });
    mkdirSync(join(tmp, 'optim'), { recursive: true });
  }
  dist.barrier();
  const pieces = dist.pieces.map((p) => ({ name: p.name, unit: p.unit, start: p.start, end: p.end }));
  const units = [...dist.fsdp.units.values()].map((u) => ({ name: u.name, size: u.size, padded_size: u.paddedSize, shard_size: u.shardSize, params: u.entries.map((e) => ({ name: e.name, shape: e.shape, offset: e.offset })) }));
  const meta = { pieces: JSON.stringify(pieces), rank: String(rank), world_size: String(W) };
  const mfile = join(tmp, 'model', `rank${rank}.safetensors`);
  writeSafetensorsF32(mfile, dist.pieces.map((p) => ({ name: p.name, shape: [p.end - p.start], data: p.param.toFloat32Array() })), { ...meta, units: JSON.stringify(units) });
  const names = new Set(pieces.map((p) => p.name));
  const opt: Array<{ name: string; shape: number[]; data: Float32Array }> = [];
  for (const { name: sn, buf } of optimizer.stateTensors()) for (const n of names) { const v = buf.view(n); opt.push({ name: `${sn}.${n}`, shape: [v.size], data: v.toFloat32Array() }); }
  const ofile = join(tmp, 'optim', `rank${rank}.safetensors`);
  writeSafetensorsF32(ofile, opt, { ...meta, step: String(optimizer.step_), kind: optimizer.constructor.name, lrs: JSON.stringify(optimizer.groups.map((g) => g.lr)) });
  fsyncPath(mfile); fsyncPath(ofile);
  dist.barrier();
  if (rank === 0) {
    const st: TrainerState = { ...state, format: { kind: 'sharded', world_size: W, version: 1 } };
    const fd = openSync(join(tmp, 'trainer.msgpack'), 'w');
    try { writeFileSync(fd, pack(st)); fsyncSync(fd); } finally { closeSync(fd); }
    const params = units.flatMap((u) => u.params.map((p) => ({ name: p.name, shape: p.shape })));
    writeFileSync(join(tmp, 'metadata.json'), JSON.stringify({
      format: 'olmo-ts-sharded', version: 1, world_size: W, step, params, units,
      files: { model: Array.from({ length: W }, (_, r) => `model/rank${r}.safetensors`), optim: Array.from({ length: W }, (_, r) => `optim/rank${r}.safetensors`) },
    }, null, 1));
    fsyncPath(join(tmp, 'metadata.json'));
    fsyncPath(tmp);
    if (existsSync(final)) rmSync(final, { recursive: true, force: true });
    renameSync(tmp, final);
    fsyncPath(saveFolder);
    const link = join(saveFolder, 'latest'), tmpLink = join(saveFolder, `.latest-${process.pid}`);
    rmSync(tmpLink, { force: true });
    symlinkSync(name, tmpLink);
    renameSync(tmpLink, link);
    fsyncPath(saveFolder);
    if (keepN > 0) pruneCheckpoints(saveFolder, keepN, name);
  }
  dist.barrier();
  return final;
}

// ------------------------------------------------------------------ range-based reading

interface SourceEntry { file: string; key: string; start: number; end: number; byteOffset: number }

/** Entries (tensor → element range of its parameter, file offset) of safetensors files; header only. */
function scanFiles(files: string[], pieceRanges: boolean): { entries: Map<string, SourceEntry[]>; metadata: Array<Record<string, string>> } {
  const entries = new Map<string, SourceEntry[]>();
  const metadata: Array<Record<string, string>> = [];
  for (const file of files) {
    const fd = openSync(file, 'r');
    try {
      const lenBuf = Buffer.alloc(8);
      if (readSync(fd, lenBuf, 0, 8, 0) !== 8) throw new CheckpointError(`${file}: too short for a safetensors header`);
      const hlen = Number(lenBuf.readBigUInt64LE(0));
      if (hlen > 100_000_000) throw new CheckpointError(`${file}: header length ${hlen} is implausible`);
      const hb = Buffer.alloc(hlen);
      readSync(fd, hb, 0, hlen, 8);
      const header = JSON.parse(hb.toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
      const meta = (header.__metadata__ as unknown as Record<string, string>) ?? {};
      metadata.push(meta);
      const ranges = new Map<string, { start: number; end: number }>();
      if (pieceRanges && meta.pieces) for (const p of JSON.parse(meta.pieces) as Array<{ name: string; start: number; end: number }>) ranges.set(p.name, p);
      for (const [key, e] of Object.entries(header)) {
        if (key === '__metadata__') continue;
        if (e.dtype !== 'F32') throw new CheckpointError(`${file}: ${key} has dtype ${e.dtype}; sharded loading reads F32`);
        const n = e.shape.reduce((a, b) => a * b, 1);
        if (e.data_offsets[1] - e.data_offsets[0] !== n * 4) throw new CheckpointError(`${file}: ${key} offsets do not match its shape`);
        const param = key.replace(/^(exp_avg_sq|exp_avg)\./, '');
        const r = ranges.get(param) ?? { start: 0, end: n };
        if (r.end - r.start !== n) throw new CheckpointError(`${file}: ${key} holds ${n} values but its piece is [${r.start}, ${r.end})`);
        const list = entries.get(key) ?? [];
        list.push({ file, key, start: r.start, end: r.end, byteOffset: 8 + hlen + e.data_offsets[0] });
        entries.set(key, list);
      }
    } finally { closeSync(fd); }
  }
  return { entries, metadata };
}

/** The checkpoint's model and optimizer sources, whatever its format. */
export class CheckpointSources {
  readonly model: Map<string, SourceEntry[]>;
  readonly optim: Map<string, SourceEntry[]>;
  readonly optimMeta: Record<string, string>;
  readonly state: TrainerState;
  private fds = new Map<string, number>();

  constructor(readonly dir: string) {
    this.state = readTrainerState(dir);
    if (this.state.format.kind === 'sharded') {
      const list = (sub: string) => {
        const d = join(dir, sub);
        if (!existsSync(d)) throw new CheckpointError(`${dir}: no ${sub}/ folder`);
        const fs = readdirSync(d).filter((f) => /^rank\d+\.safetensors$/.test(f)).sort((a, b) => Number(a.slice(4, -12)) - Number(b.slice(4, -12)));
        if (fs.length !== this.state.format.world_size) throw new CheckpointError(`${dir}/${sub}: ${fs.length} rank files, the checkpoint was written by ${this.state.format.world_size} ranks`);
        return fs.map((f) => join(d, f));
      };
      this.model = scanFiles(list('model'), true).entries;
      const o = scanFiles(list('optim'), true);
      this.optim = o.entries;
      this.optimMeta = o.metadata[0] ?? {};
    } else {
      const mdir = join(dir, 'model');
      const files: string[] = [];
      if (existsSync(join(mdir, 'model.safetensors'))) files.push(join(mdir, 'model.safetensors'));
      else {
        const idx = join(mdir, 'model.safetensors.index.json');
        if (!existsSync(idx)) throw new CheckpointError(`${mdir} has no model.safetensors`);
        const map = (JSON.parse(readFileSync(idx, 'utf8')) as { weight_map: Record<string, string> }).weight_map;
        for (const f of new Set(Object.values(map))) files.push(join(mdir, f));
      }
      this.model = scanFiles(files, false).entries;
      const ofile = join(dir, 'optim.safetensors');
      if (existsSync(ofile)) { const o = scanFiles([ofile], false); this.optim = o.entries; this.optimMeta = o.metadata[0] ?? {}; }
      else { this.optim = new Map(); this.optimMeta = {}; }
    }
  }

  /** Elements [start, end) of `key` (a parameter, or `exp_avg.<param>`), assembled from the files. */
  read(which: 'model' | 'optim', key: string, start: number, end: number): Float32Array {
    const list = (which === 'model' ? this.model : this.optim).get(key);
    if (!list) throw new CheckpointError(`${this.dir}: no ${which} values for ${key}`);
    const out = new Float32Array(end - start);
    let covered = 0;
    for (const e of list) {
      const s = Math.max(start, e.start), t = Math.min(end, e.end);
      if (s >= t) continue;
      let fd = this.fds.get(e.file);
      if (fd === undefined) { fd = openSync(e.file, 'r'); this.fds.set(e.file, fd); }
      const view = new Uint8Array(out.buffer, (s - start) * 4, (t - s) * 4);
      const n = readSync(fd, view, 0, view.length, e.byteOffset + (s - e.start) * 4);
      if (n !== view.length) throw new CheckpointError(`${e.file}: short read for ${key}`);
      covered += t - s;
    }
    if (covered !== end - start) throw new CheckpointError(`${this.dir}: ${key} [${start}, ${end}) is only partly present (${covered} of ${end - start} values)`);
    return out;
  }

  close(): void { for (const fd of this.fds.values()) closeSync(fd); this.fds.clear(); }
}

/** Writes host values into a contiguous tensor's elements (any shape). */
function writeInto(dst: Tensor, data: Float32Array): void {
  if (data.length !== dst.size) throw new CheckpointError(`size mismatch writing ${dst.name ?? 'tensor'}: ${data.length} vs ${dst.size}`);
  const flat = dst._view([dst.size], dst.offset);
  const src = tensor(data, { shape: [dst.size] });
  try { copyInto(flat, src); } finally { src.dispose(); flat.dispose(); }
}

export interface LoadTarget { name: string; start: number; end: number; param: Tensor }

/**
 * Loads model values (and, unless resetOptimizer, optimizer moments + step + lrs) into the targets:
 * FSDP pieces (any world size) or whole parameters (single process).
 */
export function loadIntoTargets(src: CheckpointSources, targets: LoadTarget[], optimizer: Optimizer, resetOptimizer: boolean): void {
  for (const t of targets) writeInto(t.param, src.read('model', t.name, t.start, t.end));
  if (resetOptimizer) return;
  const meta = src.optimMeta;
  if (meta.kind && meta.kind !== optimizer.constructor.name) throw new CheckpointError(`${src.dir}: optimizer state is ${meta.kind}, run uses ${optimizer.constructor.name}`);
  for (const { name: sn, buf } of optimizer.stateTensors()) for (const t of targets) writeInto(buf.view(t.name), src.read('optim', `${sn}.${t.name}`, t.start, t.end));
  optimizer.step_ = Number(meta.step ?? 0);
  if (meta.lrs) { const lrs = JSON.parse(meta.lrs) as number[]; optimizer.groups.forEach((g, i) => { if (lrs[i] !== undefined) g.lr = lrs[i]!; }); }
}

/**
 * `olmo checkpoint unshard DIR --out HF_DIR`: any checkpoint (sharded by any W, or unsharded) →
 * an HF folder (config.json + model.safetensors, float32) that OLMo.fromPretrained loads.
 */
export async function unshardCheckpoint(dir: string, outDir: string): Promise<string[]> {
  const src = new CheckpointSources(dir);
  try {
    const { loadModelModule, toOLMoConfig } = await import('./model.js');
    const mod = await loadModelModule();
    const cfg = src.state.config as { model: Parameters<typeof toOLMoConfig>[0]; seed: number };
    const model = mod.OLMo.init(mod.OLMoConfig.from(toOLMoConfig(cfg.model)), { seed: cfg.seed }) as unknown as { specs: Array<{ name: string; shape: number[] }>; parameter(n: string): Tensor; savePretrained(d: string, o: Record<string, unknown>): Promise<string[] | void>; dispose(): void };
    for (const s of model.specs) {
      const p = model.parameter(s.name);
      writeInto(p, src.read('model', s.name, 0, p.size));
    }
    mkdirSync(outDir, { recursive: true });
    const files = (await model.savePretrained(outDir, { dtype: 'float32' })) ?? [];
    model.dispose();
    // the tokenizer travels with the model: the checkpoint's own copy, else the run's tokenizer.identifier
    const tok = copyTokenizerInto(outDir, join(dir, 'model', 'tokenizer.json'), (src.state.config as { tokenizer?: { identifier?: string | null } }).tokenizer?.identifier);
    return tok ? [...files, tok] : files;
  } finally { src.close(); }
}
