#!/bin/sh
# Remote verify (SPEC §5) against real HTTPS servers on 127.0.0.1, driven
# through the real CLI.  Each case asserts the verdict (exit status) and
# that the credential never appears in the logs.
# Usage: run.sh BUILD_DIR
set -u
B=$(cd "$1" && pwd)
TA="$B/tokenauth"
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../cli/lib.sh"
W=$(mktemp -d /tmp/ta-remote-XXXXXX)
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
chmod 700 "$W"
TOKEN="tka_RemoteTestToken000000000000000000000000000000000"
OTHER="tka_SomeoneElsesToken00000000000000000000000000000000"

# --- certificates made here ---------------------------------------------------
mk_cert() { # name CN SAN signer(ca|self)
	openssl req -new -newkey rsa:2048 -nodes -keyout "$W/$1.key" -subj "/CN=$2" \
		-out "$W/$1.csr" 2>/dev/null
	printf 'subjectAltName=%s\n' "$3" >"$W/$1.ext"
	if [ "$4" = ca ]; then
		openssl x509 -req -in "$W/$1.csr" -CA "$W/ca.crt" -CAkey "$W/ca.key" -CAcreateserial \
			-days 2 -extfile "$W/$1.ext" -out "$W/$1.crt" 2>/dev/null
	else
		openssl x509 -req -in "$W/$1.csr" -signkey "$W/$1.key" -days 2 -extfile "$W/$1.ext" \
			-out "$W/$1.crt" 2>/dev/null
	fi
}
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/ca.key" -out "$W/ca.crt" -days 2 \
	-subj "/CN=tokenauth test CA" 2>/dev/null
mk_cert good 127.0.0.1 "IP:127.0.0.1,DNS:localhost" ca
mk_cert wrong wrong.example "DNS:wrong.example" ca
mk_cert self 127.0.0.1 "IP:127.0.0.1" self
PIN="sha256//$(openssl x509 -in "$W/good.crt" -pubkey -noout | openssl pkey -pubin -outform der |
	openssl dgst -sha256 -binary | base64)"
WRONGPIN="sha256//$(openssl x509 -in "$W/wrong.crt" -pubkey -noout | openssl pkey -pubin -outform der |
	openssl dgst -sha256 -binary | base64)"
printf 'K3Y-for-the-remote-endpoint\n' >"$W/api.key"
printf 'shared-signing-key\n' >"$W/sign.key"
chmod 600 "$W/api.key" "$W/sign.key"

start() { # name args... -> sets PORT
	name=$1
	shift
	python3 "$HERE/fixture.py" --token "$TOKEN" --api-key K3Y-for-the-remote-endpoint \
		--sign-key "$W/sign.key" "$@" >"$W/srv.$name.out" 2>"$W/srv.$name.err" &
	PIDS="$PIDS $!"
	echo $! >"$W/srv.pid"
	for _ in $(seq 100); do
		PORT=$(sed -n 's/^READY //p' "$W/srv.$name.out" 2>/dev/null)
		[ -n "$PORT" ] && return 0
		sleep 0.05
	done
	echo "fixture did not start: $(cat "$W/srv.$name.err")" >&2
	exit 1
}
start good --cert "$W/good.crt" --key "$W/good.key" --record "$W/signed.json"
GOOD=$PORT
GOODPID=$(cat "$W/srv.pid")
start wrong --cert "$W/wrong.crt" --key "$W/wrong.key"
WRONG=$PORT
start self --cert "$W/self.crt" --key "$W/self.key"
SELF=$PORT
start tls11 --cert "$W/good.crt" --key "$W/good.key" --tls11
TLS11=$PORT
start plain --plain
PLAIN=$PORT
# a listener that accepts (kernel backlog) and never answers
python3 -c 'import socket,time,sys
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(16)
print("READY",s.getsockname()[1],flush=True); time.sleep(120)' >"$W/srv.silent.out" &
PIDS="$PIDS $!"
for _ in $(seq 100); do SILENT=$(sed -n 's/^READY //p' "$W/srv.silent.out"); [ -n "$SILENT" ] && break; sleep 0.05; done
# a port with nothing listening
CLOSED=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# conf NAME key=value... -> $W/NAME.conf (remote only, with a local store for throttling)
conf() {
	f="$W/$1.conf"
	shift
	{
		echo "store = $W/db/tokenauth.db"
		echo "key_file = $W/master.key"
		echo "verify = remote"
		echo "max_failures = 0"
		echo "ca_file = $W/ca.crt"
		echo "connect_timeout_ms = 1000"
		echo "timeout_ms = 2000"
		for kv in "$@"; do echo "$kv"; done
	} >"$f"
	chmod 600 "$f"
	echo "$f"
}
"$TA" -c "$(conf base)" init 2>/dev/null

