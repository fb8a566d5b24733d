#!/bin/bash
# tokenauthd.sh BUILD_DIR [SECONDS] - make bench-tokenauthd: wrk against the seed
# 000 validate endpoint of tokenauthd on 127.0.0.1, 64 connections, for
# SECONDS (default 30), logging every request to a file as in production.
# Prints requests per second and p99 latency; fails on any error answer or
# when the target (>= 5,000 validations/s, p99 < 20 ms) is missed.
set -u
B=$(cd "${1:-build}" && pwd)
SECS=${2:-30}
HERE=$(cd "$(dirname "$0")/../tests/tokenauthd" && pwd) # lib.sh, validate.lua
. "$HERE/lib.sh"
command -v wrk >/dev/null || { echo "bench-tokenauthd: wrk missing (make deps)"; exit 1; }
make_fixture || { echo "bench-tokenauthd: fixture failed"; exit 1; }
trap 'td_stop bench; rm -rf "$FIX"' EXIT
PORT=$(free_port)
conf bench "listen = 127.0.0.1:$PORT"
TOK=$(cli issue --user alice --tenant acme 2>/dev/null)
td_start bench "$FIX/bench.conf" -r 0 || { echo "bench-tokenauthd: tokenauthd did not start"; exit 1; }
threads=$(sed -n 's/.*serving with \([0-9]*\) worker.*/\1/p' "$FIX/bench.log")
echo "tokenauthd bench: wrk -t2 -c64 -d${SECS}s POST $VPATH on 127.0.0.1 ($threads worker threads, $(nproc) CPUs)"
TA_BODY=$(triple "$TOK" alice acme) wrk -t2 -c64 -d"${SECS}"s --timeout 5s --latency \
    -s "$HERE/validate.lua" "http://127.0.0.1:$PORT$VPATH" >"$FIX/wrk.out" 2>&1
f() { sed -n "s/^$1: //p" "$FIX/wrk.out"; }
rps=$(f rps) p99=$(f 'p99 ms') errs=$(f 'socket errors') n=$(f requests) non2xx=$(f non-2xx)
# Every answer must have been a success: the server counts outcomes itself.
curl -s "http://127.0.0.1:$PORT/metrics" >"$FIX/metrics"
ok_n=$(sed -n 's/^tokenauthd_results_total{endpoint="validate",outcome="success"} //p' "$FIX/metrics")
bad=$(grep '^tokenauthd_results_total{endpoint="validate"' "$FIX/metrics" | grep -vc 'outcome="success"')
bad=$((bad + ${non2xx:-1}))
sed -n '/Latency Distribution/,/99%/p' "$FIX/wrk.out"
echo "tokenauthd bench: $n validations answered (server counted ${ok_n:-0} retCode 0), $bad error answers, $errs socket errors"
echo "tokenauthd bench: requests/s $rps, p99 latency $p99 ms (target >= 5000/s, p99 < 20 ms)"
[ -n "$rps" ] && [ "$bad" = 0 ] && [ "$errs" = 0 ] &&
    awk -v r="$rps" -v p="$p99" 'BEGIN { exit !(r >= 5000 && p < 20) }'
