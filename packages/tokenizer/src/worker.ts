/** Worker-thread entry for WorkerPool: builds a Tokenizer once, encodes batches on request. */
import { parentPort, workerData } from 'node:worker_threads';
import { Tokenizer, type EncodeOptions } from './tokenizer.js';

const { config, options } = workerData as { config: object; options: object };
const tok = Tokenizer.fromJSON(config, options);

parentPort!.on('message', (msg: { id: number; texts: string[]; opts: EncodeOptions }) => {
  try {
    const lens = new Int32Array(msg.texts.length);
    const all: number[][] = [];
    let total = 0;
    msg.texts.forEach((t, i) => {
      const ids = tok.encode(t, msg.opts);
      all.push(ids);
      lens[i] = ids.length;
      total += ids.length;
    });
    const flat = new Int32Array(total);
    let o = 0;
    for (const ids of all) { flat.set(ids, o); o += ids.length; }
    parentPort!.postMessage({ id: msg.id, lens, flat }, [lens.buffer, flat.buffer]);
  } catch (e) {
    parentPort!.postMessage({ id: msg.id, lens: new Int32Array(0), flat: new Int32Array(0), error: String((e as Error)?.message ?? e) });
  }
});
