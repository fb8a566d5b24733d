# lib.sh - tiny assertion helpers for the shell tests.
# Results go to a file: expect often runs in a pipeline's subshell.
ok() { echo P >>"$W/results"; }
bad() { echo F >>"$W/results"; echo "FAIL: $*" >&2; }

# expect RC DESCRIPTION -- command...   (stdin passes through)
expect() {
	want=$1 desc=$2
	shift 3
	"$@" >"$W/out" 2>"$W/err"
	got=$?
	if [ "$got" -eq "$want" ]; then ok; else
		bad "$desc: exit $got, wanted $want"
		sed 's/^/    stderr: /' "$W/err" >&2
	fi
}

# grep helpers on the last command's output
out_has() { if grep -q -- "$1" "$W/out"; then ok; else bad "stdout lacks '$1' ($2)"; fi; }
err_has() { if grep -q -- "$1" "$W/err"; then ok; else bad "stderr lacks '$1' ($2)"; sed 's/^/    stderr: /' "$W/err" >&2; fi; }
file_lacks() { if grep -aqF -- "$2" "$1"; then bad "$1 contains '$3'"; else ok; fi; }

summary() {
	pass=$(grep -c P "$W/results")
	fail=$(grep -c F "$W/results")
	echo "$1: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
