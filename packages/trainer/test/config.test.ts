/** Config: OLMo key names, YAML overrides, CONFIG_INVALID with the key path. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { checkPrecision, ConfigError, loadAdaptConfig, loadConfig, maxStepsOf, parseOverrides, resolveConfig, requireData } from '../src/index.js';

const configsDir = resolve(import.meta.dirname, '../../../configs');
function invalid(fn: () => unknown, keyPath: string, re?: RegExp) {
  try { fn(); } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).code).toBe('CONFIG_INVALID');
    expect((e as ConfigError).keyPath).toBe(keyPath);
    if (re) expect((e as Error).message).toMatch(re);
    return;
  }
  throw new Error(`expected CONFIG_INVALID at ${keyPath}`);
}

describe('config', () => {
  it('overrides parse values as YAML', () => {
    expect(parseOverrides(['--optimizer.learning_rate=3e-4', '--optimizer.betas=[0.9,0.95]', '--load_path=null', 'run_name=x'])).toEqual({ optimizer: { learning_rate: 3e-4, betas: [0.9, 0.95] }, load_path: null, run_name: 'x' });
    const c = resolveConfig({ run_name: 'r', save_folder: 'runs/${run_name}' }, parseOverrides(['--seed=7', '--scheduler.name=linear_with_warmup']));
    expect(c.seed).toBe(7); expect(c.scheduler.name).toBe('linear_with_warmup'); expect(c.save_folder).toBe('runs/r');
  });
  it('bad values → CONFIG_INVALID with the key path', () => {
    invalid(() => resolveConfig(parseOverrides(['--optimizer.learning_rate=-1'])), 'optimizer.learning_rate', />/);
    invalid(() => resolveConfig({ global_train_batch_size: 8, device_train_microbatch_size: 3 }), 'device_train_microbatch_size', /divide/);
    invalid(() => resolveConfig(parseOverrides(['--scheduler.name=cosine'])), 'scheduler.name', /valid: constant/);
    invalid(() => requireData(resolveConfig({})), 'data.paths');
    invalid(() => resolveConfig({ global_train_batch_size: 8, device_train_microbatch_size: 16 }), 'device_train_microbatch_size');
    invalid(() => resolveConfig(parseOverrides(['--model.n_layer=2'])), 'model.n_layer', /valid keys.*model\.n_layers/);
    invalid(() => resolveConfig(parseOverrides(['--lr=2'])), 'lr', /valid keys/);
    invalid(() => resolveConfig(parseOverrides(['--seed=abc'])), 'seed', /expected int/);
    invalid(() => resolveConfig(parseOverrides(['--model.weight_tying=3'])), 'model.weight_tying', /expected bool/);
    invalid(() => resolveConfig(parseOverrides(['--optimizer.betas=[0.9]'])), 'optimizer.betas');
    invalid(() => resolveConfig(parseOverrides(['--max_duration=soon'])), 'max_duration');
  });
  it('hints name the valid values, the closest key or the doc section (not one generic line)', () => {
    const hint = (fn: () => unknown) => { try { fn(); } catch (e) { return (e as ConfigError).hint; } throw new Error('expected an error'); };
    expect(hint(() => resolveConfig(parseOverrides(['--scheduler.name=cosine'])))).toBe('set scheduler.name to one of: constant, linear_with_warmup, cosine_with_warmup, inverse_sqrt_with_warmup');
    expect(hint(() => resolveConfig(parseOverrides(['--model.n_layer=2'])))).toBe("did you mean 'model.n_layers'?");
    expect(hint(() => resolveConfig(parseOverrides(['--seed=abc'])))).toBe('set seed to an integer >= 0');
    expect(hint(() => resolveConfig(parseOverrides(['--optimizer.learning_rate=-1'])))).toMatch(/^optimizer\.learning_rate takes a number > 0/);
    expect(hint(() => resolveConfig(parseOverrides(['--max_duration=soon'])))).toMatch(/"2e9T" \(tokens\)/);
    expect(hint(() => resolveConfig(parseOverrides(['--zzzzzzzzzzzz=1'])))).toMatch(/Config section of packages\/trainer\/README\.md/);
  });
  it('a missing config file is NOT_FOUND naming the path', () => {
    expect(() => loadConfig('/nonexistent/run.yaml')).toThrow(expect.objectContaining({ code: 'NOT_FOUND', message: expect.stringContaining('/nonexistent/run.yaml') }));
  });
  it('max_duration: steps, tokens, epochs', () => {
    const c = resolveConfig({ global_train_batch_size: 4, device_train_microbatch_size: 4, model: { max_sequence_length: 256 } });
    expect(maxStepsOf({ ...c, max_duration: 100 }, 10)).toBe(100);
    expect(maxStepsOf({ ...c, max_duration: '1e6T' }, 10)).toBe(Math.ceil(1e6 / 1024));
    expect(maxStepsOf({ ...c, max_duration: '2ep' }, 10)).toBe(5);
  });
  it('every preset in configs/ loads and validates (training presets with loadConfig, adapt-*.yaml with loadAdaptConfig)', () => {
    let n = 0, adapt = 0, finetune = 0;
    // fine-tuning presets read init_from's config.json when resolved: point them at a minimal HF folder
    const hf = mkdtempSync(join(tmpdir(), 'olmo-preset-hf-'));
    writeFileSync(join(hf, 'config.json'), JSON.stringify({ model_type: 'olmo2', hidden_size: 32, num_attention_heads: 4, num_hidden_layers: 2, intermediate_size: 64, vocab_size: 320, eos_token_id: 1 }));
    writeFileSync(join(hf, 'tokenizer.json'), '{}');
    for (const f of readdirSync(configsDir).filter((x) => x.endsWith('.yaml'))) {
      if (f.startsWith('adapt-')) { loadAdaptConfig(join(configsDir, f), ['--data.paths=[chat.jsonl]']); adapt++; } // adapt data comes from the command line, as each file's header says
      else if (/^(sft|dpo)-/.test(f)) {
        const c = loadConfig(join(configsDir, f), ['--data.paths=[chat.jsonl]', `--finetune.init_from=${hf}`]);
        expect([c.finetune.mode, c.model.d_model, c.model.layer_norm_type]).toEqual([f.slice(0, 3), 32, 'rms']);
        finetune++;
      } else { loadConfig(join(configsDir, f)); n++; }
    }
    rmSync(hf, { recursive: true, force: true });
    expect(n).toBeGreaterThan(0);
    expect(adapt).toBe(2);
    expect(finetune).toBe(2);
  });
});

describe('presets carry OLMo hyperparameters', () => {
  const load = (f: string) => loadConfig(join(configsDir, f));
  it('OLMo-1B / OLMo-7B / OLMo2-1B', async () => {
    const b1 = load('OLMo-1B.yaml');
    expect([b1.optimizer.learning_rate, b1.scheduler.name, b1.scheduler.t_warmup, b1.scheduler.alpha_f]).toEqual([4e-4, 'cosine_with_warmup', 2000, 0.1]);
    expect([b1.optimizer.betas, b1.optimizer.eps, b1.optimizer.weight_decay]).toEqual([[0.9, 0.95], 1e-5, 0.1]);
    expect(b1.global_train_batch_size * b1.model.max_sequence_length).toBe(4 * 2 ** 20);
    expect(b1.eval_interval).toBe(1000);
    const b7 = load('OLMo-7B.yaml');
    expect([b7.optimizer.learning_rate, b7.scheduler.name, b7.scheduler.t_warmup, b7.scheduler.grad_clip_warmup_steps, b7.scheduler.grad_clip_warmup_factor]).toEqual([3e-4, 'linear_with_warmup', 5000, 1000, 10]);
    expect(b7.global_train_batch_size * b7.model.max_sequence_length).toBe(4 * 2 ** 20);
    expect(maxStepsOf(b7, null)).toBe(Math.ceil(2e12 / (4 * 2 ** 20)));
    const { toOLMoConfig } = await import('../src/model.js');
    const { OLMoConfig, countParameters } = await import('@olmo/model');
    expect(countParameters(OLMoConfig.from(toOLMoConfig(b1.model) as never))).toBe(1_176_764_416);
    expect(countParameters(OLMoConfig.from(toOLMoConfig(b7.model) as never))).toBe(6_888_095_744);
    const o2 = load('OLMo2-1B.yaml');
    expect(toOLMoConfig(o2.model).architecture).toBe('olmo2');
    expect(o2.scheduler.units).toBe('tokens');
  });
});

describe('precision', () => {
  const hintOf = (fn: () => unknown): string => { try { fn(); } catch (e) { expect((e as ConfigError).code).toBe('CONFIG_INVALID'); return (e as ConfigError).hint ?? ''; } throw new Error('expected CONFIG_INVALID'); };
  it('amp_fp16 is CONFIG_INVALID with a hint to use amp_bf16 (was a silent float32 fallback)', () => {
    invalid(() => resolveConfig(parseOverrides(['--precision=amp_fp16'])), 'precision', /amp_fp16 is not supported/);
    expect(hintOf(() => resolveConfig({ precision: 'amp_fp16' }))).toMatch(/amp_bf16/);
  });
  it('unknown precision values are CONFIG_INVALID naming the valid ones', () => {
    invalid(() => resolveConfig(parseOverrides(['--precision=bf16'])), 'precision', /valid: fp32, amp_bf16/);
    expect(resolveConfig(parseOverrides(['--precision=amp_bf16'])).precision).toBe('amp_bf16');
    expect(resolveConfig({}).precision).toBe('fp32');
  });
  it('a config built in code is checked too (the Trainer calls checkPrecision before building anything)', () => {
    invalid(() => checkPrecision('amp_fp16'), 'precision', /not supported/);
    invalid(() => checkPrecision(undefined), 'precision', /unknown value/);
    expect(() => checkPrecision('fp32')).not.toThrow();
  });
});
