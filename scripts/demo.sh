#!/usr/bin/env bash
# The main job, one command on a fresh machine: install + build (scripts/setup.sh), then
#   Moby Dick + State of the Union (npm) → BPE tokenizer → OLMo token files → train a small OLMo
#   on CPU → held-out perplexity vs the unigram baseline → generate → runs/demo/report.{md,html}
# Extra arguments go to `olmo demo` (e.g. --out DIR, --steps N, --time_limit=SECONDS, --model.d_model=192).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(node -p 'require("os").availableParallelism()')}"
exec node packages/trainer/dist/bin.js demo "$@"
