#!/bin/sh
# Concurrency: 8 processes present the same valid TOTP code at once -> exactly
# one success; 8 processes x 200 users (a wrong then a right HOTP code each,
# so every verification writes) -> no failure, no "database is locked".
# Usage: concurrency.sh path/to/tokenauth path/to/stress
set -u
TA=$1 STRESS=$2
. "$(dirname "$0")/lib.sh"
W=$(mktemp -d /tmp/ta-conc-XXXXXX)
trap 'rm -rf "$W"' EXIT
C="$W/ta.conf"
printf 'store = %s/db/tokenauth.db\nkey_file = %s/master.key\nmax_failures = 100\n' "$W" "$W" >"$C"
chmod 600 "$C"
SECRET=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
"$TA" -c "$C" init 2>/dev/null || { echo "init failed"; exit 1; }
echo "$SECRET" | "$TA" -c "$C" otp enroll --user racer --secret-stdin --no-qr >/dev/null

# --- the same code, 8 at once ---------------------------------------------------------
# Wait for a fresh time step so the code stays valid for the whole run.
while [ $(( $(date +%s) % 30 )) -gt 20 ]; do sleep 1; done
CODE=$(oathtool --totp -b "$SECRET")
GATE="$W/gate1"
for i in 1 2 3 4 5 6 7 8; do
	( "$STRESS" "$C" once racer "$CODE" "$GATE"; echo $? >"$W/once.$i" ) 2>>"$W/once.log" &
done
sleep 0.5
touch "$GATE"
wait
wins=$(cat "$W"/once.* | grep -c '^0$')
echo "same TOTP code from 8 processes at once: $wins success(es)"
[ "$wins" -eq 1 ] && ok || bad "expected exactly one success, got $wins"
grep -qi "locked" "$W/once.log" && bad "database locked in once test" || ok

# --- 8 x 200 distinct users ---------------------------------------------------------------
"$STRESS" "$C" setup u 1600 || { bad "setup"; summary concurrency; exit 1; }
GATE="$W/gate2"
for p in 0 1 2 3 4 5 6 7; do
	( "$STRESS" "$C" many u $((p * 200)) 200 "$GATE" >"$W/many.$p" ) 2>>"$W/many.log" &
done
sleep 0.5
start=$(date +%s.%N)
touch "$GATE"
wait
end=$(date +%s.%N)
failures=$(cat "$W"/many.* | awk '{s += $1} END {print s + 0}')
echo "8 processes x 200 users x 2 verifications: $failures failure(s) in $(echo "$end - $start" | bc 2>/dev/null || echo "?") s"
[ "$failures" -eq 0 ] && ok || bad "$failures unexpected results"
if grep -qi "locked\|busy" "$W/many.log"; then bad "database locked/busy seen"; head -5 "$W/many.log"; else ok; fi
summary concurrency
