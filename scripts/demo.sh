#!/bin/sh
# make demo: tokenauth end to end on an embedded store in a temporary folder.
# Usage: demo.sh BUILD_DIR
set -eu
B=$(cd "$1" && pwd)
TA="$B/tokenauth"
D=$(mktemp -d /tmp/tokenauth-demo-XXXXXX)
trap 'rm -rf "$D"' EXIT
C="$D/tokenauth.conf"
cat >"$C" <<EOT
store = $D/db/tokenauth.db
key_file = $D/master.key
EOT
chmod 600 "$C"
step() { printf '\n==> %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
ta() { "$TA" -c "$C" "$@"; }

step "Create the store and the master key (in $D)"
run "$TA" -c "$C" init

step "Issue an access token for alice in tenant acme, bound to a parameter"
TOKEN=$(ta issue --user alice --tenant acme --ttl 8h --param app=webdav)
echo "token: $TOKEN   (shown once; only its hash is stored)"

step "Verify it the way a login would (exit 0 = valid)"
echo "$TOKEN" | ta verify --user alice --tenant acme && echo "exit $?"
step "The same token for another tenant, and with a typo (exit 1 = rejected)"
echo "$TOKEN" | ta verify --user alice --tenant other || echo "exit $?"
echo "${TOKEN}x" | ta verify --user alice --tenant acme || echo "exit $?"

step "Enrol a TOTP secret for bob (an authenticator app would scan the QR code)"
SECRET=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
echo "$SECRET" | ta otp enroll --user bob --secret-stdin --issuer Demo --qr
CODE=$(oathtool --totp -b "$SECRET")
step "bob logs in with code $CODE from oathtool; the same code again is a replay"
echo "$CODE" | ta verify --user bob && echo "exit $?"
echo "$CODE" | ta verify --user bob || echo "exit $?"

step "List what is stored (never tokens or secrets)"
run "$TA" -c "$C" list

step "The store holds no token and no OTP secret in plaintext"
if grep -aqF -e "$TOKEN" -e "$SECRET" "$D/db/tokenauth.db"*; then echo "FOUND (bug)"; exit 1; else echo "checked: neither appears in $D/db/"; fi

step "Revoke alice's tokens; the token stops working"
ta revoke --user alice --tenant acme
echo "$TOKEN" | ta verify --user alice --tenant acme || echo "exit $?"

if [ -f "$B/pam_tokenauth.so" ]; then
	sh "$(dirname "$0")/demo-pam.sh" "$B" "$C"
fi
if [ -f "$B/tokenauthd" ]; then
	sh "$(dirname "$0")/demo-service.sh" "$B"
fi
printf '\nDemo finished; the temporary folder is removed.\n'
