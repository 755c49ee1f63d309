#!/usr/bin/env bash
# The config-repo writer benchmark (issue 3): hoist against the git CLI floors
# and clone-per-write on a generated 10,000-file repo, then a 100-deploy burst
# with a foreign writer. Ratios are measured in the same run.
#   benches/run.sh                      # 15 rounds
#   HOIST_BENCH_ROUNDS=31 benches/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench writer
