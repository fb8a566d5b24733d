/*
 * test_jwt.c - the pure part of the jwt backend (common/jwt.c): the JWS
 * shape, strict header/payload/JWKS parsing, signature selection and
 * checking (RS256 through cjose, EdDSA through OpenSSL, HS256 through our
 * HMAC), the claim rules at a pinned clock, and the introspection answer.
 * Keys are made here with OpenSSL; the independent implementation's
 * tokens are tests/jwt and tests/attacks/jwt.sh.
 */
#include "helpers.h"
#include "jwt.h"

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#define NOW 1700000000LL

static EVP_PKEY *ed, *rsa;
static char jwks_text[8192];

static void b64u(const uint8_t *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
		             (i + 2 < n ? in[i + 2] : 0);
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		if (i + 1 < n)
			out[o++] = a[v >> 6 & 63];
		if (i + 2 < n)
			out[o++] = a[v & 63];
	}
	out[o] = '\0';
}

/* Append "." (unless out is empty) and the base64url of n bytes to out. */
static void segment(char *out, const void *in, size_t n)
{
	size_t o = strlen(out);

	if (o > 0)
		out[o++] = '.';
	b64u(in, n, out + o);
}

static void bn_b64u(EVP_PKEY *k, const char *name, char *out)
{
	BIGNUM *bn = NULL;
	uint8_t buf[512];
	int n;

	assert_int_equal(EVP_PKEY_get_bn_param(k, name, &bn), 1);
	n = BN_bn2bin(bn, buf);
	b64u(buf, (size_t)n, out);
	BN_free(bn);
}

static int setup(void **state)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, NULL);
	uint8_t pub[32];
	size_t plen = sizeof(pub);
	char x[64], n[1024], e[16];

	(void)state;
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(c);
	assert_int_equal(EVP_PKEY_keygen_init(c), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(c, 2048), 1);
	assert_int_equal(EVP_PKEY_keygen(c, &rsa), 1);
	EVP_PKEY_CTX_free(c);
	assert_int_equal(EVP_PKEY_get_raw_public_key(ed, pub, &plen), 1);
	b64u(pub, plen, x);
	bn_b64u(rsa, OSSL_PKEY_PARAM_RSA_N, n);
	bn_b64u(rsa, OSSL_PKEY_PARAM_RSA_E, e);
	snprintf(jwks_text, sizeof(jwks_text),
	         "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"d1\",\"x\":\"%s\"},"
	         "{\"kty\":\"RSA\",\"kid\":\"r1\",\"use\":\"sig\",\"n\":\"%s\",\"e\":\"%s\"},"
	         "{\"kty\":\"oct\",\"kid\":\"h1\",\"k\":\"c2VjcmV0\"}]}",
	         x, n, e);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(ed);
	EVP_PKEY_free(rsa);
	return 0;
}

/* "b64(header).b64(payload).b64(signature)" signed by alg with key. */
static char *make(const char *header, const char *payload, const char *alg)
{
	char *out = malloc(16384);
	uint8_t sig[512];
	size_t slen = sizeof(sig);
	EVP_MD_CTX *m = EVP_MD_CTX_new();

	assert_non_null(out);
	out[0] = '\0';
	segment(out, header, strlen(header));
	segment(out, payload, strlen(payload));
	if (strcmp(alg, "EdDSA") == 0) {
		assert_int_equal(EVP_DigestSignInit(m, NULL, NULL, NULL, ed), 1);
		assert_int_equal(EVP_DigestSign(m, sig, &slen, (uint8_t *)out, strlen(out)), 1);
	} else if (strcmp(alg, "RS256") == 0) {
		assert_int_equal(EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, rsa), 1);
		assert_int_equal(EVP_DigestSign(m, sig, &slen, (uint8_t *)out, strlen(out)), 1);
	} else if (strcmp(alg, "HS256") == 0) {
		assert_int_equal(ta_hmac(TA_HASH_SHA256, "0123456789abcdef0123456789abcdef", 32, out,
		                         strlen(out), sig, &slen),
		                 TA_OK);
	} else {
		slen = 0;
	}
	EVP_MD_CTX_free(m);
	segment(out, sig, slen);
	return out;
}

