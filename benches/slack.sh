#!/usr/bin/env bash
# Ack latency of signed slash commands (issue 5): `hoist serve` against a bare
# axum handler, both under 64 connections from wrk, in one run.
#   benches/slack.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk > /dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk > /dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq wrk > /dev/null; fi
fi
exec cargo bench --bench slack_ack