# case WANT DESC CONF [TOKEN] [USER] [TENANT]
case_() {
	want=$1 desc=$2 cf=$3 tok=${4:-$TOKEN} user=${5:-alice} tenant=${6:-acme}
	echo "$tok" | expect "$want" "$desc" -- "$TA" -c "$cf" verify --user "$user" --tenant "$tenant"
	if grep -qF "$tok" "$W/err" "$W/out"; then bad "$desc: credential in the logs"; else ok; fi
}
U="https://127.0.0.1:$GOOD"

# --- profile cec -------------------------------------------------------------------------
case_ 0 "cec: success" "$(conf c1 "url = $U/ok")"
case_ 1 "cec: wrong token (retCode 1)" "$(conf c2 "url = $U/ok")" "$OTHER"
case_ 1 "cec: retCode != 0" "$(conf c3 "url = $U/retcode1")"
case_ 3 "cec: HTTP 500" "$(conf c4 "url = $U/500")"
err_has "HTTP status not 200" "500 reason logged"
case_ 3 "cec: invalid JSON" "$(conf c5 "url = $U/badjson")"
case_ 3 "cec: missing retCode" "$(conf c6 "url = $U/noretcode")"
case_ 3 "cec: duplicate retCode keys" "$(conf c6b "url = $U/dupkeys")"
case_ 3 "cec: 10 MB body" "$(conf c7 "url = $U/big")"
err_has "64 KiB" "oversized body reason"
case_ 3 "cec: redirect not followed" "$(conf c8 "url = $U/redirect")"
case_ 0 "failover: refused first URL, second answers" "$(conf c9 "url = https://127.0.0.1:$CLOSED/ok,$U/ok")"
case_ 3 "wrong host in certificate" "$(conf c10 "url = https://127.0.0.1:$WRONG/ok")"
case_ 3 "self-signed certificate not in ca_file" "$(conf c11 "url = https://127.0.0.1:$SELF/ok")"
case_ 3 "TLS 1.1 only server" "$(conf c12 "url = https://127.0.0.1:$TLS11/ok")"
case_ 0 "pinned key matches" "$(conf c13 "url = $U/ok" "pinned_pubkey = $PIN")"
case_ 3 "pinned key differs" "$(conf c14 "url = $U/ok" "pinned_pubkey = $WRONGPIN")"
case_ 0 "plain http to loopback allowed" "$(conf c15 "url = http://127.0.0.1:$PLAIN/ok")"
case_ 3 "api key missing: 401 is unavailable, not a rejection" "$(conf c16 "url = $U/apikey")"
case_ 0 "api key sent" "$(conf c17 "url = $U/apikey" "api_key_file = $W/api.key")"
grep -q "K3Y" "$W/err" && bad "api key in logs" || ok

# every URL down: exit 3 (PAM_AUTHINFO_UNAVAIL); http:// to a non-loopback host refused
case_ 3 "all endpoints refused" "$(conf c18 "url = https://127.0.0.1:$CLOSED/ok")"
err_has "every endpoint unavailable" "outage logged loudly"
case_ 2 "http to a remote host is refused" "$(conf c19 "url = http://192.0.2.1/ok")"
err_has "plain http only to loopback" "reason"
case_ 2 "verify=remote without url" "$(conf c20)"