static const char *claims_ok = "{\"iss\":\"https://idp\",\"aud\":\"ta\",\"sub\":\"alice\","
                               "\"tid\":\"acme\",\"exp\":1700000300,\"iat\":1700000000,"
                               "\"scope\":\"openid mail\",\"client_id\":\"c1\"}";

static int verdict(const char *header, const char *payload, const char *alg, const char **why)
{
	char *tok = make(header, payload, alg);
	ta_jwt *t = NULL;
	ta_jwks *set = NULL;
	const ta_jwks *sets[1];
	int r = ta_jwt_parse(tok, strlen(tok), &t, why);

	if (r == TA_OK) {
		assert_int_equal(ta_jwks_parse(jwks_text, strlen(jwks_text), &set, why), TA_OK);
		sets[0] = set;
		r = ta_jwt_verify_sig(t, sets, 1, (const uint8_t *)"0123456789abcdef0123456789abcdef",
		                      32, why);
	}
	ta_jwt_free(t);
	ta_jwks_free(set);
	free(tok);
	return r;
}

static void test_shape(void **state)
{
	(void)state;
	assert_true(ta_jws_shape("a.b.c", 5));
	assert_true(ta_jws_shape("a.b.", 4)); /* alg none: refused later, by name */
	assert_false(ta_jws_shape("a..c", 4));
	assert_false(ta_jws_shape(".b.c", 4));
	assert_false(ta_jws_shape("a.b.c.d", 7));
	assert_false(ta_jws_shape("a.b", 3));
	assert_false(ta_jws_shape("a=.b.c", 6));
	assert_false(ta_jws_shape("a+.b.c", 6));
	assert_false(ta_jws_shape("tka_abc", 7));
}

static void test_good_signatures(void **state)
{
	const char *why = "";
	(void)state;
	assert_int_equal(verdict("{\"alg\":\"EdDSA\",\"kid\":\"d1\"}", claims_ok, "EdDSA", &why),
	                 TA_OK);
	assert_int_equal(verdict("{\"alg\":\"RS256\",\"kid\":\"r1\"}", claims_ok, "RS256", &why),
	                 TA_OK);
	assert_int_equal(verdict("{\"alg\":\"HS256\"}", claims_ok, "HS256", &why), TA_OK);
	/* no kid, one key fits */
	assert_int_equal(verdict("{\"alg\":\"EdDSA\"}", claims_ok, "EdDSA", &why), TA_OK);
}

