# lib.sh - shared helpers for the SASL plugin tests (sourced, not run).
#
# Every test prints exactly one line, "ok - WHAT" or "FAILED - WHAT", so
# run.sh can add the counts of all scripts together.

ok() { echo "ok - $*"; }
bad() { echo "FAILED - $*"; }

# check WHAT COMMAND...: one result line from a command's exit status.
check() {
	_what=$1
	shift
	if "$@"; then ok "$_what"; else bad "$_what"; fi
}

# A private work folder and a store with the tokens the tests use:
#   alice, bob (default tenant), alice@acme (tenant acme), carol (none),
#   expiring (1 s), revoked.  Sets W, TA, TOK_ALICE, TOK_BOB, TOK_ACME,
#   TOK_EXPIRED, TOK_REVOKED, and TOK_FOREIGN (unknown to this store).
make_store() {
	W=$(mktemp -d /tmp/ta-sasl-XXXXXX) || exit 1
	chmod 0700 "$W"
	mkdir -p "$W/plug" "$W/conf"
	cp "$B/libtokenauth.so" "$W/plug/"
	printf 'store = %s/db/tokenauth.db\nkey_file = %s/master.key\n' "$W" "$W" >"$W/ta.conf"
	TA="$B/tokenauth -c $W/ta.conf"
	$TA init >/dev/null 2>&1 || { echo "cannot create the test store" >&2; exit 1; }
	TOK_ALICE=$($TA issue --user alice 2>/dev/null)
	TOK_BOB=$($TA issue --user bob 2>/dev/null)
	TOK_ACME=$($TA issue --user alice --tenant acme 2>/dev/null)
	TOK_EXPIRED=$($TA issue --user dave --ttl 1s 2>/dev/null)
	TOK_REVOKED=$($TA issue --user erin --json 2>/dev/null)
	_id=$(printf '%s' "$TOK_REVOKED" | sed -n 's/.*"id" *: *"\([0-9a-f]*\)".*/\1/p')
	TOK_REVOKED=$(printf '%s' "$TOK_REVOKED" | sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p')
	$TA revoke "$_id" >/dev/null 2>&1
	$TA issue --user erin >/dev/null 2>&1 # erin still has a credential
	# A well-formed token this store has never seen, from a second store.
	mkdir -m 0700 "$W/other"
	printf 'store = %s/other/db\nkey_file = %s/other/key\n' "$W" "$W" >"$W/other/ta.conf"
	$B/tokenauth -c "$W/other/ta.conf" init >/dev/null 2>&1
	TOK_FOREIGN=$($B/tokenauth -c "$W/other/ta.conf" issue --user carol 2>/dev/null)
}

b64() { base64 -w0; }
