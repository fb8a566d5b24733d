#!/bin/sh
# Part of make demo: PAM logins through the real libpam, with pam_wrapper
# pointing libpam at a private service folder (nothing under /etc is read).
# Usage: demo-pam.sh BUILD_DIR CONFIG
set -eu
B=$1 C=$2
D=$(dirname "$C")
TA="$B/tokenauth"
SVC="$D/pam.d"
mkdir -p "$SVC"
printf 'auth required %s/pam_tokenauth.so config=%s\n' "$B" "$C" >"$SVC/demo"
printf 'auth required pam_deny.so\n' >"$SVC/other"
printf 'auth required %s/pam_tokenauth.so config=%s nullok\nauth required pam_permit.so\n' \
	"$B" "$C" >"$SVC/demo-nullok"
pam() { # service user credential
	printf '%s\n' "$3" | LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$SVC" \
		pamtester "$1" "$2" authenticate 2>&1 | sed 's/^/    /'
}
step() { printf '\n==> %s\n' "$*"; }

step "PAM: service file $SVC/demo"
sed 's/^/    /' "$SVC/demo"
TOKEN=$("$TA" -c "$C" issue --user carol 2>/dev/null)
step "pamtester: carol logs in with her token"
pam demo carol "$TOKEN"
step "pamtester: carol with a wrong token (PAM_AUTH_ERR)"
pam demo carol "tka_wrong" || true
SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
echo "$SECRET" | "$TA" -c "$C" otp enroll --user dora --secret-stdin --no-qr >/dev/null
CODE=$(oathtool --totp -b "$SECRET")
step "pamtester: dora logs in with TOTP code $CODE, then tries it again"
pam demo dora "$CODE"
pam demo dora "$CODE" || true
step "pamtester: a user with no credential at all: PAM_USER_UNKNOWN..."
pam demo nobody "x" || true
step "...and with nullok: PAM_IGNORE without a prompt; the next line (pam_permit) decides"
sed 's/^/    /' "$SVC/demo-nullok"
pam demo-nullok nobody "x"
