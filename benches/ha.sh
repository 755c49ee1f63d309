#!/usr/bin/env bash
# High availability (issue 18): journal write latency per transition in the
# Kubernetes API (loopback fake API server) against redb, and failover of two
# `hoist serve` (release build, which cargo bench makes) sharing the fake:
# SIGKILL the leader amid K followed rollouts, time to the Lease taken over
# and to every rollout followed again by the new leader (goal: lease duration
# + 2 s); ratios against redb and the lease duration, in one run.
#   benches/ha.sh
#   HOIST_BENCH_LEASE=15s,10s,2s HOIST_BENCH_ROUNDS=3 benches/ha.sh
set -euo pipefail
cd "$(dirname "$0")/.."
echo "command: $(env | grep -E '^HOIST_BENCH_' | sort | tr '\n' ' ')benches/ha.sh"
exec cargo bench --bench ha
