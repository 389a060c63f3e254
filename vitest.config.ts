import { defineConfig } from 'vitest/config';

// Tests run against package sources through the `olmo-source` export condition, so a TS edit
// needs no rebuild; only the native addon must be built (scripts/test.sh does that).
export default defineConfig({
  resolve: { conditions: ['olmo-source', 'import', 'node', 'default'] },
  ssr: { resolve: { conditions: ['olmo-source', 'import', 'node', 'default'], externalConditions: ['olmo-source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