# a server that accepts and never answers: bounded by timeout_ms
cf=$(conf c21 "url = https://127.0.0.1:$SILENT/ok" "timeout_ms = 1000" "connect_timeout_ms = 500")
t0=$(date +%s%N)
case_ 3 "silent server" "$cf"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "silent server: returned after ${ms} ms (timeout_ms = 1000)"
[ "$ms" -lt 2500 ] && ok || bad "silent server took ${ms} ms"
cf=$(conf c22 "url = $U/hang" "timeout_ms = 1000")
t0=$(date +%s%N)
case_ 3 "server that never responds to the request" "$cf"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 2500 ] && ok || bad "hanging endpoint took ${ms} ms"
# two silent URLs: the total is bounded by the sum
cf=$(conf c23 "url = https://127.0.0.1:$SILENT/a,https://127.0.0.1:$SILENT/b" "timeout_ms = 700")
t0=$(date +%s%N)
case_ 3 "two silent endpoints" "$cf"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "two silent endpoints: ${ms} ms (2 x timeout_ms 700)"
[ "$ms" -lt 2600 ] && ok || bad "two silent endpoints took ${ms} ms"

# --- signed requests ------------------------------------------------------------------------
cf=$(conf s1 "url = $U/signed" "sign_key_file = $W/sign.key")
case_ 0 "signed request accepted" "$cf"
case_ 0 "second signed request (fresh nonce) accepted" "$cf"
printf 'another-key\n' >"$W/bad.key"; chmod 600 "$W/bad.key"
case_ 3 "wrong signing key refused by the endpoint" "$(conf s2 "url = $U/signed" "sign_key_file = $W/bad.key")"
# replay the recorded request byte for byte: the fixture refuses the nonce
R="$W/signed.json"
ts=$(python3 -c "import json;print(json.load(open('$R'))['ts'])")
nonce=$(python3 -c "import json;print(json.load(open('$R'))['nonce'])")
sig=$(python3 -c "import json;print(json.load(open('$R'))['sig'])")
body=$(python3 -c "import json;print(json.load(open('$R'))['body'])")
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$W/ca.crt" -H "Content-Type: application/json" \
	-H "X-TokenAuth-Timestamp: $ts" -H "X-TokenAuth-Nonce: $nonce" -H "X-TokenAuth-Signature: $sig" \
	--data "$body" "$U/signed")
[ "$code" = 409 ] && ok || bad "replayed signed request got HTTP $code, wanted 409"
chmod 644 "$W/sign.key"
case_ 2 "world-readable signing key refused" "$(conf s3 "url = $U/signed" "sign_key_file = $W/sign.key")"
chmod 600 "$W/sign.key"

# --- profile introspection -------------------------------------------------------------------
case_ 0 "introspection: active" "$(conf i1 "profile = introspection" "url = $U/introspect-active")"
case_ 1 "introspection: inactive" "$(conf i2 "profile = introspection" "url = $U/introspect-inactive")"
case_ 1 "introspection: sub is another user" "$(conf i3 "profile = introspection" "url = $U/introspect-other")"

# --- profile kudo ----------------------------------------------------------------------------
case_ 0 "kudo: 200 with matching parameters" "$(conf k1 "profile = kudo" "url = $U/kudo-ok")"
case_ 1 "kudo: 403" "$(conf k2 "profile = kudo" "url = $U/kudo-403")"
case_ 1 "kudo: parameters name another user" "$(conf k3 "profile = kudo" "url = $U/kudo-other")"
case_ 1 "kudo: wrong token" "$(conf k4 "profile = kudo" "url = $U/kudo-ok")" "$OTHER"

