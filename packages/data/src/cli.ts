/**
 * `olmo data prepare|inspect|order|tag|dedupe|mix|decon` — the `dataCommand` group, plugged into the trainer's `olmo`
 * binary; `runDataCli(argv)` and the package's own `olmo-data` bin run the same group.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { defineCommand, defineGroup, runMain, terminal, type CliCommand, type CliIO, type Terminal } from '@olmo/tensor-cuda';
import { cmdDecon, cmdDedupe, cmdMix, cmdTag } from './curation/cli.js';
import { loadRunConfig } from './config.js';
import { badArg } from './errors.js';
import { MemMapDataset, type Instance } from './memmap.js';
import { writeNpy } from './npy.js';
import { globalBatch, globalIndices } from './order.js';
import { loadTokenizer, prepare, type TokenizerLike } from './prepare.js';

export const prepareCommand = defineCommand({
  name: 'olmo data prepare',
  summary: 'tokenize a corpus into OLMo token files (+ document sidecars and manifest.json)',
  details: 'SOURCES: .jsonl / .jsonl.gz / .json.gz ({"text": ...} per line), .txt/.md files, folders, or the\nbuilt-in corpora moby-dick and sotu. Finished units are reused on a rerun (resume).',
  positionals: [{ name: 'SOURCES', description: 'files, folders, moby-dick, sotu', required: true, variadic: true }],
  options: [
    { name: 'tokenizer', type: 'string', value: 'FILE', required: true, description: 'HF tokenizer.json' },
    { name: 'out', type: 'string', value: 'DIR', required: true, description: 'output folder' },
    { name: 'threads', type: 'integer', min: 1, default: 2, description: 'tokenizer worker threads' },
    { name: 'dtype', type: 'string', choices: ['uint16', 'uint32'], defaultText: 'uint16 if the vocabulary fits, else uint32', description: 'token file dtype' },
    { name: 'no-resume', type: 'boolean', description: 'retokenize every unit even if a finished one exists' },
    { name: 'quiet', type: 'boolean', description: 'no progress line on stderr' },
  ],
  examples: ['olmo data prepare --tokenizer tok.json --out data/ moby-dick sotu my.jsonl.gz'],
}, async ({ values: v, positionals }, t) => {
  const out = v.out as string;
  const r = await prepare({
    tokenizer: v.tokenizer as string, out, sources: positionals, threads: v.threads as number,
    dtype: v.dtype as 'uint16' | 'uint32' | undefined, resume: !v['no-resume'], progress: !v.quiet,
  });
  const m = r.manifest;
  if (r.emptyDocuments > 0) {
    t.error(t.errStyle.yellow(`warning: ${r.emptyDocuments.toLocaleString('en-US')} of ${m.totalDocuments.toLocaleString('en-US')} documents are empty or whitespace only (each is a lone EOS token)${r.emptyDocuments === m.totalDocuments ? ': the corpus has no text' : ''}`));
  }
  t.print(`prepared ${m.files.length} token file(s) in ${out} (${r.written} written, ${r.reused} reused)`);
  t.print(`  documents ${m.totalDocuments.toLocaleString('en-US')}  tokens ${m.totalTokens.toLocaleString('en-US')}  dtype ${m.dtype}  eos ${m.tokenizer.eosTokenId}  vocab ${m.tokenizer.vocabSize}`);
  t.print(`  text ${(r.bytes / 1e6).toFixed(2)} MB in ${r.seconds.toFixed(2)} s (${(r.bytes / 1e6 / Math.max(r.seconds, 1e-9)).toFixed(2)} MB/s)`);
  t.print(`  manifest ${r.manifestPath}`);
  return 0;
});

export const orderCommand = defineCommand({
  name: 'olmo data order',
  summary: "write OLMo's global data order (global_indices.npy) for N instances",
  options: [
    { name: 'num-instances', type: 'integer', value: 'N', required: true, description: 'instances in the dataset' },
    { name: 'seed', type: 'string', value: 'S', required: true, description: 'data seed (non-negative integer, may exceed 2^53)' },
    { name: 'epoch', type: 'integer', value: 'E', default: 0, description: 'epoch (the permutation seed is seed + epoch)' },
    { name: 'world-size', type: 'integer', value: 'W', min: 1, default: 1, description: 'ranks (the order is padded / truncated to a multiple of W)' },
    { name: 'drop-last', type: 'boolean', description: 'truncate to a multiple of W instead of padding' },
    { name: 'out', type: 'string', value: 'FILE.npy', required: true, description: 'output .npy (uint32)' },
  ],
}, async ({ values: v }, t) => {
  const out = v.out as string, seed = v.seed as string, n = v['num-instances'] as number;
  if (!/^\d+$/.test(seed)) throw badArg(`--seed must be a non-negative integer, got ${seed}`, '`olmo data order --help` lists the options');
  const idx = globalIndices({ numInstances: n, seed: BigInt(seed), epoch: v.epoch as number, worldSize: v['world-size'] as number, dropLast: v['drop-last'] as boolean });
  mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  writeNpy(out, idx);
  const sha = createHash('sha256').update(new Uint8Array(idx.buffer, idx.byteOffset, idx.byteLength)).digest('hex');
  t.print(`wrote ${out}: ${idx.length} uint32 indices (N=${n}), sha256 ${sha}`);
  t.print(`  head ${Array.from(idx.subarray(0, 10)).join(' ')}`);
  return 0;
});

export const inspectCommand = defineCommand({
  name: 'olmo data inspect',
  summary: 'print every instance of training step N\'s global batch ("what was in batch N")',
  details: 'N is the step as the training log numbers it ([step=N], 1-based): step N trains on global batch\nN-1 of OLMo\'s order, i.e. global indices[(N-1)*B : N*B]. Steps past an epoch continue in the next one.',
  options: [
    { name: 'config', type: 'string', value: 'RUN.yaml', required: true, description: "the run's config (SAVE_FOLDER/config.yaml)" },
    { name: 'step', type: 'integer', value: 'N', min: 1, required: true, description: 'training step, 1-based as in the training log' },
    { name: 'rank', type: 'integer', value: 'R', defaultText: 'all ranks', description: "show only rank R's rows" },
    { name: 'world-size', type: 'integer', value: 'W', min: 1, default: 1, description: 'ranks the run used' },
    { name: 'tokenizer', type: 'string', value: 'FILE', defaultText: "the config's tokenizer.identifier", description: 'decode instances to text' },
    { name: 'epoch', type: 'integer', value: 'E', defaultText: "the config's epoch", description: 'start epoch' },
    { name: 'max-chars', type: 'integer', value: 'N', default: 400, description: 'truncate decoded text (0 = no limit)' },
    { name: 'json', type: 'boolean', description: 'one JSON object on stdout' },
  ],
  examples: ['olmo data inspect --config runs/demo/run/config.yaml --step 10 --tokenizer runs/demo/tokenizer.json'],
}, async ({ values: v }, t) => {
  const out = (s: string) => t.print(s);
  const cfg = loadRunConfig(v.config as string, v.epoch !== undefined ? { epoch: v.epoch as number } : {});
  const step = v.step as number;
  const batchIndex = step - 1;
  const world = v['world-size'] as number;
  const rank = v.rank as number | undefined;
  if (rank !== undefined && rank >= world) throw badArg(`--rank ${rank} must be < --world-size ${world}`);
  if (cfg.globalBatchSize % world !== 0) throw badArg(`global_train_batch_size ${cfg.globalBatchSize} is not divisible by world size ${world}`);
  const maxChars = v['max-chars'] as number;
  const tokFile = (v.tokenizer as string | undefined) ?? cfg.tokenizerFile;
  const tok: TokenizerLike | undefined = tokFile ? await loadTokenizer(tokFile) : undefined;
  const values = { json: v.json as boolean };

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
    const epoch = cfg.epoch + Math.floor(batchIndex / perEpoch);
    const k = batchIndex % perEpoch;
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
        step, batchIndex, epoch, stepInEpoch: k, globalIndicesRange: [k * B, k * B + batch.length], seed: cfg.seed, globalBatchSize: B, worldSize: world, rank: rank ?? null, numInstances: length, seqLen: cfg.seqLen,
        instances: rows.map((x) => ({ position: x.position, rank: x.rank, globalIndex: x.globalIndex, source: x.inst.source, offset: x.inst.offset, label: x.inst.metadata?.label ?? x.inst.sourceName ?? null, docIds: x.inst.docIds ?? null, docNames: x.inst.docNames ?? null, text: x.text ?? null, inputIds: tok ? undefined : Array.from(x.inst.inputIds) })),
      }));
      return 0;
    }
    out(`step ${step} (global batch ${batchIndex}): global indices[${k * B}:${k * B + batch.length}] of ${indices.length} (epoch ${epoch}, N=${length} instances of ${cfg.seqLen} tokens, seed ${cfg.seed}, world size ${world}${rank !== undefined ? `, rank ${rank}` : ''})`);
    for (const x of rows) {
      const label = x.inst.metadata?.label ?? x.inst.sourceName;
      out(`\n#${x.position}  global index ${x.globalIndex}  rank ${x.rank}${label !== undefined ? `  label ${String(label)}` : ''}`);
      out(`  source ${x.inst.source}  tokens [${x.inst.offset}, ${x.inst.offset + cfg.seqLen})`);
      if (x.inst.docIds) out(`  docs ${x.inst.docIds.map((d, k) => (x.inst.docNames ? `${d} (${x.inst.docNames[k]})` : String(d))).join(', ')}`);
      if (x.text !== undefined) {
        const shown = maxChars > 0 && x.text.length > maxChars ? `${x.text.slice(0, maxChars)}…` : x.text;
        out(`  text ${JSON.stringify(shown)}`);
      } else {
        out(`  ids ${Array.from(x.inst.inputIds.subarray(0, 32)).join(' ')}${x.inst.inputIds.length > 32 ? ' …' : ''}  (pass --tokenizer to decode)`);
      }
    }
    return 0;
  } finally {
    close();
    await tok?.close?.();
  }
});

type CurationHandler = (argv: string[], io: { out?: (s: string) => void; err?: (s: string) => void }) => Promise<number>;

/**
 * The curation commands (curation/*.ts) parse with node:util and print their own help (every
 * option with its default); here they get the standard I/O, and node:util's parse errors become
 * usage errors (exit 2) like every other command's.
 */
