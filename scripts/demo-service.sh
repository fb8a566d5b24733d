#!/bin/sh
# demo-service.sh BUILD_DIR - the verify service end to end: tokenauthd on a
# Unix socket, a token issued through POST /generate, validated with the
# seed 000 request by curl, then a PAM login on a "remote" host
# configuration (verify = remote) that reaches the store only through
# tokenauthd.  Everything lives in a temporary folder.
set -eu
B=$(cd "$1" && pwd)
TA="$B/tokenauth"
TD="$B/tokenauthd"
D=$(mktemp -d /tmp/tokenauthd-demo-XXXXXX)
chmod 700 "$D"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$D"; }
trap cleanup EXIT
step() { printf '\n==> %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; }
SOCK=$D/tokenauthd.sock
VPATH=/rest/cc-management/v1/thirdparty/thirdPartyValidate

step "Service configuration: store, master key, admin API key, Unix socket"
(umask 077 && openssl rand -hex 24 >"$D/admin.key")
cat >"$D/tokenauth.conf" <<EOT
store = $D/db/tokenauth.db
key_file = $D/master.key
listen = unix:$SOCK
socket_mode = 0660
admin_api_key_file = $D/admin.key
EOT
chmod 600 "$D/tokenauth.conf"
cat "$D/tokenauth.conf"
"$TA" -c "$D/tokenauth.conf" init 2>&1

step "Start tokenauthd in the foreground (log: one line per request, never a token)"
show "tokenauthd -c $D/tokenauth.conf -f"
"$TD" -c "$D/tokenauth.conf" -f 2>"$D/tokenauthd.log" &
PID=$!
i=0
until grep -q "tokenauthd ready" "$D/tokenauthd.log" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$D/tokenauthd.log"; exit 1; }
	sleep 0.05
done
ls -l "$SOCK"

step "Issue a token through POST /generate (seed 004), bound to parameters"
show "curl --unix-socket $SOCK -H 'x-api-key: ...' -d '{\"userAccount\":\"alice\",\"tenantSpaceId\":\"acme\",\"ttl\":600,\"app\":\"webdav\"}' http://localhost/generate"
ANSWER=$(curl -s --unix-socket "$SOCK" -H "x-api-key: $(cat "$D/admin.key")" \
    -H 'Content-Type: application/json' \
    -d '{"userAccount":"alice","tenantSpaceId":"acme","ttl":600,"app":"webdav"}' http://localhost/generate)
echo "$ANSWER"
TOKEN=$(printf '%s' "$ANSWER" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')

step "Validate it with the seed 000 request, as the contact centre does"
BODY=$(printf '{"access_token":"%s","tenantSpaceId":"acme","userAccount":"alice"}' "$TOKEN")
show "curl --unix-socket $SOCK -H 'Content-Type: application/json' -d '$BODY' http://localhost$VPATH"
curl -s --unix-socket "$SOCK" -H 'Content-Type: application/json' -d "$BODY" "http://localhost$VPATH"
echo
step "The same token for another tenant, and a wrong one"
curl -s --unix-socket "$SOCK" -H 'Content-Type: application/json' \
    -d "$(printf '{"access_token":"%s","tenantSpaceId":"other","userAccount":"alice"}' "$TOKEN")" "http://localhost$VPATH"
echo
curl -s --unix-socket "$SOCK" -H 'Content-Type: application/json' \
    -d '{"access_token":"tka_wrong","tenantSpaceId":"acme","userAccount":"alice"}' "http://localhost$VPATH"
echo
step "GET /verify (seed 004) returns the bound parameters"
curl -s --unix-socket "$SOCK" -H "x-api-token: $TOKEN" http://localhost/verify
echo

MULTIARCH=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
if [ -f "$B/pam_tokenauth.so" ] && command -v pamtester >/dev/null &&
    [ -f "/usr/lib/$MULTIARCH/libpam_wrapper.so" ]; then
	step "A PAM host with verify = remote: no store of its own, only the socket"
	cat >"$D/host.conf" <<EOT
verify = remote
unix_socket = $SOCK
url = http://localhost$VPATH
tenant = acme
store = $D/host-has-no-store/tokenauth.db
EOT
	chmod 600 "$D/host.conf"
	cat "$D/host.conf"
	mkdir -p "$D/pam.d"
	echo "auth required $B/pam_tokenauth.so config=$D/host.conf" >"$D/pam.d/demo"
	pam() {
		printf '%s\n' "$2" | LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 \
		    PAM_WRAPPER_SERVICE_DIR="$D/pam.d" pamtester demo "$1" authenticate 2>&1 |
		    grep pamtester || true
	}
	show "pamtester demo alice authenticate   (types the token)"
	pam alice "$TOKEN"
	show "pamtester demo alice authenticate   (types a wrong token)"
	pam alice tka_wrong
fi

step "What tokenauthd logged (peer credentials from SO_PEERCRED; no token anywhere)"
grep ' status=' "$D/tokenauthd.log"
if grep -qF "$TOKEN" "$D/tokenauthd.log"; then echo "token found in the log (bug)"; exit 1; fi
kill "$PID"
wait "$PID" 2>/dev/null || true
PID=""
printf '\nService demo finished; SIGTERM removed the socket: '
[ -e "$SOCK" ] && echo "still there (bug)" || echo "gone."
