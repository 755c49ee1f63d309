#!/usr/bin/env bash
# Ack latency of signed Discord interactions (issue 15): `hoist serve` (its
# gateway connected to a loopback fake Discord) against a bare axum handler,
# both under 64 keep-alive connections from the bench binary, in one run;
# then hoist's RSS with the gateway connected and 1,000 members' roles learned.
#   benches/discord.sh
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench discord_ack
