/**
 * Runs `olmo eval` from the package sources (no build needed):
 *   EVAL_ARGS="--model /tmp/demo1/model --tokenizer /tmp/demo1/tokenizer.json --tasks piqa,copa --data ../shared/eval" \
 *     npx vitest run --config bench/eval/vitest.config.ts bench/eval/cli.test.ts
 */
import { expect, it } from 'vitest';
import { runEvalCli } from '../../packages/eval/src/index.js';

if (!process.env.EVAL_ARGS) console.warn('[bench/eval] EVAL_ARGS is not set: nothing to run (see the command at the top of this file)');
it.skipIf(!process.env.EVAL_ARGS)('olmo eval $EVAL_ARGS', async () => {
  const code = await runEvalCli(['eval', ...process.env.EVAL_ARGS!.split(/\s+/).filter(Boolean)], { stdout: (s) => void console.log(s) });
  expect(code).toBe(0);
});
