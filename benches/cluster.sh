#!/usr/bin/env bash
# The cluster-follower benchmark (issue 6): 5,000 Argo CD Applications in the
# loopback fake API server, one watch; latency from a status change to the
# follower's report against a bare kube watcher in the same run, and RSS.
#   benches/cluster.sh
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench cluster