static void test_refused_headers(void **state)
{
	static const struct {
		const char *header, *alg;
		int want;
		const char *why;
	} v[] = {
	    {"{\"alg\":\"none\"}", "none", TA_ERR_REJECTED, "alg none refused"},
	    {"{\"alg\":\"NoNe\",\"kid\":\"d1\"}", "none", TA_ERR_REJECTED, "alg none refused"},
	    {"{\"alg\":\"EdDSA\",\"kid\":\"d1\",\"crit\":[\"x\"],\"x\":1}", "EdDSA", TA_ERR_REJECTED,
	     "header crit refused"},
	    {"{\"alg\":\"EdDSA\",\"kid\":\"d1\",\"jwk\":{}}", "EdDSA", TA_ERR_REJECTED, NULL},
	    {"{\"alg\":\"EdDSA\",\"kid\":\"d1\",\"jku\":\"https://x\"}", "EdDSA", TA_ERR_REJECTED, NULL},
	    {"{\"alg\":\"EdDSA\",\"kid\":\"d1\",\"x5c\":[]}", "EdDSA", TA_ERR_REJECTED, NULL},
	    {"{\"alg\":\"EdDSA\",\"kid\":\"d1\",\"x5u\":\"https://x\"}", "EdDSA", TA_ERR_REJECTED, NULL},
	    {"{\"alg\":\"EdDSA\",\"alg\":\"EdDSA\",\"kid\":\"d1\"}", "EdDSA", TA_ERR_REJECTED,
	     "header has duplicate keys"},
	    {"{\"alg\":\"EdDSA\",\"kid\":\"\"}", "EdDSA", TA_ERR_REJECTED, NULL},
	    {"{\"alg\":\"EdDSA\",\"kid\":\"a b\"}", "EdDSA", TA_ERR_REJECTED, NULL},
	    {"{\"alg\":\"EdDSA\",\"kid\":7}", "EdDSA", TA_ERR_REJECTED, NULL},
	    {"{\"kid\":\"d1\"}", "EdDSA", TA_ERR_REJECTED, NULL},
	    {"[\"EdDSA\"]", "EdDSA", TA_ERR_REJECTED, "header is not a JSON object"},
	    {"{\"alg\":\"EdDSA\",\"kid\":\"zz\"}", "EdDSA", TA_ERR_NOT_FOUND, "unknown kid"},
	    {"{\"alg\":\"RS256\",\"kid\":\"d1\"}", "EdDSA", TA_ERR_REJECTED,
	     "the kid's key does not fit the alg"},
	    {"{\"alg\":\"HS256\",\"kid\":\"h1\"}", "EdDSA", TA_ERR_REJECTED, "bad signature"},
	    {"{\"alg\":\"ES256\",\"kid\":\"r1\"}", "RS256", TA_ERR_REJECTED, NULL},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char *why = "";
		int r = verdict(v[i].header, claims_ok, v[i].alg, &why);
		if (r != v[i].want || (v[i].why && strcmp(why, v[i].why) != 0))
			fail_msg("case %zu (%s): got %d (%s)", i, v[i].header, r, why);
	}
}

static void test_bad_encodings(void **state)
{
	char *tok = make("{\"alg\":\"EdDSA\",\"kid\":\"d1\"}", claims_ok, "EdDSA");
	const char *why = "";
	ta_jwt *t = NULL;
	size_t n = strlen(tok);
	(void)state;
	/* a non-canonical last character (stray low bits) in the signature */
	tok[n - 1] = tok[n - 1] == 'A' ? 'B' : 'A';
	if (ta_jwt_parse(tok, n, &t, &why) == TA_OK) {
		const ta_jwks *sets[1];
		ta_jwks *set = NULL;
		assert_int_equal(ta_jwks_parse(jwks_text, strlen(jwks_text), &set, &why), TA_OK);
		sets[0] = set;
		assert_int_equal(ta_jwt_verify_sig(t, sets, 1, NULL, 0, &why), TA_ERR_REJECTED);
		ta_jwks_free(set);
		ta_jwt_free(t);
	}
	assert_int_equal(ta_jwt_parse(tok, n - 1, &t, &why), TA_ERR_REJECTED); /* truncated */
	assert_int_equal(ta_jwt_parse("e30.e30.AAAA", 12, &t, &why), TA_ERR_REJECTED); /* no alg */
	/* "{}" + a stray bit: "e31" decodes to the same bytes only non-canonically */
	assert_int_equal(ta_jwt_parse("e31.e30.AAAA", 12, &t, &why), TA_ERR_REJECTED);
	assert_string_equal(why, "header is not base64url");
	free(tok);
}

static const char *claims_verdict(const char *payload, const struct ta_jwt_rules *rules,
                                  const char *user, const char *tenant, int *r)
{
	char *tok = make("{\"alg\":\"EdDSA\",\"kid\":\"d1\",\"typ\":\"at+jwt\"}", payload, "EdDSA");
	const char *why = "ok";
	int64_t exp = 0;
	ta_jwt *t = NULL;

	*r = ta_jwt_parse(tok, strlen(tok), &t, &why);
	if (*r == TA_OK)
		*r = ta_jwt_check_claims(t, rules, user, tenant, NOW, &exp, &why);
	ta_jwt_free(t);
	free(tok);
	return why;
}

