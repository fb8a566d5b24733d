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
