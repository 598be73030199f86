#!/bin/sh
# The voice API's call log with 1,000,000 calls stored: p50/p99 latency
# of a filtered page (GET /api/v1/voice/calls?status=...&from=...&to=...,
# and one by phone_number_uuid), 300 requests each on one keep-alive
# connection, the count for meta.total included. Target: p99 <= 20 ms.
# The calls: 10 tenants, 20 numbers each, statuses 60% completed, 20%
# failed, 10% in-progress, 10% ringing, 25% outbound, over 90 days.
# usage: contrib/bench/calls.sh [ncalls]   (from a built tree; needs sqlite3)
set -eu
cd "$(dirname "$0")/../.."
n=${1:-1000000}
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
token=$(./ivrd -d --data-dir "$tmp" token create --tenant t0 --name bench 2>/dev/null)
admin=$(./ivrd -d --data-dir "$tmp" token create --admin --name root 2>/dev/null)
t0=$(date +%s)
sqlite3 "$tmp/ivrd.sqlite" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
BEGIN;
INSERT INTO tenants (name, voice_enabled) VALUES ('t0', 1);
WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < $n - 1)
INSERT INTO calls (id, uniqueid, tenant, flow_id, phone_number_uuid,
    from_number, to_number, direction, status, started_at, ended_at,
    duration_ms, ai_handled, timeline)
SELECT printf('call-%08d', i), printf('1700000000.%d', i), 't' || (i % 10),
    'sales', printf('num-%d-%02d', i % 10, (i / 10) % 20),
    printf('+1555%07d', i % 9999991), '+18005550100',
    CASE WHEN i % 4 = 0 THEN 'outbound' ELSE 'inbound' END,
    CASE WHEN i % 10 < 6 THEN 'completed' WHEN i % 10 < 8 THEN 'failed'
         WHEN i % 10 = 8 THEN 'in-progress' ELSE 'ringing' END,
    strftime('%Y-%m-%dT%H:%M:%S.000Z', 1763683200 - (i * 7776000 / $n), 'unixepoch'),
    strftime('%Y-%m-%dT%H:%M:%S.000Z', 1763683200 - (i * 7776000 / $n) + 95, 'unixepoch'),
    95000, i % 3 = 0, '[{"at_ms":0,"event":"answered"}]'
FROM c;
COMMIT;
ANALYZE;
SQL
echo "$n calls stored in $(( $(date +%s) - t0 )) s ($(du -h "$tmp/ivrd.sqlite" | cut -f1))"
./ivrd -d --data-dir "$tmp" --cache-dir "$tmp/cache" --api-listen 127.0.0.1:0 \
    --agi-listen 127.0.0.1:0 --port-file "$tmp/ports" 2>"$tmp/log" &
pid=$!
while [ ! -s "$tmp/ports" ]; do sleep 0.05; done
api=$(awk '$1 == "api" { print $2 }' "$tmp/ports")
perl -MHTTP::Tiny -MTime::HiRes=time -MJSON::PP -e '
my ($api, $token, $admin) = @ARGV;
my %http = map { $_->[0] => HTTP::Tiny->new(keep_alive => 1,
    default_headers => { Authorization => "Bearer $_->[1]" }) }
    [ tenant => $token ], [ admin => $admin ];
for my $q ("status=completed&from=2025-10-01T00:00:00Z&to=2025-10-31T00:00:00Z&per_page=20",
    "phone_number_uuid=num-0-07&from=2025-10-01T00:00:00Z&to=2025-10-31T00:00:00Z&per_page=20",
    "phone_number_uuid=num-0-07&status=completed&per_page=20",
    "status=completed&per_page=20",
    "status=completed&from=2025-10-01T00:00:00Z&to=2025-10-31T00:00:00Z&per_page=20&page=50",
    "admin: every tenant, per_page=20",
    "admin: every tenant, status=completed&from=2025-10-01T00:00:00Z&to=2025-10-31T00:00:00Z&per_page=20") {
	my (@ms, $total);
	my ($who, $query) = $q =~ /^admin: every tenant, (.*)$/ ? ("admin", $1) : ("tenant", $q);
	for (1 .. 300) {
		my $t = time;
		my $r = $http{$who}->get("http://$api/api/v1/voice/calls?$query");
		push @ms, (time - $t) * 1000;
		die "$r->{status} $r->{content}" unless $r->{success};
		$total //= decode_json($r->{content})->{meta}{total};
	}
	@ms = sort { $a <=> $b } @ms;
	printf "%-100s total %7d  p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms\n",
	    $q, $total, $ms[149], $ms[296], $ms[-1];
}' "$api" "$token" "$admin"