static void test_claims(void **state)
{
	struct ta_jwt_rules rules = {"https://idp", "ta", "sub", "tid", NULL, NULL, 60};
	static const struct {
		const char *payload;
		int want;
	} v[] = {
	    {"{\"iss\":\"https://idp\",\"aud\":\"ta\",\"sub\":\"alice\",\"tid\":\"acme\",\"exp\":1700000300}", TA_OK},
	    {"{\"iss\":\"https://idp\",\"aud\":[\"x\",\"ta\"],\"sub\":\"alice\",\"tid\":\"acme\",\"exp\":1700000300}", TA_OK},
	    {"{\"iss\":\"https://idp\",\"aud\":[\"x\",\"y\"],\"sub\":\"alice\",\"tid\":\"acme\",\"exp\":1700000300}", TA_ERR_REJECTED},
	    {"{\"iss\":\"https://idp\",\"aud\":[1],\"sub\":\"alice\",\"tid\":\"acme\",\"exp\":1700000300}", TA_ERR_REJECTED},
	    {"{\"iss\":\"https://idp\",\"sub\":\"alice\",\"tid\":\"acme\",\"exp\":1700000300}", TA_ERR_REJECTED},
	    {"{\"iss\":\"https://idp/\",\"aud\":\"ta\",\"sub\":\"alice\",\"tid\":\"acme\",\"exp\":1700000300}", TA_ERR_REJECTED},
	    {"{\"aud\":\"ta\",\"sub\":\"alice\",\"tid\":\"acme\",\"exp\":1700000300}", TA_ERR_REJECTED},
	    {"{\"iss\":\"https://idp\",\"aud\":\"ta\",\"sub\":\"alice\",\"tid\":\"acme\"}", TA_ERR_REJECTED},
	    {"{\"iss\":\"https://idp\",\"aud\":\"ta\",\"sub\":\"alice\",\"tid\":\"acme\",\"exp\":\"1700000300\"}", TA_ERR_REJECTED},
	    /* leeway 60: exp 59 s ago passes, 60 s ago does not */
	    {"{\"iss\":\"https://idp\",\"aud\":\"ta\",\"sub\":\"alice\",\"tid\":\"acme\",\"exp\":1699999941}", TA_OK},
	    {"{\"iss\":\"https://idp\",\"aud\":\"ta\",\"sub\":\"alice\",\"tid\":\"acme\",\"exp\":1699999940}", TA_ERR_EXPIRED},
	    {"{\"iss\":\"https://idp\",\"aud\":\"ta\",\"sub\":\"alice\",\"tid\":\"acme\",\"exp\":1700000300,\"nbf\":1700000060}", TA_OK},
	    {"{\"iss\":\"https://idp\",\"aud\":\"ta\",\"sub\":\"alice\",\"tid\":\"acme\",\"exp\":1700000300,\"nbf\":1700000061}", TA_ERR_REJECTED},
	    {"{\"iss\":\"https://idp\",\"aud\":\"ta\",\"sub\":\"alice\",\"tid\":\"acme\",\"exp\":1700000300,\"iat\":1700000061}", TA_ERR_REJECTED},
	    {"{\"iss\":\"https://idp\",\"aud\":\"ta\",\"sub\":\"bob\",\"tid\":\"acme\",\"exp\":1700000300}", TA_ERR_TENANT},
	    {"{\"iss\":\"https://idp\",\"aud\":\"ta\",\"tid\":\"acme\",\"exp\":1700000300}", TA_ERR_TENANT},
	    {"{\"iss\":\"https://idp\",\"aud\":\"ta\",\"sub\":\"alice\",\"tid\":\"globex\",\"exp\":1700000300}", TA_ERR_TENANT},
	    {"{\"iss\":\"https://idp\",\"aud\":\"ta\",\"sub\":\"alice\",\"exp\":1700000300}", TA_ERR_TENANT},
	    {"{\"iss\":\"https://idp\",\"aud\":\"ta\",\"sub\":\"alice\",\"sub\":\"bob\",\"tid\":\"acme\",\"exp\":1700000300}", TA_ERR_REJECTED},
	    {"{\"iss\":\"https://idp\",\"aud\":\"ta\",\"sub\":\"alice\",\"tid\":\"acme\",\"exp\":1700000300,\"x\":{\"a\":1,\"a\":2}}", TA_ERR_REJECTED},
	    {"{\"iss\":\"https://idp\",\"aud\":\"ta\",\"sub\":\"alice\\u0000\",\"tid\":\"acme\",\"exp\":1700000300}", TA_ERR_REJECTED},
	    {"{\"iss\":\"https://idp\",\"aud\":\"ta\",\"sub\":\"alice\",\"tid\":\"acme\",\"exp\":1700000300} x", TA_ERR_REJECTED},
	    {"not json", TA_ERR_REJECTED},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int r;
		const char *why = claims_verdict(v[i].payload, &rules, "alice", "acme", &r);
		if (r != v[i].want)
			fail_msg("case %zu: got %d (%s), wanted %d", i, r, why, v[i].want);
	}
}

