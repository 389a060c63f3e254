import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../..');
export const shared = path.resolve(repoRoot, '../shared');
export const evalData = path.join(shared, 'eval');
export const tokenizerFile = path.join(shared, 'tokenizers', 'allenai_gpt-neox-olmo-dolma-v1_5.json');
export const hasShared = existsSync(evalData) && existsSync(tokenizerFile);
if (!hasShared) console.warn(`[@olmo/eval tests] ${evalData} or ${tokenizerFile} is missing: tests on real evaluation data are SKIPPED`);
