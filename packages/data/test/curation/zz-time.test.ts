import { it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { runCurationStage } from '../../src/curation/demo-stage.js';
import { readDocs, resolveSources } from '../../src/sources.js';
it('time', async () => {
  const tr: string[] = []; let k = 0;
  for (const u of resolveSources(['moby-dick', 'sotu'])) for await (const d of readDocs(u)) { if (!d.text.trim()) continue; const line = JSON.stringify({ text: d.text, id: d.id }); if (k++ % 20 !== 19) tr.push(line); }
  writeFileSync('/tmp/curt/train.jsonl', tr.join('\n') + '\n');
  console.log('docs', tr.length, 'bytes', tr.reduce((s, l) => s + l.length, 0));
  const t = performance.now();
  const r = await runCurationStage({ inputJsonl: '/tmp/curt/train.jsonl', workDir: '/tmp/curt/cur' + Date.now(), quiet: true });
  console.log(JSON.stringify(r), (performance.now() - t) / 1000);
}, 600_000);
