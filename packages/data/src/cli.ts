/**
 * `olmo data prepare|inspect|order` — exported as runDataCli(argv) for the trainer's `olmo` binary,
 * and as the package's own `olmo-data` bin.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { OlmoError } from '@olmo/tensor-cuda';
import { loadRunConfig } from './config.js';
import { badArg } from './errors.js';
import { cmdDecon, cmdDedupe, cmdMix, cmdTag } from './curation/cli.js';
import { MemMapDataset, type Instance } from './memmap.js';
import { writeNpy } from './npy.js';
import { globalBatch, globalIndices } from './order.js';
import { loadTokenizer, prepare, type TokenizerLike } from './prepare.js';

const USAGE = `usage:
  olmo data prepare --tokenizer FILE --out DIR [--threads 2] [--dtype uint16|uint32] [--no-resume] SOURCES...
      SOURCES: .jsonl / .jsonl.gz / .json.gz ({"text": ...} per line), .txt/.md files, folders, moby-dick, sotu
  olmo data inspect --config RUN.yaml --step N [--rank R] [--world-size W] [--tokenizer FILE]
                    [--epoch E] [--max-chars 400] [--json]
      prints every instance of step N's global batch (N is 0-based: indices[N*B:(N+1)*B])
  olmo data order --num-instances N --seed S [--epoch E] [--world-size W] [--drop-last] --out global_indices.npy
  olmo data tag|dedupe|mix|decon ...   Dolma-style curation (each takes -h)`;

type Out = (s: string) => void;

function int(v: string | undefined, name: string, dflt?: number): number {
  if (v === undefined) {
    if (dflt !== undefined) return dflt;
    throw badArg(`--${name} is required`, USAGE);
  }
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw badArg(`--${name} must be a non-negative integer, got ${v}`);
  return n;
}

async function cmdPrepare(argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { tokenizer: { type: 'string' }, out: { type: 'string' }, threads: { type: 'string' }, dtype: { type: 'string' }, 'no-resume': { type: 'boolean' }, quiet: { type: 'boolean' } },
  });
  if (!values.tokenizer || !values.out || positionals.length === 0) throw badArg('prepare needs --tokenizer, --out and at least one source', USAGE);
  const dtype = values.dtype as 'uint16' | 'uint32' | undefined;
  if (dtype && dtype !== 'uint16' && dtype !== 'uint32') throw badArg(`--dtype must be uint16 or uint32, got ${dtype}`);
  mkdirSync(values.out, { recursive: true });
  const r = await prepare({
    tokenizer: values.tokenizer, out: values.out, sources: positionals, threads: int(values.threads, 'threads', 2),
    dtype, resume: !values['no-resume'], progress: !values.quiet,
  });
  const m = r.manifest;
  out(`prepared ${m.files.length} token file(s) in ${values.out} (${r.written} written, ${r.reused} reused)`);
  out(`  documents ${m.totalDocuments.toLocaleString('en-US')}  tokens ${m.totalTokens.toLocaleString('en-US')}  dtype ${m.dtype}  eos ${m.tokenizer.eosTokenId}  vocab ${m.tokenizer.vocabSize}`);
  out(`  text ${(r.bytes / 1e6).toFixed(2)} MB in ${r.seconds.toFixed(2)} s (${(r.bytes / 1e6 / Math.max(r.seconds, 1e-9)).toFixed(2)} MB/s)`);
  out(`  manifest ${r.manifestPath}`);
  return 0;
}

async function cmdOrder(argv: string[], out: Out): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { 'num-instances': { type: 'string' }, seed: { type: 'string' }, epoch: { type: 'string' }, 'world-size': { type: 'string' }, 'drop-last': { type: 'boolean' }, out: { type: 'string' } },
  });
  if (!values.out) throw badArg('order needs --out FILE.npy', USAGE);
  if (values.seed === undefined || !/^\d+$/.test(values.seed)) throw badArg('--seed must be a non-negative integer', USAGE);
  const n = int(values['num-instances'], 'num-instances');
  const idx = globalIndices({
    numInstances: n, seed: BigInt(values.seed), epoch: int(values.epoch, 'epoch', 0), worldSize: Math.max(1, int(values['world-size'], 'world-size', 1)), dropLast: !!values['drop-last'],
  });
  mkdirSync(path.dirname(path.resolve(values.out)), { recursive: true });
  writeNpy(values.out, idx);
  const sha = createHash('sha256').update(new Uint8Array(idx.buffer, idx.byteOffset, idx.byteLength)).digest('hex');
  out(`wrote ${values.out}: ${idx.length} uint32 indices (N=${n}), sha256 ${sha}`);
  out(`  head ${Array.from(idx.subarray(0, 10)).join(' ')}`);
  return 0;
}

async function cmdInspect(argv: string[], out: Out): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' }, step: { type: 'string' }, rank: { type: 'string' }, 'world-size': { type: 'string' }, tokenizer: { type: 'string' },
      epoch: { type: 'string' }, 'max-chars': { type: 'string' }, json: { type: 'boolean' },
    },
  });
  if (!values.config) throw badArg('inspect needs --config RUN.yaml', USAGE);
  const cfg = loadRunConfig(values.config, values.epoch !== undefined ? { epoch: int(values.epoch, 'epoch') } : {});
  const step = int(values.step, 'step');
  const world = Math.max(1, int(values['world-size'], 'world-size', 1));
  const rank = values.rank !== undefined ? int(values.rank, 'rank') : undefined;
  if (rank !== undefined && rank >= world) throw badArg(`--rank ${rank} must be < --world-size ${world}`);
  if (cfg.globalBatchSize % world !== 0) throw badArg(`global_train_batch_size ${cfg.globalBatchSize} is not divisible by world size ${world}`);
  const maxChars = int(values['max-chars'], 'max-chars', 400);
  const tokFile = values.tokenizer ?? cfg.tokenizerFile;
  const tok: TokenizerLike | undefined = tokFile ? await loadTokenizer(tokFile) : undefined;

  let length: number;
  let get: (i: number) => Instance & { sourceName?: string; mixIndex?: number };
  let close: () => void;
  if (cfg.mix) {
    // Same arguments as the trainer (relative mix paths resolve against the working directory).
    const mixed = cfg.mix.realise({ seqLen: cfg.seqLen, dtype: cfg.dtype, seed: cfg.seed });
    if (!values.json) out(`data mix '${mixed.name}':\n${mixed.formatTable()}\n`);
    length = mixed.length;
    get = (i) => mixed.get(i);
    close = () => mixed.close();
  } else {
    const ds = MemMapDataset.openSync(cfg.paths, { seqLen: cfg.seqLen, dtype: cfg.dtype, metadata: cfg.metadata, ...(tok ? { tokenizer: { hash: tok.hash?.(), vocabSize: tok.vocabSize, eosTokenId: tok.eosTokenId } } : {}) });
    length = ds.length;
    get = (i) => ds.get(i);
    close = () => ds.close();
  }
  try {
    const B = cfg.globalBatchSize;
    let indices = globalIndices({ numInstances: length, seed: cfg.seed, epoch: cfg.epoch, worldSize: world, dropLast: cfg.dropLast });
    const perEpoch = Math.floor(indices.length / B);
    if (perEpoch < 1) throw badArg(`global_train_batch_size ${B} exceeds the ${indices.length} instances of an epoch`);
    // Steps past the end of an epoch continue in the next one (seed + epoch), as the trainer does.
    const epoch = cfg.epoch + Math.floor(step / perEpoch);
    const k = step % perEpoch;
    if (epoch !== cfg.epoch) indices = globalIndices({ numInstances: length, seed: cfg.seed, epoch, worldSize: world, dropLast: cfg.dropLast });
    const batch = globalBatch(indices, k, B);
    const rows = [];
    for (let p = 0; p < batch.length; p++) {
      const r = (k * B + p) % world;
      if (rank !== undefined && r !== rank) continue;
      const inst = get(batch[p]!);
      const text = tok ? tok.decode(inst.inputIds) : undefined;
      rows.push({ position: p, rank: r, globalIndex: batch[p]!, inst, text });
    }
    if (values.json) {
      out(JSON.stringify({
        step, epoch, stepInEpoch: k, seed: cfg.seed, globalBatchSize: B, worldSize: world, rank: rank ?? null, numInstances: length, seqLen: cfg.seqLen,
        instances: rows.map((x) => ({ position: x.position, rank: x.rank, globalIndex: x.globalIndex, source: x.inst.source, offset: x.inst.offset, label: x.inst.metadata?.label ?? x.inst.sourceName ?? null, docIds: x.inst.docIds ?? null, docNames: x.inst.docNames ?? null, text: x.text ?? null, inputIds: tok ? undefined : Array.from(x.inst.inputIds) })),
      }));
      return 0;
    }
    out(`step ${step}: global batch indices[${k * B}:${k * B + batch.length}] of ${indices.length} (epoch ${epoch}, N=${length} instances of ${cfg.seqLen} tokens, seed ${cfg.seed}, world size ${world}${rank !== undefined ? `, rank ${rank}` : ''})`);
    for (const x of rows) {
      const label = x.inst.metadata?.label ?? x.inst.sourceName;
      out(`\n#${x.position}  global index ${x.globalIndex}  rank ${x.rank}${label !== undefined ? `  label ${String(label)}` : ''}`);
      out(`  source ${x.inst.source}  tokens [${x.inst.offset}, ${x.inst.offset + cfg.seqLen})`);
      if (x.inst.docIds) out(`  docs ${x.inst.docIds.map((d, k) => (x.inst.docNames ? `${d} (${x.inst.docNames[k]})` : String(d))).join(', ')}`);
      if (x.text !== undefined) {
        const t = maxChars > 0 && x.text.length > maxChars ? `${x.text.slice(0, maxChars)}…` : x.text;
        out(`  text ${JSON.stringify(t)}`);
      } else {
        out(`  ids ${Array.from(x.inst.inputIds.subarray(0, 32)).join(' ')}${x.inst.inputIds.length > 32 ? ' …' : ''}  (pass --tokenizer to decode)`);
      }
    }
    return 0;
  } finally {
    close();
    await tok?.close?.();
  }
}

/** Runs `olmo data <cmd> ...`; returns the process exit code (errors are printed, not thrown). */
export async function runDataCli(argv: string[], io: { out?: Out; err?: Out } = {}): Promise<number> {
  const out = io.out ?? ((s: string) => process.stdout.write(`${s}\n`));
  const err = io.err ?? ((s: string) => process.stderr.write(`${s}\n`));
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'prepare': return await cmdPrepare(rest, out);
      case 'inspect': return await cmdInspect(rest, out);
      case 'order': return await cmdOrder(rest, out);
      case 'tag': return await cmdTag(rest, { out, err });
      case 'dedupe': return await cmdDedupe(rest, { out, err });
      case 'mix': return await cmdMix(rest, { out, err });
      case 'decon': return await cmdDecon(rest, { out, err });
      case undefined: case '-h': case '--help': case 'help':
        out(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        err(`unknown data command '${cmd}'\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof OlmoError) {
      err(`error [${e.code}]: ${e.message}`);
      return e.code === 'INVALID_ARGUMENT' ? 2 : 1;
    }
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err(`${(e as Error).message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}