static void test_scope_and_typ(void **state)
{
	struct ta_jwt_rules rules = {"https://idp", "ta", "sub", NULL, "mail openid", "at+jwt", 0};
	const char *base = "{\"iss\":\"https://idp\",\"aud\":\"ta\",\"sub\":\"alice\",\"exp\":1700000300,";
	char p[512];
	int r;
	(void)state;
	snprintf(p, sizeof(p), "%s\"scope\":\"openid mail x\"}", base);
	claims_verdict(p, &rules, "alice", "", &r);
	assert_int_equal(r, TA_OK);
	snprintf(p, sizeof(p), "%s\"scp\":[\"openid\",\"mail\"]}", base);
	claims_verdict(p, &rules, "alice", "", &r);
	assert_int_equal(r, TA_OK);
	snprintf(p, sizeof(p), "%s\"scope\":\"openid mailx\"}", base);
	claims_verdict(p, &rules, "alice", "", &r);
	assert_int_equal(r, TA_ERR_REJECTED);
	rules.typ = "application/at+JWT";
	snprintf(p, sizeof(p), "%s\"scope\":\"openid mail\"}", base);
	claims_verdict(p, &rules, "alice", "", &r);
	assert_int_equal(r, TA_OK);
	rules.typ = "JWT";
	claims_verdict(p, &rules, "alice", "", &r);
	assert_int_equal(r, TA_ERR_REJECTED);
}

