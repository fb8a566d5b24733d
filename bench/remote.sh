#!/bin/sh
# make bench (remote part): checks through pam_tokenauth.so against the HTTPS
# fixture on 127.0.0.1 - cache miss and cache hit - next to a local-store
# token check and the endpoint's own time.  Usage: remote.sh BUILD_DIR
set -eu
B=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
FIX="$HERE/../tests/remote/fixture.py"
W=$(mktemp -d /tmp/ta-rbench-XXXXXX)
PID=""
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$W"' EXIT
chmod 700 "$W"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/k.pem" -out "$W/c.pem" -days 1 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
TA="$B/tokenauth"
printf 'store = %s/db/t.db\nkey_file = %s/master.key\nmax_failures = 0\n' "$W" "$W" >"$W/local.conf"
chmod 600 "$W/local.conf"
"$TA" -c "$W/local.conf" init 2>/dev/null
LOCALTOK=$("$TA" -c "$W/local.conf" issue --user alice --tenant acme 2>/dev/null)
TOKEN=tka_BenchRemoteToken00000000000000000000000000000000
python3 "$FIX" --token "$TOKEN" --cert "$W/c.pem" --key "$W/k.pem" >"$W/srv.out" 2>/dev/null &
PID=$!
for _ in $(seq 100); do PORT=$(sed -n 's/^READY //p' "$W/srv.out"); [ -n "$PORT" ] && break; sleep 0.05; done
URL="https://127.0.0.1:$PORT/ok"
for n in miss hit; do
	{
		printf 'store = %s/db/t.db\nkey_file = %s/master.key\nmax_failures = 0\n' "$W" "$W"
		printf 'verify = remote\nurl = %s\nca_file = %s/c.pem\ntenant = acme\n' "$URL" "$W"
		[ $n = hit ] && printf 'cache_ttl = 3600\n'
	} >"$W/$n.conf"
	chmod 600 "$W/$n.conf"
done
mkdir "$W/pam.d"
for n in local miss hit; do
	printf 'auth required %s/pam_tokenauth.so config=%s/%s.conf tenant=acme\n' "$B" "$W" "$n" >"$W/pam.d/$n"
done
run() { BENCH_DIST=${BENCH_DIST:-} LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$W/pam.d" "$B/bench_remote" "$@"; }
BODY="{\"access_token\":\"$TOKEN\",\"tenantSpaceId\":\"acme\",\"userAccount\":\"alice\"}"
set -- $(run curl "$URL" "$W/c.pem" "$BODY" 2000)
EP_RPS=$1 EP_MED=$2
set -- $(run pam local alice "$LOCALTOK" 20000)
L_RPS=$1 L_MED=$2
set -- $(run pam miss alice "$TOKEN" 2000)
M_RPS=$1 M_MED=$2
set -- $(run pam hit alice "$TOKEN" 20000)
H_RPS=$1 H_MED=$2
printf '\n%-46s %10s %12s\n' "remote verify through pam_tokenauth.so" "checks/s" "median (us)"
printf '%-46s %10s %12s\n' "endpoint alone (libcurl, keep-alive, fixture)" "$EP_RPS" "$EP_MED"
printf '%-46s %10s %12s\n' "PAM, remote, cache miss (every check asks)" "$M_RPS" "$M_MED"
printf '%-46s %10s %12s\n' "PAM, remote, cache hit" "$H_RPS" "$H_MED"
printf '%-46s %10s %12s\n' "PAM, local store token (the anchor)" "$L_RPS" "$L_MED"
awk -v h="$H_RPS" -v l="$L_RPS" 'BEGIN { printf "cache hit vs local token check: %.2fx the time (target: within 2x)\n", l / h }'
