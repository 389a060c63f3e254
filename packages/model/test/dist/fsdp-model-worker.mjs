// Run under mpirun by fsdp.test.ts: an OLMo model sharded with FSDP (ZeRO-3, by block) vs the same
// model unsharded. Every rank runs the same batch and gradients are averaged over ranks (OLMo's
// FSDP semantics), so each shard gradient must equal the reference.
import { ProcessGroup, FSDP, fsdpUnits, noGrad } from '@olmo/tensor-cuda';
import { OLMo, OLMoConfig } from '../../dist/index.js';
const pg = ProcessGroup.init();
const cfg = OLMoConfig.from({ vocab_size: 50, embedding_size: 50, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32, tie_word_embeddings: true, clip_qkv: 2 });
const ref = OLMo.init(cfg, { seed: 3 }); ref.requiresGrad_(true);
const ids = [[1,2,3,4,5,6,7],[8,9,10,11,12,13,14]];
const r = ref.forward(ids, { labels: ids }); r.loss.backward();
const model = OLMo.init(cfg, { seed: 3 });
const fsdp = new FSDP(pg, fsdpUnits(model.specs, 'by_block'));
fsdp.loadFull((n) => model.parameter(n)); model.releaseStorage();
const out = model.forward(ids, { labels: ids, units: fsdp }); out.loss.backward();
let err = 0;
for (const p of fsdp.pieces()) { const g = ref.parameter(p.name).grad.toFloat32Array().subarray(p.start, p.end); const m = p.param.grad.toFloat32Array(); let num = 0, den = 0; for (let i = 0; i < g.length; i++) { num += (m[i] - g[i]) ** 2; den += g[i] ** 2; } err = Math.max(err, Math.sqrt(num / Math.max(den, 1e-30))); }
const mem = fsdp.memoryReport();
console.log(JSON.stringify({ rank: pg.rank, ref: r.loss.item(), fsdp: out.loss.item(), err, paramBytes: mem.paramBytes, unsharded: mem.unshardedParamBytes }));
pg.destroy();