static void test_jwks(void **state)
{
	static const struct {
		const char *text;
		int want;
		size_t keys;
	} v[] = {
	    {"{\"keys\":[]}", TA_ERR_CORRUPT, 0},
	    {"{}", TA_ERR_CORRUPT, 0},
	    {"[]", TA_ERR_CORRUPT, 0},
	    {"{\"keys\":[],\"keys\":[]}", TA_ERR_CORRUPT, 0},
	    {"{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\"}]}", TA_ERR_CORRUPT, 0},
	    {"{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}]}", TA_ERR_CORRUPT, 0},
	    {"{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"X25519\","
	     "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}",
	     TA_ERR_CORRUPT, 0},
	    {"{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"use\":\"enc\","
	     "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}",
	     TA_ERR_CORRUPT, 0},
	    {"{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"d\":\"AAAA\","
	     "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}",
	     TA_ERR_CORRUPT, 0},
	    {"{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"a\","
	     "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"},{\"kty\":\"oct\"}]}",
	     TA_OK, 1},
	    /* 4k+1 base64url characters: cjose 0.6.2 would abort on them */
	    {"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQABA\",\"e\":\"AQAB\"}]}", TA_ERR_CORRUPT, 0},
	    {"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AQABA\",\"y\":\"A\"}]}",
	     TA_ERR_CORRUPT, 0},
	    {"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\",\"kid\":\"x\","
	     "\"alg\":\"RS256\"}]}",
	     TA_OK, 1},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ta_jwks *s = NULL;
		const char *why = "";
		int r = ta_jwks_parse(v[i].text, strlen(v[i].text), &s, &why);
		if (r != v[i].want || ta_jwks_count(s) != v[i].keys)
			fail_msg("case %zu: got %d, %zu keys (%s)", i, r, ta_jwks_count(s), why);
		ta_jwks_free(s);
	}
	{
		ta_jwks *s = NULL;
		const char *why = "";
		assert_int_equal(ta_jwks_parse(jwks_text, strlen(jwks_text), &s, &why), TA_OK);
		assert_int_equal(ta_jwks_count(s), 2); /* the oct key is never held */
		ta_jwks_free(s);
	}
}

static void test_algorithm_list(void **state)
{
	ta_config *cfg = ta_config_new();
	char err[256];
	(void)state;
	assert_true(ta_jwt_alg_allowed("RS256,PS256,ES256,EdDSA", "EdDSA"));
	assert_false(ta_jwt_alg_allowed("RS256,PS256", "PS25"));
	assert_false(ta_jwt_alg_allowed("RS256,PS256", "RS256,PS256"));
	assert_string_equal(ta_config_str(cfg, "jwt_algorithms"), "RS256,PS256,ES256,EdDSA");
	assert_int_equal(ta_config_uint(cfg, "jwt_leeway"), 60);
	assert_int_equal(ta_config_uint(cfg, "jwks_refresh"), 3600);
	assert_int_equal(ta_config_uint(cfg, "jwks_min_refresh"), 60);
	assert_int_equal(ta_config_uint(cfg, "jwks_max_age"), 86400);
	assert_string_equal(ta_config_str(cfg, "jwt_user_claim"), "sub");
	assert_int_equal(ta_config_set(cfg, "jwt_algorithms", "none", err, sizeof(err)), TA_ERR_CONFIG);
	assert_non_null(strstr(err, "never none"));
	assert_int_equal(ta_config_set(cfg, "jwt_algorithms", "HS384", err, sizeof(err)), TA_ERR_CONFIG);
	assert_int_equal(ta_config_set(cfg, "jwt_algorithms", "RS256,RS256", err, sizeof(err)),
	                 TA_ERR_CONFIG);
	assert_int_equal(ta_config_set(cfg, "jwt_algorithms", "ES256,HS256", err, sizeof(err)), TA_OK);
	assert_int_equal(ta_config_set(cfg, "jwks_url", "http://idp/jwks", err, sizeof(err)),
	                 TA_ERR_CONFIG);
	assert_int_equal(ta_config_set(cfg, "jwks_url", "https://idp/jwks", err, sizeof(err)), TA_OK);
	assert_int_equal(ta_config_set(cfg, "jwt_leeway", "2h", err, sizeof(err)), TA_ERR_CONFIG);
	assert_int_equal(ta_config_set(cfg, "verify", "jwt,local", err, sizeof(err)), TA_OK);
	ta_config_free(cfg);
}