# --- cache -----------------------------------------------------------------------------------
start cache --cert "$W/good.crt" --key "$W/good.key"
CP=$PORT CPID=$(cat "$W/srv.pid")
cf=$(conf cache1 "url = https://127.0.0.1:$CP/ok" "cache_ttl = 3")
case_ 0 "cache: first check goes to the endpoint" "$cf"
ls "$W/db/remote-cache.db" >/dev/null 2>&1 && ok || bad "no cache file beside the store"
[ "$(stat -c %a "$W/db/remote-cache.db")" = 600 ] && ok || bad "cache file not 0600"
grep -aqF "$TOKEN" "$W/db/remote-cache.db"* && bad "token stored in the cache" || ok
kill "$CPID"; wait "$CPID" 2>/dev/null
case_ 0 "cache: hit with the endpoint stopped" "$cf"
case_ 3 "cache: no hit for another user" "$cf" "$TOKEN" bob
case_ 3 "cache: no hit for another tenant" "$cf" "$TOKEN" alice other
case_ 3 "cache: no hit for another token" "$cf" "$OTHER"
sleep 3
case_ 3 "cache: entry expired after cache_ttl" "$cf"
# offline_grace: off -> unavailable; on -> served, and the log says so
start cache2 --cert "$W/good.crt" --key "$W/good.key"
CP=$PORT CPID=$(cat "$W/srv.pid")
cfg_g=$(conf g1 "url = https://127.0.0.1:$CP/ok" "cache_ttl = 1" "offline_grace = 60")
cfg_n=$(conf g2 "url = https://127.0.0.1:$CP/ok" "cache_ttl = 1")
case_ 0 "grace: success recorded" "$cfg_g"
kill "$CPID"; wait "$CPID" 2>/dev/null
sleep 1.2
case_ 3 "grace off: fails closed" "$cfg_n"
case_ 0 "grace on: cached success serves during the outage" "$cfg_g"
err_has "served from cache (offline_grace)" "grace logged"
# an entry never outlives the token's expiry reported by the endpoint
cf=$(conf e1 "url = $U/expiring" "cache_ttl = 60" "offline_grace = 60")
case_ 0 "expiring token: success" "$cf" "$TOKEN" erin
sleep 3.2
cf2=$(conf e2 "url = https://127.0.0.1:$CLOSED/expiring" "cache_ttl = 60" "offline_grace = 60")
# same service/tenant/user/token key, but the endpoint is gone and the token expired
case_ 3 "cache entry does not outlive the token" "$cf2" "$TOKEN" erin
# OTP-looking credentials are never cached (a cached code could be replayed)
cf=$(conf o1 "url = $U/ok" "cache_ttl = 60")
echo 123456 | expect 1 "OTP code to remote: rejected" -- "$TA" -c "$cf" verify --user alice --tenant acme

# --- the same verdicts through pam_tokenauth.so (libpam + pam_wrapper) ---------------------
if [ -f "$B/pam_tokenauth.so" ] && command -v pamtester >/dev/null; then
	mkdir -p "$W/pam.d"
	printf 'auth required pam_deny.so\n' >"$W/pam.d/other"
	# pam CODE-TEXT DESC CONF [TOKEN]: pamtester's message names the PAM code
	pam() {
		want=$1 desc=$2 cf=$3 tok=${4:-$TOKEN}
		printf 'auth required %s/pam_tokenauth.so config=%s tenant=acme\n' "$B" "$cf" >"$W/pam.d/r"
		printf '%s\n' "$tok" | LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 \
			PAM_WRAPPER_SERVICE_DIR="$W/pam.d" pamtester r alice authenticate >"$W/out" 2>&1
		if grep -q "$want" "$W/out"; then ok; else bad "PAM $desc: wanted '$want'"; sed 's/^/    /' "$W/out" >&2; fi
		if grep -qF "$tok" "$W/out"; then bad "PAM $desc: credential in the output"; else ok; fi
	}
	S="successfully authenticated" F="Authentication failure"
	NA="cannot retrieve authentication info" SE="Error in service module"
	pam "$S" "success -> PAM_SUCCESS" "$W/c1.conf"
	pam "$F" "retCode != 0 -> PAM_AUTH_ERR" "$W/c3.conf"
	pam "$F" "introspection inactive -> PAM_AUTH_ERR" "$W/i2.conf"
	pam "$F" "kudo 403 -> PAM_AUTH_ERR" "$W/k2.conf"
	pam "$NA" "HTTP 500 -> PAM_AUTHINFO_UNAVAIL" "$W/c4.conf"
	pam "$NA" "invalid JSON -> PAM_AUTHINFO_UNAVAIL" "$W/c5.conf"
	pam "$NA" "10 MB body -> PAM_AUTHINFO_UNAVAIL" "$W/c7.conf"
	pam "$NA" "wrong host certificate -> PAM_AUTHINFO_UNAVAIL" "$W/c10.conf"
	pam "$NA" "TLS 1.1 -> PAM_AUTHINFO_UNAVAIL" "$W/c12.conf"
	pam "$NA" "all endpoints down -> PAM_AUTHINFO_UNAVAIL" "$W/c18.conf"
	pam "$S" "failover -> PAM_SUCCESS" "$W/c9.conf"
	pam "$SE" "http to a remote host -> PAM_SERVICE_ERR" "$W/c19.conf"
	t0=$(date +%s%N)
	pam "$NA" "silent endpoint -> PAM_AUTHINFO_UNAVAIL" "$W/c21.conf"
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	echo "PAM login against a silent endpoint: ${ms} ms (timeout_ms = 1000; includes pam_fail_delay 2 s)"
	[ "$ms" -lt 4500 ] && ok || bad "PAM login against a silent endpoint took ${ms} ms"
	# the cache key includes the service: prime it through PAM itself
	start cache3 --cert "$W/good.crt" --key "$W/good.key"
	CP=$PORT CPID=$(cat "$W/srv.pid")
	cfg_g=$(conf pg1 "url = https://127.0.0.1:$CP/ok" "cache_ttl = 1" "offline_grace = 60")
	cfg_n=$(conf pg2 "url = https://127.0.0.1:$CP/ok" "cache_ttl = 1")
	pam "$S" "grace: success through PAM" "$cfg_g"
	kill "$CPID"; wait "$CPID" 2>/dev/null
	sleep 1.2
	pam "$NA" "grace off, endpoint down -> PAM_AUTHINFO_UNAVAIL" "$cfg_n"
	pam "$S" "grace on, endpoint down -> PAM_SUCCESS" "$cfg_g"
