#!/usr/bin/env bash
# 100 pull-request operations opened and merged against the fake GitHub with
# its content-creation limit enforced (issue 16): GitHub's 80 a minute and 500
# an hour, time scaled by 10 (80 per 6 s), so it runs in about half a minute.
# Prints the rejections (goal 0) and the wall time against the limit's floor,
# requests / rate (goal within 10%).
#   benches/forge.sh
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench forge
