/*
 * fuzz_jwt.c - the JWT and JWKS parsers (common/jwt.c).  The first byte
 * picks the parser: even, the input is a compact JWS, parsed, checked
 * against a fixed key set (RSA, Ed25519) and an HS256 key, its claims
 * judged and its introspection answer built; odd, the input is a JWKS.
 */
#include "jwt.h"
#include "ta.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char jwks[] =
    "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"d1\","
    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"},"
    "{\"kty\":\"RSA\",\"kid\":\"r1\",\"alg\":\"RS256\",\"e\":\"AQAB\","
    "\"n\":\"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw\"}]}";

static const uint8_t hs_key[] = "0123456789abcdef0123456789abcdef";

static void fuzz_token(const char *s, size_t n)
{
	struct ta_jwt_rules rules = {"https://idp", "ta", "sub", "tid", "openid", "at+jwt", 60};
	ta_jwt *t = NULL;
	ta_jwks *set = NULL;
	const ta_jwks *sets[1];
	const char *why;
	int64_t exp;
	char *json;

	if (ta_jwt_parse(s, n, &t, &why) != TA_OK)
		return;
	if (ta_jwks_parse(jwks, sizeof(jwks) - 1, &set, &why) == TA_OK) {
		sets[0] = set;
		(void)ta_jwt_verify_sig(t, sets, 1, hs_key, 32, &why);
	}
	(void)ta_jwt_check_claims(t, &rules, "alice", "acme", 1700000000, &exp, &why);
	(void)ta_jwt_check_claims(t, &rules, NULL, NULL, 1700000000, &exp, &why);
	free(json = ta_jwt_introspection(t, "sub"));
	ta_jwks_free(set);
	ta_jwt_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	ta_jwks *set = NULL;
	const char *why;

	if (size < 1 || size > TA_MAX_JWT + 1 || (s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	(void)ta_jws_shape(s, size - 1);
	if (data[0] & 1) {
		if (ta_jwks_parse(s, size - 1, &set, &why) == TA_OK)
			(void)ta_jwks_count(set);
		ta_jwks_free(set);
	} else {
		fuzz_token(s, size - 1);
	}
	free(s);
	return 0;
}
