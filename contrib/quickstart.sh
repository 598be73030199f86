#!/bin/sh
# The README's two commands, on a fresh Debian 12:
#   contrib/quickstart.sh run    install what is missing, build, run ivrd
#                                in the foreground with a demo flow
#   contrib/quickstart.sh test   install what is missing, build with
#                                -Werror, run the whole test suite
set -eu
cd "$(dirname "$0")/.."

mode=${1:-run}
case "$mode" in run|test) ;; *) echo "usage: $0 run|test" >&2; exit 2 ;; esac

# Build and test dependencies, as Debian packages.
PKGS="build-essential autoconf automake libtool pkg-config perl curl
libevent-dev libjansson-dev libsqlite3-dev libcurl4-openssl-dev
libespeak-ng-dev espeak-ng-data libssl-dev libspeexdsp-dev tzdata
ca-certificates sqlite3"

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "quickstart: installing$missing"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $missing
fi

[ -x configure ] || ./autogen.sh
[ -f Makefile ] || ./configure --enable-werror
make -j"$(nproc)"

if [ "$mode" = test ]; then
	make -j"$(nproc)" check TESTS=		# builds the C unit tests only
	IVRD_BUILDDIR=$(pwd) exec prove -j2 t/
fi

# run: a store in ./run, an admin token made once, the demo flow loaded.
dir=$(pwd)/run
mkdir -p "$dir"
if [ ! -s "$dir/admin-token" ]; then
	umask 077
	./ivrd -d --data-dir "$dir" token create --admin --name quickstart \
	    > "$dir/admin-token"
fi
token=$(cat "$dir/admin-token")
./ivrd -d --data-dir "$dir" flow import contrib/demo-flow.json 2>&1 |
    grep -v "already exists" || true

cat <<MSG

ivrd is starting with its SQLite store in $dir/ivrd.sqlite.
  API:      http://127.0.0.1:5000/api/ivr
  FastAGI:  agi://127.0.0.1:4573/demo
  Token:    $token   (also in $dir/admin-token)

Try, from another terminal:
  curl -H "Authorization: Bearer $token" http://127.0.0.1:5000/api/ivr/flows
  curl -H "Authorization: Bearer $token" http://127.0.0.1:5000/api/ivr/flows/demo
  curl -H "Authorization: Bearer $token" http://127.0.0.1:5000/api/ivr/status

Ctrl-C stops it.
MSG
exec ./ivrd -d --data-dir "$dir" --cache-dir "$dir/cache" \
    --api-listen 127.0.0.1:5000 --agi-listen 127.0.0.1:4573
