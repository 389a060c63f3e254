/**
 * Golden harness: every fixture folder under ../shared/golden (and each folder listed in
 * OLMO_GOLDEN_DIRS, colon-separated) must be reproduced by fromPretrained + forward (logits, loss
 * and every grad.<param>, 1e-4 relative) and by greedy generation (ids and every step's logits).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cudaAvailable, type Device } from '@olmo/tensor-cuda';
import { OLMo, SafetensorsFile } from '../src/index.js';
import { goldenDirs, relErr } from './helpers.js';

const TOL = 1e-4;
const { dirs, reason } = goldenDirs();
if (dirs.length === 0) console.warn(`[golden] skipped: no fixtures (${reason ?? 'none listed'}); set OLMO_GOLDEN_DIRS to run your own`);
const devices: Device[] = ['cpu'];
if (cudaAvailable()) devices.push('cuda:0');
else console.warn('[golden] CUDA variant skipped: no CUDA device');

describe.skipIf(dirs.length === 0)('golden fixtures', () => {
  for (const dir of dirs) for (const device of devices) {
    if (!existsSync(path.join(dir, 'generate.json'))) console.warn(`[golden] ${path.basename(dir)}: greedy generation skipped, the fixture has no generate.json`);
    describe(`${path.basename(dir)} (${device})`, () => {
      it('forward: logits, loss and every grad', async () => {
        const inputs = JSON.parse(readFileSync(path.join(dir, 'inputs.json'), 'utf8')) as { input_ids: number[][] };
        const exp = await SafetensorsFile.open(path.join(dir, 'expected.safetensors'));
        const model = await OLMo.fromPretrained(dir, { device, dtype: 'float32', requiresGrad: true });
        try {
          const { logits, loss } = model.forward(inputs.input_ids, { labels: inputs.input_ids });
          const eLogits = await exp.readFloat32('logits');
          expect(logits.shape).toEqual(exp.info('logits').shape);
          const le = relErr(logits.toFloat32Array(), eLogits);
          expect(le, `logits rel err ${le}`).toBeLessThanOrEqual(TOL);
          const eLoss = (await exp.readFloat32('loss'))[0]!;
          expect(Math.abs(loss!.item() - eLoss) / Math.abs(eLoss), `loss ${loss!.item()} vs ${eLoss}`).toBeLessThanOrEqual(TOL);
          loss!.backward();
          const gradNames = exp.names().filter((n) => n.startsWith('grad.'));
          expect(gradNames.length).toBeGreaterThan(0);
          for (const g of gradNames) {
            const p = model.parameter(g.slice(5));
            expect(p.grad, `${g} missing`).not.toBeNull();
            const e = relErr(p.grad!.toFloat32Array(), await exp.readFloat32(g));
            expect(e, `${g} rel err ${e}`).toBeLessThanOrEqual(TOL);
          }
          logits.dispose();
          loss!.dispose();
        } finally {
          model.dispose();
          await exp.close();
        }
      });

      it.skipIf(!existsSync(path.join(dir, 'generate.json')))('greedy generation: ids and step logits', async () => {
        const g = JSON.parse(readFileSync(path.join(dir, 'generate.json'), 'utf8')) as { prompt: number[]; max_new_tokens: number; greedy: number[] };
        const model = await OLMo.fromPretrained(dir, { device });
        const stepFile = path.join(dir, 'generate.safetensors');
        const steps = existsSync(stepFile) ? await SafetensorsFile.open(stepFile) : null;
        try {
          const got: number[] = [];
          const stepLogits: Float32Array[] = [];
          for await (const id of model.generate(g.prompt, { maxNewTokens: g.max_new_tokens, stopTokenIds: [], onLogits: (l) => stepLogits.push(l.slice()) })) got.push(id);
          expect(got).toEqual(g.greedy);
          if (steps) {
            const all = await steps.readFloat32('step_logits');
            const [S, V] = steps.info('step_logits').shape as [number, number];
            expect(stepLogits.length).toBe(S);
            for (let s = 0; s < S; s++) {
              const e = relErr(stepLogits[s]!, all.subarray(s * V, (s + 1) * V));
              expect(e, `step ${s} logits rel err ${e}`).toBeLessThanOrEqual(TOL);
            }
          }
        } finally {
          model.dispose();
          await steps?.close();
        }
      });
    });
  }
});
