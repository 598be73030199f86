#!/bin/sh
# The FastAGI runtime under load: ivrd pinned to core 0, agi_bench (a C
# fake Asterisk) to core 1, call records written to a real SQLite file.
#  1. calls/s through a menu walk (answer, prompt with a key pressed,
#     variables, queue): 100 calls in flight, 40000 calls;
#  2. per-command latency at 500 calls/s offered;
#  3. RSS per held call: 15000 calls parked in a prompt.
# usage: contrib/bench/agi.sh   (from a built tree; needs taskset)
set -eu
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/agi_bench" contrib/bench/agi_bench.c \
    $(pkg-config --cflags --libs libevent)
cat > "$tmp/flow.json" <<'JSON'
{"id":"bench","languages":[{"code":"en-US","voice":"Joanna"}],
 "prompts":{"welcome":{"text":{"en-US":"For sales press 1."}}},
 "menus":{"root":{"id":"root","prompt":"welcome",
  "options":{"1":{"action":"queue","queue_ref":"sales_q"}}}}}
JSON
./ivrd -d --data-dir "$tmp" flow import "$tmp/flow.json" >/dev/null
echo "agi_max_calls = 16000" > "$tmp/ivrd.conf"
taskset -c 0 ./ivrd -d -f "$tmp/ivrd.conf" --data-dir "$tmp" \
    --cache-dir "$tmp/cache" --api-listen 127.0.0.1:0 \
    --agi-listen 127.0.0.1:0 --port-file "$tmp/ports" 2>"$tmp/log" &
pid=$!
while [ ! -s "$tmp/ports" ]; do sleep 0.05; done
sleep 1		# the prompt renders
agi=$(awk '$1 == "agi" { print $2 }' "$tmp/ports")
b="taskset -c 1 $tmp/agi_bench -a $agi -f bench -d 1 -p $pid"
echo "== throughput (target >= 5000 calls/s)"
$b -c 100 -n 40000
echo "== latency at 500 calls/s (target p99 <= 2 ms)"
$b -n 5000 -r 500
echo "== 15000 held calls (target <= 8 KB each)"
$b -H 15000
echo "calls recorded: $(sqlite3 "$tmp/ivrd.sqlite" 'SELECT count(*) FROM calls' 2>/dev/null || echo '?')"
