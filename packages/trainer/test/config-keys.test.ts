/**
 * Trainer config keys that change what training computes, each checked against an independent
 * expectation: `loss_normalization: input_tokens`, `reset_optimizer_state`, `${oc.env:...}`,
 * `optimizer.name: lionw`, and the MFU metric (OLMo's FLOPs-per-token formula written out here).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { AdamW, LionW, loadConfig, resolveConfig, Trainer, type Metrics } from '../src/index.js';
import { tinyRunConfig, writeTokenFile } from './resume-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'olmo-config-keys-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const data = writeTokenFile(join(root, 'data'));
const T = 32; // tinyRunConfig's max_sequence_length

async function trainer(extra: Record<string, unknown>, name: string): Promise<Trainer> {
  return Trainer.fromConfig(resolveConfig(tinyRunConfig(data, join(root, name), { save_interval: 100, ...extra })), { log: () => {} });
}
const f32 = (t: Trainer) => t.params.map((p) => p.param.toFloat32Array());

describe('loss_normalization', () => {
  it('input_tokens divides the summed CE by B·T instead of the B·(T−1) targets: loss and gradients scale by (T−1)/T', async () => {
    const common = { max_grad_norm: null, softmax_auxiliary_loss: false };
    const a = await trainer({ ...common, loss_normalization: 'target_tokens' }, 'norm-target');
    const b = await trainer({ ...common, loss_normalization: 'input_tokens' }, 'norm-input');
    const ma = a.trainStep(), mb = b.trainStep();
    const ratio = (T - 1) / T;
    expect(mb['train/CrossEntropyLoss']! / ma['train/CrossEntropyLoss']!).toBeCloseTo(ratio, 6);
    expect(mb['optim/total_grad_norm']! / ma['optim/total_grad_norm']!).toBeCloseTo(ratio, 5);
    // target_tokens is the plain mean next-token CE (ln V at init is the scale: V = 256).
    expect(ma['train/CrossEntropyLoss']!).toBeGreaterThan(Math.log(256) - 0.5);
    expect(ma['train/CrossEntropyLoss']!).toBeLessThan(Math.log(256) + 0.5);
  });
});

describe('reset_optimizer_state', () => {
  it('loads the weights and trainer state but starts AdamW from zero moments', async () => {
    const save = join(root, 'reset-src');
    const a = await Trainer.fromConfig(resolveConfig(tinyRunConfig(data, save, { max_duration: 5, save_interval: 5 })), { log: () => {} });
    await a.fit();
    const ckpt = join(save, 'step5-unsharded');
    const kept = await trainer({ load_path: ckpt, max_duration: 10 }, 'reset-kept');
    const reset = await trainer({ load_path: ckpt, max_duration: 10, reset_optimizer_state: true }, 'reset-fresh');
    for (const t of [kept, reset]) {
      expect(t.step).toBe(5); // trainer state restored either way
      expect(f32(t)).toEqual(f32(a)); // weights restored either way
    }
    const moments = (t: Trainer) => (t.optimizer as AdamW).stateTensors().map(({ buf }) => t.params.map((p) => Array.from(buf.view(p.name).toFloat32Array())).flat());
    const [m0, v0] = moments(a);
    expect(kept.optimizer.step_).toBe(5);
    expect(moments(kept)).toEqual([m0, v0]);
    expect(m0!.some((x) => x !== 0)).toBe(true);
    expect(reset.optimizer.step_).toBe(0);
    for (const m of moments(reset)) expect(m.every((x) => x === 0)).toBe(true);
    // A fresh AdamW's first bias-corrected update is ±lr·g/(|g|+eps) ≈ ±lr per element, unlike the
    // continued run: the two next steps differ.
    expect(reset.trainStep()['train/CrossEntropyLoss']).toBe(kept.trainStep()['train/CrossEntropyLoss']); // same weights, same batch
    expect(f32(reset)).not.toEqual(f32(kept)); // different updates
  });
});

describe('${oc.env:VAR,default}', () => {
  it('reads the environment, falls back to the default, and works inside strings and from YAML files', () => {
    const prev = process.env.OLMO_TEST_RUN_NAME;
    try {
      process.env.OLMO_TEST_RUN_NAME = 'from-env';
      const layer = { run_name: '${oc.env:OLMO_TEST_RUN_NAME,dflt}', save_folder: 'runs/${oc.env:OLMO_TEST_RUN_NAME,none}/x' };
      let c = resolveConfig(layer);
      expect(c.run_name).toBe('from-env');
      expect(c.save_folder).toBe('runs/from-env/x');
      delete process.env.OLMO_TEST_RUN_NAME;
      c = resolveConfig(layer);
      expect(c.run_name).toBe('dflt');
      expect(c.save_folder).toBe('runs/none/x');
      // Unset and no default: an error naming the key (OmegaConf raises too).
      expect(() => resolveConfig({ save_folder: 'runs/${oc.env:OLMO_TEST_RUN_NAME}/x' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', keyPath: 'save_folder' }));
      const file = join(root, 'env.yaml');
      writeFileSync(file, YAML.stringify({ run_name: 'r', save_folder: '${oc.env:OLMO_TEST_SAVE,runs/${run_name}}' }));
      expect(loadConfig(file).save_folder).toBe('runs/r');
      process.env.OLMO_TEST_SAVE = '/tmp/elsewhere';
      expect(loadConfig(file).save_folder).toBe('/tmp/elsewhere');
    } finally {
      if (prev === undefined) delete process.env.OLMO_TEST_RUN_NAME; else process.env.OLMO_TEST_RUN_NAME = prev;
      delete process.env.OLMO_TEST_SAVE;
    }
  });
});

describe('optimizer.name: lionw', () => {
  it('builds LionW with the config betas, and one trainer step is w·(1 − lr·wd) − lr·sign(g)', async () => {
    const t = await trainer({ optimizer: { name: 'lionw', learning_rate: 1e-3, weight_decay: 0.1, betas: [0.8, 0.97] } }, 'lionw');
    expect(t.optimizer).toBeInstanceOf(LionW);
    const o = t.optimizer as LionW;
    expect([o.beta1, o.beta2]).toEqual([0.8, 0.97]);
    const before = new Map(t.params.map((p) => [p.name, Float64Array.from(p.param.toFloat32Array())]));
    t.trainStep();
    let checked = 0;
    for (const g of o.groups) g.params.forEach((p, i) => {
      const name = g.names[i]!;
      const w0 = before.get(name)!, grad = p.grad!.toFloat32Array(), w1 = p.toFloat32Array(), m = o.expAvg.view(name).toFloat32Array();
      for (let j = 0; j < w0.length; j++) {
        // m starts at zero, so the update direction is sign(g) (clipping scales g, not its sign).
        const want = w0[j]! * (1 - g.lr * g.weightDecay) - g.lr * Math.sign(grad[j]!);
        expect(Math.abs(w1[j]! - want), `${name}[${j}]`).toBeLessThan(1e-7 + 1e-6 * Math.abs(want));
        expect(m[j]!).toBeCloseTo((1 - 0.97) * grad[j]!, 9);
        checked++;
      }
    });
    expect(checked).toBe(t.params.reduce((s, p) => s + p.param.size, 0));
    expect(o.groups.some((g) => g.weightDecay === 0.1)).toBe(true);
  });
});

describe('throughput/device/mfu', () => {
  it('is tokens/s · FLOPs-per-token / mfu_peak_flops, with OLMo\'s FLOPs formula', async () => {
    const peak = 2.5e9;
    const t = await trainer({ max_duration: 3, mfu_peak_flops: peak }, 'mfu');
    const seen: Metrics[] = [];
    t.callbacks.push({ name: 'capture', onStepEnd: (_v, m) => void seen.push({ ...m }) });
    await t.fit();
    expect(seen).toHaveLength(3);
    // OLMo (olmo/model.py num_fwd_flops + num_bck_flops, per token): forward 2·N without the
    // embedding table + 4·L·d·T, backward 4·N + 8·L·d·T (N, L, d from the built model here).
    const L = 2, d = 32;
    const N = t.params.reduce((s, p) => s + p.param.size, 0);
    const emb = t.params.filter((p) => /embed_tokens|wte/.test(p.name)).reduce((s, p) => s + p.param.size, 0);
    expect(emb).toBe(256 * 32);
    const flops = 2 * (N - emb) + 4 * L * d * T + 4 * N + 8 * L * d * T;
    expect(t.flopsPerToken).toBe(flops);
    for (const m of seen) {
      const tps = m['throughput/device/tokens_per_second']!;
      expect(tps).toBeGreaterThan(0);
      expect(m['throughput/device/model_flops_per_second']!).toBeCloseTo(tps * flops, 0);
      expect(m['throughput/device/mfu']! / ((tps * flops) / peak)).toBeCloseTo(1, 12);
    }
  });
});
