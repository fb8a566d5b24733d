#!/bin/sh
# e2e_saslauthd.sh BUILD - OTP codes and tokens as passwords for SASL
# servers: PLAIN -> saslauthd -> PAM -> pam_tokenauth.
#
# saslauthd runs in the foreground on a private socket with pam_wrapper
# preloaded, so its PAM service file lives in a temporary folder and
# /etc/pam.d is never touched.  testsaslauthd checks tokens and a TOTP
# code; then sasl-sample-server does PLAIN with pwcheck_method saslauthd.
set -u
B=$(cd "$1" && pwd)
. "$(dirname "$0")/lib.sh"

wrapper=$(ls /usr/lib/*/libpam_wrapper.so 2>/dev/null | head -1)
if ! command -v saslauthd >/dev/null 2>&1 || [ -z "$wrapper" ] || [ ! -f "$B/pam_tokenauth.so" ]; then
	echo "SKIP - saslauthd, pam_wrapper or $B/pam_tokenauth.so missing"
	exit 0
fi
make_store
mkdir -p "$W/pam.d" "$W/mux"
cleanup() {
	[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

cat >"$W/pam.d/tokenauth-sasl" <<EOF
auth    required $B/pam_tokenauth.so config=$W/ta.conf
account required pam_permit.so
EOF
# setsid: on SIGTERM saslauthd signals its whole process group, which
# must be its own and not that of make.
LD_PRELOAD=$wrapper PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$W/pam.d \
    setsid saslauthd -d -a pam -m "$W/mux" -n 0 >"$W/saslauthd.log" 2>&1 &
pid=$!
i=0
while [ ! -S "$W/mux/mux" ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done

check "saslauthd+PAM: alice's token as password: OK" sh -c "testsaslauthd -f '$W/mux/mux' -s tokenauth-sasl -u alice -p '$TOK_ALICE' | grep -q '^0: OK'"
check "saslauthd+PAM: wrong token: NO" sh -c "testsaslauthd -f '$W/mux/mux' -s tokenauth-sasl -u alice -p '${TOK_ALICE}x' | grep -q '^0: NO'"
check "saslauthd+PAM: alice's token for bob: NO" sh -c "testsaslauthd -f '$W/mux/mux' -s tokenauth-sasl -u bob -p '$TOK_ALICE' | grep -q '^0: NO'"

# A TOTP code through the same path (RFC 6238, computed with oathtool).
if command -v oathtool >/dev/null 2>&1; then
	uri=$($TA otp enroll --user otpuser 2>/dev/null)
	secret=$(printf '%s' "$uri" | sed -n 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/p')
	code=$(oathtool --totp -b "$secret" 2>/dev/null)
	check "saslauthd+PAM: a TOTP code as password: OK" \
	    sh -c "[ -n '$code' ] && testsaslauthd -f '$W/mux/mux' -s tokenauth-sasl -u otpuser -p '$code' | grep -q '^0: OK'"
	check "saslauthd+PAM: the same TOTP code again (replay): NO" \
	    sh -c "testsaslauthd -f '$W/mux/mux' -s tokenauth-sasl -u otpuser -p '$code' | grep -q '^0: NO'"
fi

# The whole route: SASL PLAIN in sasl-sample-server, checked by saslauthd.
mkdir -p "$W/plainplug" "$W/plainconf"
cp /usr/lib/*/sasl2/libplain.so* "$W/plainplug/"
cat >"$W/plainconf/sample.conf" <<EOF
pwcheck_method: saslauthd
saslauthd_path: $W/mux/mux
mech_list: PLAIN
EOF
plain() {
	printf 'C: %s\n' "$(printf 'PLAIN\000\000alice\000%s' "$1" | b64)" >"$W/in"
	SASL_CONF_PATH=$W/plainconf timeout 20 sasl-sample-server -p "$W/plainplug" \
	    -s tokenauth-sasl -m PLAIN <"$W/in" >"$W/out" 2>&1
	return 0
}
plain "$TOK_ALICE"
check "PLAIN -> saslauthd -> pam_tokenauth: token accepted, Username: alice" grep -q '^Username: alice$' "$W/out"
plain "${TOK_ALICE}x"
check "PLAIN -> saslauthd -> pam_tokenauth: wrong token refused" grep -q 'authentication failure' "$W/out"