function curationCommand(summary: string, handler: CurationHandler): CliCommand {
  return {
    summary,
    async run(argv, io) {
      const t = terminal(io);
      try {
        return await handler(argv, { out: (s) => t.print(s), err: (s) => t.error(s) });
      } catch (e) {
        if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) throw badArg((e as Error).message, '`olmo data <command> --help` lists the options');
        throw e;
      }
    },
  };
}

export const dataCommand: CliCommand = defineGroup('olmo data', 'corpus preparation and the data order (@olmo/data)', {
  prepare: prepareCommand,
  inspect: inspectCommand,
  order: orderCommand,
  tag: curationCommand('tag documents with Dolma taggers (gopher, C4, PII, language id, …) into attribute files', cmdTag),
  dedupe: curationCommand('exact document dedup and Dolma paragraph-level Bloom-filter dedup', cmdDedupe),
  mix: curationCommand('select, filter and span-replace documents by their attributes (Dolma mixer)', cmdMix),
  decon: curationCommand('tag training paragraphs that appear in evaluation texts (Bloom filter)', cmdDecon),
});

/** Runs `olmo data <cmd> ...` as a program: returns the exit code; errors are printed in the standard format. */
export function runDataCli(argv: string[], io: CliIO = {}): Promise<number> {
  return runMain(dataCommand, argv, io);
}
