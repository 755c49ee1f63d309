#!/usr/bin/env bash
# The journal benchmark (issue 14): 100,000 finished operations in a redb
# journal; the queries a request makes (status, soak, unfinished; rollback's
# of_app and list() for contrast) against an empty journal and one holding
# only what they answer with, in the same run. Ratios are printed.
#   benches/journal.sh
#   HOIST_BENCH_OPS=300000 HOIST_BENCH_ROUNDS=31 benches/journal.sh
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench journal
