# lib.sh - shared setup of the jwt suites (tests/jwt/run.sh,
# tests/attacks/jwt.sh): keys made by `openssl genpkey`, a test CA, key
# sets and tokens from tests/jwt/mint.py (PyJWT), the JWKS fixture on
# 127.0.0.1 (a port the kernel picks), and conf() for CLI configs.
# Needs B (the build folder, absolute), W (a private temporary folder) and
# JWT_HERE (this folder).
PY=/usr/bin/python3 # Debian's, which has python3-jwt and python3-cryptography
TA=$B/tokenauth
ISS=https://idp.example/realms/acme
FIXPIDS=""
jwt_cleanup() {
	for p in $FIXPIDS; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "${TA_KEEP:-}" ] || rm -rf "$W"
}

mint() { "$PY" "$JWT_HERE/mint.py" token "$@"; }
jwks() { "$PY" "$JWT_HERE/mint.py" jwks "$@"; }

jwt_keys() {
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/rsa.pem" 2>/dev/null
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/rsa2.pem" 2>/dev/null
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/evil.pem" 2>/dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/ec.pem" 2>/dev/null
	openssl genpkey -algorithm ED25519 -out "$W/ed.pem" 2>/dev/null
	jwks r1:-:"$W/rsa.pem" e1:ES256:"$W/ec.pem" d1:EdDSA:"$W/ed.pem" >"$W/jwks.json"
	# the RSA and EC public keys, as PEM: what an HS256 forger would use as the secret
	openssl pkey -in "$W/rsa.pem" -pubout -out "$W/rsa.pub" 2>/dev/null
	openssl pkey -in "$W/ec.pem" -pubout -out "$W/ec.pub" 2>/dev/null
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/ca.key" -out "$W/ca.crt" -days 2 \
		-subj "/CN=tokenauth jwt test CA" 2>/dev/null
	openssl req -new -newkey rsa:2048 -nodes -keyout "$W/srv.key" -subj "/CN=127.0.0.1" \
		-out "$W/srv.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$W/srv.ext"
	openssl x509 -req -in "$W/srv.csr" -CA "$W/ca.crt" -CAkey "$W/ca.key" -CAcreateserial \
		-days 2 -extfile "$W/srv.ext" -out "$W/srv.crt" 2>/dev/null
}

# start_fixture NAME JWKS_FILE [--delay S] -> PORT, FIXPID; fetches logged in $W/NAME.log
start_fixture() {
	name=$1 set=$2
	shift 2
	: >"$W/$name.log"
	"$PY" "$JWT_HERE/jwks_fixture.py" --cert "$W/srv.crt" --key "$W/srv.key" --jwks "$set" \
		--log "$W/$name.log" "$@" >"$W/$name.out" 2>"$W/$name.err" &
	FIXPID=$!
	FIXPIDS="$FIXPIDS $FIXPID"
	PORT=""
	for _ in $(seq 100); do
		PORT=$(sed -n 's/^READY //p' "$W/$name.out" 2>/dev/null)
		[ -n "$PORT" ] && return 0
		sleep 0.05
	done
	echo "jwks fixture did not start: $(cat "$W/$name.err")" >&2
	exit 1
}
fetches() { wc -l <"$W/$1.log" | tr -d ' '; }

# conf NAME key=value... -> $W/NAME.conf: verify=jwt with its own store folder
conf() {
	f="$W/$1.conf"
	d="$W/state-$1"
	shift
	mkdir -p "$d"
	chmod 700 "$d"
	{
		echo "store = $d/tokenauth.db"
		echo "key_file = $W/master.key"
		echo "verify = jwt"
		echo "jwt_issuer = $ISS"
		echo "jwt_audience = tokenauth"
		echo "tenant = acme"
		echo "max_failures = 0"
		echo "ca_file = $W/ca.crt"
		echo "connect_timeout_ms = 1000"
		echo "timeout_ms = 2000"
		for kv in "$@"; do echo "$kv"; done
	} >"$f"
	chmod 600 "$f"
	echo "$f"
}

# case_ WANT DESC CONF TOKEN [USER]: tokenauth verify, and the token never in its output
case_() {
	want=$1 desc=$2 cf=$3 tok=$4 user=${5:-alice}
	echo "$tok" | expect "$want" "$desc" -- "$TA" -c "$cf" verify --user "$user"
	if [ -n "$tok" ] && grep -qF -- "$tok" "$W/err" "$W/out"; then
		bad "$desc: token in the output"
	else ok; fi
}