static void test_introspection(void **state)
{
	char *tok = make("{\"alg\":\"EdDSA\",\"kid\":\"d1\"}", claims_ok, "EdDSA"), *json;
	const char *why = "";
	ta_jwt *t = NULL;
	(void)state;
	assert_int_equal(ta_jwt_parse(tok, strlen(tok), &t, &why), TA_OK);
	json = ta_jwt_introspection(t, "sub");
	assert_non_null(json);
	assert_non_null(strstr(json, "\"active\":true"));
	assert_non_null(strstr(json, "\"username\":\"alice\""));
	assert_non_null(strstr(json, "\"scope\":\"openid mail\""));
	assert_non_null(strstr(json, "\"client_id\":\"c1\""));
	assert_non_null(strstr(json, "\"exp\":1700000300"));
	free(json);
	ta_jwt_free(t);
	free(tok);
}

/* The gate: a long credential only with a jwt backend, and only of JWS shape. */
/* ES256: R || S, exactly 64 bytes; cjose alone would take 65, 66, 84... */
static void test_ecdsa_signature_length(void **state)
{
	static const char ec_set[] =
	    "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"e1\","
	    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
	    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}";
	static const size_t lens[] = {63, 65, 66, 84, 85};
	const char *hdr = "{\"alg\":\"ES256\",\"kid\":\"e1\"}";
	char tok[2048];
	uint8_t sig[128];
	ta_jwks *set = NULL;
	const ta_jwks *sets[1];
	const char *why = "";
	(void)state;
	assert_int_equal(ta_jwks_parse(ec_set, strlen(ec_set), &set, &why), TA_OK);
	sets[0] = set;
	memset(sig, 1, sizeof(sig));
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		ta_jwt *t = NULL;
		tok[0] = '\0';
		segment(tok, hdr, strlen(hdr));
		segment(tok, claims_ok, strlen(claims_ok));
		segment(tok, sig, lens[i]);
		assert_int_equal(ta_jwt_parse(tok, strlen(tok), &t, &why), TA_OK);
		assert_int_equal(ta_jwt_verify_sig(t, sets, 1, NULL, 0, &why), TA_ERR_REJECTED);
		assert_string_equal(why, "signature length wrong for the alg");
		ta_jwt_free(t);
	}
	ta_jwks_free(set);
}

static void test_gate(void **state)
{
	struct env *e = *state ? *state : NULL;
	ta_config *cfg = ta_config_new();
	ta_ctx *ctx = NULL;
	char err[256], *big = malloc(TA_MAX_JWT + 2);
	(void)e;
	memset(big, 'A', TA_MAX_JWT + 1);
	big[10] = '.';
	big[20] = '.';
	assert_int_equal(ta_ctx_new(cfg, NULL, NULL, &ctx), TA_OK);
	assert_false(ta_credential_ok_for(ctx, big, 600)); /* verify = local */
	assert_true(ta_credential_ok_for(ctx, big, 512));
	ta_ctx_free(ctx);
	assert_int_equal(ta_config_set(cfg, "verify", "jwt", err, sizeof(err)), TA_OK);
	assert_int_equal(ta_ctx_new(cfg, NULL, NULL, &ctx), TA_OK);
	assert_true(ta_credential_ok_for(ctx, big, 600));
	assert_true(ta_credential_ok_for(ctx, big, TA_MAX_JWT));
	assert_false(ta_credential_ok_for(ctx, big, TA_MAX_JWT + 1));
	big[20] = 'A';
	assert_false(ta_credential_ok_for(ctx, big, 600)); /* one dot: no JWT */
	ta_ctx_free(ctx);
	ta_config_free(cfg);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shape),
	    cmocka_unit_test(test_good_signatures),
	    cmocka_unit_test(test_refused_headers),
	    cmocka_unit_test(test_bad_encodings),
	    cmocka_unit_test(test_claims),
	    cmocka_unit_test(test_scope_and_typ),
	    cmocka_unit_test(test_jwks),
	    cmocka_unit_test(test_algorithm_list),
	    cmocka_unit_test(test_introspection),
	    cmocka_unit_test(test_ecdsa_signature_length),
	    cmocka_unit_test(test_gate),
	};
	return cmocka_run_group_tests_name("jwt", tests, setup, teardown);
}