else
	echo "SKIP: PAM mapping (build/pam_tokenauth.so or pamtester missing)"
fi

# --- the same verdicts through the SASL plugin (sasl-sample-server, OAUTHBEARER) -------------
if [ -f "$B/libtokenauth.so" ] && command -v sasl-sample-server >/dev/null; then
	mkdir -p "$W/plug" "$W/saslconf"
	cp "$B/libtokenauth.so" "$W/plug/"
	# sasl WANT DESC CONF: the initial response, then %x01 for the error round
	sasl() {
		want=$1 desc=$2 cf=$3
		printf 'tokenauth_config: %s\n' "$cf" >"$W/saslconf/sample.conf"
		{
			printf 'C: %s\n' "$(printf 'OAUTHBEARER\000n,a=alice,\001auth=Bearer %s\001\001' "$TOKEN" | base64 -w0)"
			printf 'C: AQ==\n'
		} | SASL_CONF_PATH="$W/saslconf" timeout 20 sasl-sample-server -p "$W/plug" -s smtp \
			-m OAUTHBEARER >"$W/out" 2>&1
		if grep -qi "$want" "$W/out"; then ok; else bad "SASL $desc: wanted '$want'"; tail -3 "$W/out" | sed 's/^/    /' >&2; fi
		# sasl-sample-server itself echoes what it got ("got '...'"); the plugin's lines must not
		if grep -v "^got '" "$W/out" | grep -qF "$TOKEN"; then bad "SASL $desc: credential logged"; else ok; fi
	}
	sasl "^Username: alice" "success -> SASL_OK" "$(conf sa1 "url = $U/ok" "tenant = acme")"
	sasl "authentication failure" "retCode != 0 -> SASL_BADAUTH" "$(conf sa2 "url = $U/retcode1" "tenant = acme")"
	sasl "authentication failure" "kudo 403 -> SASL_BADAUTH" "$(conf sa3 "profile = kudo" "url = $U/kudo-403" "tenant = acme")"
	sasl "authentication server unavailable" "HTTP 500 -> SASL_UNAVAIL" "$(conf sa4 "url = $U/500" "tenant = acme")"
	sasl "authentication server unavailable" "all endpoints down -> SASL_UNAVAIL" "$(conf sa5 "url = https://127.0.0.1:$CLOSED/ok" "tenant = acme")"
	sasl "authentication server unavailable" "self-signed certificate -> SASL_UNAVAIL" "$(conf sa6 "url = https://127.0.0.1:$SELF/ok" "tenant = acme")"
	sasl "invalid parameter supplied" "http to a remote host -> SASL_BADPARAM" "$(conf sa7 "url = http://192.0.2.1/ok" "tenant = acme")"
else
	echo "SKIP: SASL mapping (build/libtokenauth.so or sasl-sample-server missing)"
fi

summary remote
