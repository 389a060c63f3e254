import { defineConfig } from 'vitest/config';

// Runs bench/eval/bench.test.ts against the package sources (olmo-source condition), like the tests.
export default defineConfig({
  resolve: { conditions: ['olmo-source', 'import', 'node', 'default'] },
  ssr: { resolve: { conditions: ['olmo-source', 'import', 'node', 'default'], externalConditions: ['olmo-source'] } },
  test: { include: ['bench/eval/bench.test.ts', 'bench/eval/cli.test.ts'], testTimeout: 3_600_000, pool: 'forks', reporters: ['default'] },
});
