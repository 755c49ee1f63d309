#!/usr/bin/env bash
# Footprint of `hoist serve` (release build), each figure beside a baseline
# run in the same script on the same machine:
#   - start to ready: from exec to the first 200 of /readyz (polled every
#     2 ms), median of N runs with the mirror already fetched (a restart) and
#     once from an empty data dir; baseline: `git ls-remote` of the same repo;
#   - idle RSS once ready, nothing configured (no Slack, no cluster);
#     baselines: `sleep` and `python3 -m http.server`, if python3 is there;
#   - release binary size; baseline: the git binary.
# The repo is a local bare clone of deploy/example-config-repo.
#   benches/footprint.sh            # N=11
#   N=31 benches/footprint.sh
# Needs: cargo, git, curl. Goals: RSS < 30 MB, start to ready < 300 ms,
# binary < 40 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-11}

cargo build --release --quiet
bin=target/release/hoist
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

export GIT_CONFIG_NOSYSTEM=1 HOME="$work"
git -c init.defaultBranch=main init -q "$work/seed"
cp -r deploy/example-config-repo/. "$work/seed/"
git -C "$work/seed" add -A
git -C "$work/seed" -c user.name=bench -c user.email=bench@example.com commit -qm seed
git clone -q --bare "$work/seed" "$work/origin.git"
origin="$work/origin.git"

now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# Start `hoist serve` on a free port with data dir $1; sets $pid, $addr and
# $took (ms from exec to the first 200 of /readyz).
start() {
  local out="$work/out.$RANDOM" t0
  env -u SLACK_BOT_TOKEN -u SLACK_APP_TOKEN -u SLACK_SIGNING_SECRET -u KUBECONFIG \
    -u KUBERNETES_SERVICE_HOST -u HOIST_SIGNING_KEY HOIST_LOG=warn \
    "$bin" serve --repo "$origin" --data-dir "$1" --listen 127.0.0.1:0 >"$out" 2>/dev/null &
  pid=$!
  pids+=("$pid")
  t0=$(now_ms)
  addr=""
  while [ -z "$addr" ]; do
    addr=$(sed -n 's|^hoist: listening on http://||p' "$out")
    [ -n "$addr" ] || sleep 0.002
  done
  until curl -sf -o /dev/null "http://$addr/readyz"; do sleep 0.002; done
  took=$(($(now_ms) - t0))
}

stop() {
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
}

# Cold: an empty data dir (the mirror is cloned first).
start "$work/cold"
cold=$took
stop

# Warm: the same data dir each time, as a restart finds it.
times=()
for _ in $(seq "$N"); do
  start "$work/cold"
  times+=("$took")
  stop
done
ready=$(printf '%s\n' "${times[@]}" | median)

lsr=()
for _ in $(seq "$N"); do
  t0=$(now_ms)
  git ls-remote "$origin" >/dev/null
  lsr+=($(($(now_ms) - t0)))
done
ls_remote=$(printf '%s\n' "${lsr[@]}" | median)

# Idle RSS: ready, then a second with nothing to do.
start "$work/cold"
sleep 1
rss=$(rss_kb "$pid")
curl -sf "http://$addr/metrics" >/dev/null
rss_after_metrics=$(rss_kb "$pid")
stop

sleep 60 &
sleeper=$!
pids+=("$sleeper")
sleep 0.2
rss_sleep=$(rss_kb "$sleeper")
kill "$sleeper"

rss_py=""
if command -v python3 >/dev/null 2>&1; then
  (cd "$work" && exec python3 -m http.server 0 --bind 127.0.0.1 >/dev/null 2>&1) &
  py=$!
  pids+=("$py")
  sleep 1
  rss_py=$(rss_kb "$py" 2>/dev/null || true)
  kill "$py" 2>/dev/null || true
fi

size=$(stat -c %s "$bin")
git_bin=$(readlink -f "$(command -v git)")
git_size=$(stat -c %s "$git_bin")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "n/a" }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }

echo "== hoist serve footprint (N=$N, $(nproc) cores, $(uname -m))"
echo "start to ready (restart, median): ${ready} ms   [goal < 300 ms]"
echo "  baseline git ls-remote (median): ${ls_remote} ms   ratio $(ratio "$ready" "$ls_remote")"
echo "start to ready (empty data dir, once): ${cold} ms"
echo "idle RSS after ready: $(mb "$rss")   [goal < 30 MB]; after one /metrics: $(mb "$rss_after_metrics")"
echo "  baseline sleep: $(mb "$rss_sleep")   ratio $(ratio "$rss" "$rss_sleep")"
if [ -n "$rss_py" ]; then
  echo "  baseline python3 -m http.server: $(mb "$rss_py")   ratio $(ratio "$rss" "$rss_py")"
fi
echo "release binary: $(awk -v b="$size" 'BEGIN { printf "%.1f MB", b / 1048576 }')   [goal < 40 MB]"
echo "  baseline git binary ($git_bin): $(awk -v b="$git_size" 'BEGIN { printf "%.1f MB", b / 1048576 }')   ratio $(ratio "$size" "$git_size")"
echo "reproduce: benches/footprint.sh   (N=$N)"
