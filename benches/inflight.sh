#!/usr/bin/env bash
# Commands while 1,000 rollouts are in flight (issue 14): `hoist serve`
# (release build, which cargo bench makes) answering 200 signed slash commands with nothing in flight,
# then with 1,000 followed rollouts that never finish, in one run; p50/p99
# command -> reply, threads and RSS of the serve process, and the ratios.
#   benches/inflight.sh
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench inflight
