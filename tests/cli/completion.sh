#!/bin/bash
# completion.sh COMPLETION TOKENAUTH - the bash completion of tokenauth:
# COMPREPLY for typed lines, once with bash-completion's helpers
# (_init_completion, _filedir) when installed and once with the script's
# own fallback; then each verb's options against 'tokenauth VERB --help',
# so a new option in cli/tokenauth.c that the completion lacks fails here.
# Last line: "completion: N passed, M failed".
# shellcheck disable=SC1090 # the files named on the command line
set -u
COMPL=$1
TA=$2
pass=0 fail=0
W=$(mktemp -d /tmp/ta-compl-XXXXXX)
trap 'rm -rf "$W"' EXIT
touch "$W/users.oath" "$W/src.db"

# comp WORDS...: COMPREPLY, sorted, on one line; the last word is the one
# being completed ("" for a new word).
comp() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="$*"
	COMP_LINE=${COMP_LINE// = /=} # as typed: "--user=al"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_tokenauth tokenauth "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

# t DESCRIPTION EXPECTED WORDS...
t() {
	local d=$1 want=$2 got
	shift 2
	got=$(comp "$@")
	if [ "$got" = "$want" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL ($mode): $d: got '$got', wanted '$want'" >&2
	fi
}

cases() {
	t "top-level verbs" "add init issue list otp revoke store unlock verify" tokenauth ""
	t "verbs after global options" "add init issue list otp revoke store unlock verify" \
	    tokenauth -c /etc/tokenauth/tokenauth.conf -v ""
	t "verb prefix" "unlock" tokenauth un
	t "global options" "--config --help --store --verbose" tokenauth --
	t "otp actions" "--help enroll import-oath remove" tokenauth otp ""
	t "store actions" "--help copy" tokenauth store ""
	t "issue options" "--help --json --param --tenant --ttl --user" tokenauth issue --
	t "issue option prefix" "--tenant --ttl" tokenauth issue --t
	t "otp enroll options" "--algorithm --digits --help --hotp --issuer --json --no-qr --period --qr --replace --secret-stdin --tenant --totp --user" \
	    tokenauth otp enroll --
	t "otp enroll --algorithm values" "SHA1 SHA256 SHA512" tokenauth otp enroll --user a --algorithm ""
	t "otp enroll --digits values" "6 7 8" tokenauth otp enroll -d ""
	t "an argument is not an option" "" tokenauth issue --tenant ""
	t "store copy options" "--force --help --json" tokenauth store copy --
	t "store copy operands are files" "$W/src.db" tokenauth store copy "$W/sr"
	t "otp import-oath operand is a file" "$W/users.oath" tokenauth otp import-oath "$W/us"
	t "--config takes a file" "$W/src.db" tokenauth --config "$W/sr"
	t "verify options after one" "--service" tokenauth verify --user a --s
	t "--user=VALUE split" "root" tokenauth verify --user = roo
	t "revoke options" "--all-tenants --help --tenant --user" tokenauth revoke --
	t "init has --help only" "--help" tokenauth init --
}

# Every option 'tokenauth VERB --help' names is completed; for the verbs
# with a help of their own, nothing else is (otp's help is shared).
drift() {
	local v want got o
	for v in init issue add revoke list verify unlock "otp enroll" "otp remove" \
	    "otp import-oath" "store copy"; do
		# shellcheck disable=SC2086
		want=$("$TA" $v --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u)
		_tokenauth_spec "$v"
		# shellcheck disable=SC2086,SC2154 # opts: words set by _tokenauth_spec
		got=$(printf '%s\n' $opts | grep -vx -- --help | sort -u)
		case $v in
		otp\ *)
			for o in $got; do
				printf '%s\n' "$want" | grep -qx -- "$o" ||
				    { fail=$((fail + 1)); echo "FAIL: $v: completes $o, not in its help" >&2; continue 2; }
			done ;;
		*)
			[ "$got" = "$want" ] ||
			    { fail=$((fail + 1)); echo "FAIL: $v: completes '$got', help names '$want'" >&2; continue; } ;;
		esac
		pass=$((pass + 1))
	done
}

BC=/usr/share/bash-completion/bash_completion
if [ -r "$BC" ]; then
	mode=bash-completion
	(
		. "$BC"
		. "$COMPL"
		cases
		drift
		echo "$pass $fail" >"$W/bc"
	)
	read -r pass fail <"$W/bc"
else
	echo "completion: bash-completion not installed; fallback only"
fi
mode=fallback
unset -f _init_completion _filedir 2>/dev/null
. "$COMPL"
cases
echo "completion: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
