import { defineConfig } from 'vitest/config';

// Runs bench/model/gguf-vs-llamacpp.bench.ts against the package sources (olmo-source condition).
export default defineConfig({
  resolve: { conditions: ['olmo-source', 'import', 'node', 'default'] },
  ssr: { resolve: { conditions: ['olmo-source', 'import', 'node', 'default'], externalConditions: ['olmo-source'] } },
  test: { include: ['bench/model/gguf-vs-llamacpp.bench.ts'], testTimeout: 3_600_000, pool: 'forks', reporters: ['default'] },
});
