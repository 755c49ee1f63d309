#!/usr/bin/env bash
# The audit benchmark (issue 19): a config repo of 10,000 first-parent
# commits (git fast-import, then every hoist commit signed with an ed25519
# key and repacked), audited over 30 targets with every signature checked,
# against `git log --format=%H%n%B` over the same repo in the same run.
#   benches/audit.sh
#   HOIST_BENCH_COMMITS=50000 HOIST_BENCH_ROUNDS=9 benches/audit.sh
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench audit
