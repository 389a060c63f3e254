import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A small learnable corpus: noisy repeating phrases over a 256-token vocabulary (uint16 token file). */
export function writeTokenFile(dir: string, tokens = 64 * 32 * 2): string {
  mkdirSync(dir, { recursive: true });
  const a = new Uint16Array(tokens);
  let s = 12345;
  for (let i = 0; i < tokens; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = (s >>> 24) < 40 ? (s >>> 8) & 255 : (i * 7 + Math.floor(i / 13)) % 97;
  }
  const p = join(dir, 'tokens.npy');
  writeFileSync(p, Buffer.from(a.buffer));
  return p;
}

export function tinyRunConfig(data: string, save: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    run_name: 'resume-test', seed: 11, max_duration: 20, global_train_batch_size: 4, device_train_microbatch_size: 2,
    save_folder: save, save_interval: 5, save_num_checkpoints_to_keep: 3, progress: false, console_log_interval: 100,
    model: { d_model: 32, n_heads: 2, n_layers: 2, mlp_ratio: 4, max_sequence_length: 32, vocab_size: 256, embedding_size: 256, eos_token_id: 0, pad_token_id: 0, init_fn: 'normal', init_std: 0.02 },
    optimizer: { name: 'adamw', learning_rate: 1e-2, weight_decay: 0.1, betas: [0.9, 0.95], eps: 1e-5 },
    scheduler: { name: 'cosine_with_warmup', t_warmup: 5, alpha_f: 0.1 },
    max_grad_norm: 1.0, softmax_auxiliary_loss: true, auxiliary_loss_multiplier: 1e-4,
    data: { paths: [data] }, ...extra,
  };
}

export function readMetrics(save: string): Array<Record<string, number>> {
  return readFileSync(join(save, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, number>);
}
