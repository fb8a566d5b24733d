# jwt.mk - the suites of the jwt backend (OIDC access tokens).  Included
# from the top-level Makefile after the front-ends' .mk files (it drives
# their programs).  The unit test (tests/unit/test_jwt.c) and the fuzzer
# (tests/fuzz/fuzz_jwt.c) are picked up by check-unit and check-fuzz.
#
#   check-jwt          every entry point: CLI, PAM (pamtester), SASL
#                      (sasl-sample-server, libsasl2 in process), tokenauthd
#   check-attacks-jwt  the attack suite alone (check-attacks runs it too)

CHECK_TARGETS += check-jwt
.PHONY: check-jwt check-attacks-jwt

check-jwt: all $(SASL_LOOP)
	@sh tests/jwt/run.sh $(B)

check-attacks-jwt: all
	@sh tests/attacks/jwt.sh $(B)

# make bench: JWT validations/s (RS256, ES256, warm key cache) beside the
# local token check, in the same run.
BENCH_TARGETS += bench-jwt
.PHONY: bench-jwt

$(B)/bench_jwt: bench/bench_jwt.c $(CORE_LIB)
	$(CC) $(CORE_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) -O2 -o $@ $< $(CORE_LIB) $(LDFLAGS) $(CORE_LIBS)

bench-jwt: $(B)/bench_jwt
	@sh bench/jwt.sh $(B)
