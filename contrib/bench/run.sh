#!/bin/sh
# API throughput of ivrd beside a bare evhttp handler, in the same run,
# and ivrd's RSS at idle. Needs wrk (apt-get install wrk) and a built
# ./ivrd. usage: contrib/bench/run.sh [SECONDS] [CONNECTIONS]
set -eu
cd "$(dirname "$0")/../.."
secs=${1:-10}
conns=${2:-32}
command -v wrk >/dev/null || { echo "bench: install wrk (apt-get install wrk)" >&2; exit 1; }
[ -x ./ivrd ] || { echo "bench: build ivrd first (make)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'kill $ivrd_pid $bare_pid 2>/dev/null; rm -rf "$tmp"' EXIT

cc -O2 -o "$tmp/bare_http" contrib/bench/bare_http.c $(pkg-config --cflags --libs libevent)

token=$(./ivrd -d --data-dir "$tmp" token create --tenant default --name bench)
./ivrd -d --data-dir "$tmp" flow import contrib/demo-flow.json >/dev/null
./ivrd -d -f /dev/null --data-dir "$tmp" --cache-dir "$tmp/cache" \
    --api-listen 127.0.0.1:0 --agi-listen 127.0.0.1:0 \
    --port-file "$tmp/ports" 2>"$tmp/ivrd.log" &
ivrd_pid=$!
while [ ! -s "$tmp/ports" ]; do sleep 0.05; done
api=$(awk '$1 == "api" { print $2 }' "$tmp/ports")
url="http://$api/api/ivr/flows/demo"

# The bare handler answers with the very body ivrd sends for the flow.
curl -sf -H "Authorization: Bearer $token" "$url" > "$tmp/body.json"
port=$((20000 + $$ % 20000))
"$tmp/bare_http" $port "$tmp/body.json" &
bare_pid=$!
sleep 0.3

rss_idle=$(awk '/VmRSS/ { print $2 }' /proc/$ivrd_pid/status)

rate() { wrk -t1 -c"$conns" -d"${secs}s" "$@" | awk '/Requests\/sec/ { print $2 }'; }
bare=$(rate "http://127.0.0.1:$port/api/ivr/flows/demo")
ivrd=$(rate -H "Authorization: Bearer $token" "$url")
rss_after=$(awk '/VmRSS/ { print $2 }' /proc/$ivrd_pid/status)

echo "body: $(wc -c < "$tmp/body.json") bytes; wrk -t1 -c$conns -d${secs}s"
echo "bare evhttp handler:         $bare req/s"
echo "ivrd GET /api/ivr/flows/{id}: $ivrd req/s"
awk -v a="$ivrd" -v b="$bare" 'BEGIN { printf "ratio: %.1f %% of the bare handler (target >= 50 %%)\n", 100 * a / b }'
echo "ivrd RSS: ${rss_idle} KiB at idle, ${rss_after} KiB after the run"
