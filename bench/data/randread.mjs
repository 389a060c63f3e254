#!/usr/bin/env node
/**
 * Random-access instance reads per second from a 1 GB uint16 token file through MemMapDataset
 * (positioned reads). The file is created in /tmp and deleted afterwards. Usage:
 *   node bench/data/randread.mjs [--gb 1] [--seq-len 2048] [--reads 200000]
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const arg = (name, d) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : d;
};
const GB = Number(arg('gb', '1'));
const SEQ = Number(arg('seq-len', '2048'));
const READS = Number(arg('reads', '200000'));
const { MemMapDataset, globalOrder } = await import(join(repo, 'packages/data/dist/index.js'));

const file = join(tmpdir(), `olmo-randread-${process.pid}.npy`);
try {
  const bytes = Math.floor(GB * 2 ** 30);
  const chunk = new Uint16Array(1 << 24);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 2654435761) % 50280;
  const fd = openSync(file, 'w');
  for (let off = 0; off < bytes; off += chunk.byteLength) writeSync(fd, new Uint8Array(chunk.buffer, 0, Math.min(chunk.byteLength, bytes - off)));
  closeSync(fd);
  const ds = await MemMapDataset.open(file, { seqLen: SEQ, dtype: 'uint16' });
  const order = globalOrder(ds.length, 6198);
  let sum = 0;
  for (let i = 0; i < 1000; i++) sum += ds.get(order[i]).inputIds[0]; // warm-up
  for (const [name, vocab] of [['plain', undefined], ['with vocab check', 50280]]) {
    const d = vocab ? await MemMapDataset.open(file, { seqLen: SEQ, dtype: 'uint16', vocabSize: vocab }) : ds;
    const t0 = performance.now();
    for (let k = 0; k < READS; k++) sum += d.get(order[k % order.length]).inputIds[1];
    const s = (performance.now() - t0) / 1000;
    console.log(`${(bytes / 2 ** 30).toFixed(2)} GiB file, ${ds.length} instances of ${SEQ} tokens; ${READS} random reads (${name}): ` +
      `${(READS / s).toFixed(0)} reads/s, ${(READS * SEQ * 2 / s / 1e6).toFixed(0)} MB/s (page cache warm: file just written)`);
  }
  ds.close();
  if (sum === -1) console.log(sum);
} finally {
  rmSync(file, { force: true });
}
