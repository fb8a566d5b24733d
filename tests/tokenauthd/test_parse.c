/*
 * test_parse.c - tokenauthd's request parsers (tokenauthd/td_parse.c), the
 * route table (tokenauthd/routes.c) and the error answers
 * (tokenauthd/td_api.c), without a context or a store.  Each group puts the
 * inputs that must pass next to the ones that must fail: duplicate keys,
 * wrong types, control bytes, too long names, ttl bounds, reserved
 * /generate parameters, bad percent escapes, unknown form keys,
 * registration path shapes, media types with parameters, route clashes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "td_api.h"
#include "td_parse.h"
#include "tokenauthd.h"

#define S(lit) lit, sizeof(lit) - 1

/* pre, then n copies of c, then post: a malloc'd string. */
static char *body_with(const char *pre, size_t n, char c, const char *post)
{
	size_t pl = strlen(pre), ql = strlen(post);
	char *b = malloc(pl + n + ql + 1);

	assert_non_null(b);
	memcpy(b, pre, pl);
	memset(b + pl, c, n);
	memcpy(b + pl + n, post, ql + 1);
	return b;
}

/* ---- validate ------------------------------------------------------------------- */

static enum td_code validate(const char *body, size_t len, const char **why)
{
	struct td_triple t;
	enum td_code r = td_parse_validate(body, len, &t, why);

	if (r == TD_OK)
		td_triple_clear(&t);
	return r;
}

static void test_validate_good(void **state)
{
	struct td_triple t;
	const char *why = NULL;
	(void)state;
	assert_int_equal(td_parse_validate(S(" {\"userAccount\":\"alice\",\"tenantSpaceId\":"
	                                     "\"acme\",\"access_token\":\"tka_x\"}\n"),
	                                   &t, &why),
	                 TD_OK);
	assert_string_equal(t.user, "alice");
	assert_string_equal(t.tenant, "acme");
	assert_int_equal(t.token_len, 5);
	assert_memory_equal(t.token, "tka_x", 6);
	td_triple_clear(&t);
	assert_null(t.token);
	td_triple_clear(NULL);
	/* an empty tenant is a tenant: the default one */
	assert_int_equal(validate(S("{\"userAccount\":\"a\",\"tenantSpaceId\":\"\","
	                            "\"access_token\":\"x\"}"),
	                          &why),
	                 TD_OK);
}

static void test_validate_bad_json(void **state)
{
	const char *why = NULL;
	(void)state;
	assert_int_equal(validate(S("{\"userAccount\":\"a\",\"userAccount\":\"b\","
	                            "\"tenantSpaceId\":\"t\",\"access_token\":\"x\"}"),
	                          &why),
	                 TD_BAD_JSON);
	assert_string_equal(why, "duplicate member");
	assert_int_equal(validate(S("{\"userAccount\":\"a\\u0000b\",\"tenantSpaceId\":\"t\","
	                            "\"access_token\":\"x\"}"),
	                          &why),
	                 TD_BAD_JSON);
	assert_string_equal(why, "NUL character in a string");
	assert_int_equal(validate("{\"a\":\"\0\"}", 8, &why), TD_BAD_JSON); /* raw NUL byte */
	assert_string_equal(why, "body is not one JSON object");
	assert_int_equal(validate(S("[]"), &why), TD_BAD_JSON);
	assert_int_equal(validate(S("\"str\""), &why), TD_BAD_JSON);
	assert_int_equal(validate(S("{} {}"), &why), TD_BAD_JSON);
	assert_int_equal(validate(S("{\"a\":1} x"), &why), TD_BAD_JSON);
	assert_int_equal(validate(S("{\"a\":1"), &why), TD_BAD_JSON);
	assert_int_equal(validate(S(""), &why), TD_BAD_JSON);
	assert_int_equal(validate(NULL, 0, &why), TD_BAD_JSON);
}

static void test_validate_members_cap(void **state)
{
	char body[TD_MAX_BODY + 2];
	const char *why = NULL;
	size_t n = 0;
	(void)state;
	/* 64 members pass the JSON checks (then fail on the fields), 65 do not */
	for (int m = 64; m <= 65; m++) {
		n = (size_t)snprintf(body, sizeof(body), "{");
		for (int i = 0; i < m; i++)
			n += (size_t)snprintf(body + n, sizeof(body) - n, "%s\"k%d\":1",
			                      i ? "," : "", i);
		n += (size_t)snprintf(body + n, sizeof(body) - n, "}");
		assert_int_equal(validate(body, n, &why), m == 64 ? TD_BAD_INPUT : TD_BAD_JSON);
	}
	/* one byte over the body cap */
	memset(body, ' ', sizeof(body));
	body[0] = '{';
	body[TD_MAX_BODY] = '}';
	assert_int_equal(validate(body, TD_MAX_BODY + 1, &why), TD_BAD_JSON);
}

static void test_validate_bad_fields(void **state)
{
	const char *why = NULL;
	(void)state;
	assert_int_equal(validate(S("{\"userAccount\":7,\"tenantSpaceId\":\"t\","
	                            "\"access_token\":\"x\"}"),
	                          &why),
	                 TD_BAD_INPUT);
	assert_string_equal(why, "userAccount: required string");
	assert_int_equal(validate(S("{\"userAccount\":\"\",\"tenantSpaceId\":\"t\","
	                            "\"access_token\":\"x\"}"),
	                          &why),
	                 TD_BAD_INPUT);
	assert_int_equal(validate(S("{\"userAccount\":\"a\\u0001b\",\"tenantSpaceId\":\"t\","
	                            "\"access_token\":\"x\"}"),
	                          &why),
	                 TD_BAD_INPUT);
	assert_string_equal(why, "userAccount: required string");
	assert_int_equal(validate(S("{\"userAccount\":\"a\",\"access_token\":\"x\"}"), &why),
	                 TD_BAD_INPUT);
	assert_string_equal(why, "tenantSpaceId: required string");
	assert_int_equal(validate(S("{\"userAccount\":\"a\",\"tenantSpaceId\":\"t\\u007f\","
	                            "\"access_token\":\"x\"}"),
	                          &why),
	                 TD_BAD_INPUT);
	assert_int_equal(validate(S("{\"userAccount\":\"a\",\"tenantSpaceId\":null,"
	                            "\"access_token\":\"x\"}"),
	                          &why),
	                 TD_BAD_INPUT);
	assert_int_equal(validate(S("{\"userAccount\":\"a\",\"tenantSpaceId\":\"t\"}"), &why),
	                 TD_BAD_INPUT);
	assert_string_equal(why, "access_token: required string");
	assert_int_equal(validate(S("{\"userAccount\":\"a\",\"tenantSpaceId\":\"t\","
	                            "\"access_token\":\"\"}"),
	                          &why),
	                 TD_BAD_INPUT);
	assert_int_equal(validate(S("{\"userAccount\":\"a\",\"tenantSpaceId\":\"t\","
	                            "\"access_token\":[\"x\"]}"),
	                          &why),
	                 TD_BAD_INPUT);
}

static void test_validate_lengths(void **state)
{
	const char *why = NULL;
	char *b;
	(void)state;
	b = body_with("{\"userAccount\":\"", TA_MAX_USER, 'u',
	              "\",\"tenantSpaceId\":\"t\",\"access_token\":\"x\"}");
	assert_int_equal(validate(b, strlen(b), &why), TD_OK);
	free(b);
	b = body_with("{\"userAccount\":\"", TA_MAX_USER + 1, 'u',
	              "\",\"tenantSpaceId\":\"t\",\"access_token\":\"x\"}");
	assert_int_equal(validate(b, strlen(b), &why), TD_BAD_INPUT);
	free(b);
	b = body_with("{\"userAccount\":\"a\",\"tenantSpaceId\":\"", TA_MAX_TENANT + 1, 't',
	              "\",\"access_token\":\"x\"}");
	assert_int_equal(validate(b, strlen(b), &why), TD_BAD_INPUT);
	free(b);
	b = body_with("{\"userAccount\":\"a\",\"tenantSpaceId\":\"t\",\"access_token\":\"",
	              TA_MAX_JWT, 'x', "\"}");
	assert_int_equal(validate(b, strlen(b), &why), TD_OK);
	free(b);
	b = body_with("{\"userAccount\":\"a\",\"tenantSpaceId\":\"t\",\"access_token\":\"",
	              TA_MAX_JWT + 1, 'x', "\"}");
	assert_int_equal(validate(b, strlen(b), &why), TD_BAD_INPUT);
	free(b);
}

/* ---- generate ------------------------------------------------------------------- */

static enum td_code generate(const char *body, size_t len, const char **why)
{
	struct td_generate g;
	enum td_code r = td_parse_generate(body, len, &g, why);

	if (r == TD_OK)
		td_generate_clear(&g);
	return r;
}

static void test_generate_good(void **state)
{
	struct td_generate g;
	const char *why = NULL;
	(void)state;
	assert_int_equal(td_parse_generate(S("{\"userAccount\":\"bob\"}"), &g, &why), TD_OK);
	assert_string_equal(g.user, "bob");
	assert_int_equal(g.has_tenant, 0);
	assert_int_equal(g.ttl, TD_DEFAULT_TTL);
	assert_null(g.params);
	td_generate_clear(&g);
	assert_int_equal(td_parse_generate(S("{\"userAccount\":\"bob\",\"tenantSpaceId\":\"acme\","
	                                     "\"ttl\":60,\"app\":\"mail\"}"),
	                                   &g, &why),
	                 TD_OK);
	assert_int_equal(g.has_tenant, 1);
	assert_string_equal(g.tenant, "acme");
	assert_int_equal(g.ttl, 60);
	assert_non_null(g.params);
	assert_non_null(strstr(g.params, "\"app\":\"mail\""));
	td_generate_clear(&g);
	assert_null(g.params);
	td_generate_clear(NULL);
}

static void test_generate_ttl(void **state)
{
	const char *why = NULL;
	(void)state;
	assert_int_equal(generate(S("{\"userAccount\":\"b\",\"ttl\":1}"), &why), TD_OK);
	assert_int_equal(generate(S("{\"userAccount\":\"b\",\"ttl\":31622400}"), &why), TD_OK);
	assert_int_equal(generate(S("{\"userAccount\":\"b\",\"ttl\":31622401}"), &why),
	                 TD_BAD_INPUT);
	assert_string_equal(why, "ttl: must be a whole number of seconds, 1 to 31622400");
	assert_int_equal(generate(S("{\"userAccount\":\"b\",\"ttl\":0}"), &why), TD_BAD_INPUT);
	assert_int_equal(generate(S("{\"userAccount\":\"b\",\"ttl\":-5}"), &why), TD_BAD_INPUT);
	assert_int_equal(generate(S("{\"userAccount\":\"b\",\"ttl\":1.5}"), &why), TD_BAD_INPUT);
	assert_int_equal(generate(S("{\"userAccount\":\"b\",\"ttl\":\"60\"}"), &why), TD_BAD_INPUT);
	assert_int_equal(generate(S("{\"userAccount\":\"b\",\"ttl\":1e300}"), &why), TD_BAD_INPUT);
}

static void test_generate_params(void **state)
{
	const char *why = NULL;
	(void)state;
	assert_int_equal(generate(S("{\"userAccount\":\"b\",\"token\":\"x\"}"), &why),
	                 TD_BAD_INPUT);
	assert_string_equal(why, "parameter 'token' is reserved");
	/* reserved names are compared without regard to case */
	assert_int_equal(generate(S("{\"userAccount\":\"b\",\"UserAccount\":\"x\"}"), &why),
	                 TD_BAD_INPUT);
	assert_string_equal(why, "parameter 'userAccount' is reserved");
	assert_int_equal(generate(S("{\"userAccount\":\"b\",\"EXP\":\"1\"}"), &why), TD_BAD_INPUT);
	assert_string_equal(why, "parameter 'exp' is reserved");
	assert_int_equal(generate(S("{\"userAccount\":\"b\",\"expiration_time\":\"1\"}"), &why),
	                 TD_BAD_INPUT);
	assert_string_equal(why,
	                    "parameter 'expiration_time' is reserved (set the lifetime with ttl)");
	assert_int_equal(generate(S("{\"userAccount\":\"b\",\"retcode\":\"1\"}"), &why),
	                 TD_BAD_INPUT);
	assert_int_equal(generate(S("{\"userAccount\":\"b\",\"Token_ID\":\"1\"}"), &why),
	                 TD_BAD_INPUT);
	/* parameter values are strings; names have no '=' and follow the core's rules */
	assert_int_equal(generate(S("{\"userAccount\":\"b\",\"n\":5}"), &why), TD_BAD_INPUT);
	assert_string_equal(
	    why, "parameters: each must be a string with a name of letters, digits, _ . -");
	assert_int_equal(generate(S("{\"userAccount\":\"b\",\"a=b\":\"c\"}"), &why), TD_BAD_INPUT);
	assert_int_equal(generate(S("{\"userAccount\":\"b\",\"a b\":\"c\"}"), &why), TD_BAD_INPUT);
	assert_string_equal(why, "parameters: invalid name or more than 4096 bytes in all");
	assert_int_equal(generate(S("{\"userAccount\":\"b\",\"a.b-c_1\":\"ok\"}"), &why), TD_OK);
	/* the known members: tenantSpaceId must be a string, userAccount is required */
	assert_int_equal(generate(S("{\"userAccount\":\"b\",\"tenantSpaceId\":1}"), &why),
	                 TD_BAD_INPUT);
	assert_string_equal(why, "tenantSpaceId: must be a string");
	assert_int_equal(generate(S("{\"tenantSpaceId\":\"t\"}"), &why), TD_BAD_INPUT);
	assert_string_equal(why, "userAccount: required string");
	assert_int_equal(generate(S("{\"userAccount\":\"b\",\"app\":\"1\",\"app\":\"2\"}"), &why),
	                 TD_BAD_JSON);
}

/* ---- registration ---------------------------------------------------------------- */

#define CT_HEX "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789ABCDEF"
#define REG(extra)                                                                                 \
	"{\"username\":\"carol\",\"tokenSn\":\"SN1\",\"tokenType\":2,\"cenToken\":\"" CT_HEX       \
	"\"" extra "}"

static enum td_code reg(const char *body, size_t len, struct td_register *r, const char **why)
{
	return td_parse_register(body, len, r, why);
}

static void test_register_good(void **state)
{
	struct td_register r;
	const char *why = NULL;
	(void)state;
	assert_int_equal(reg(S(REG("")), &r, &why), TD_OK);
	assert_string_equal(r.user, "carol");
	assert_int_equal(r.has_tenant, 0);
	assert_string_equal(r.token_sn, "SN1");
	assert_string_equal(r.centoken,
	                    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	assert_int_equal(r.p.type, TA_OTP_TOTP);
	assert_int_equal(r.p.alg, TA_HASH_SHA1);
	assert_int_equal(r.p.digits, 6);
	assert_int_equal(r.p.period, 30);
	assert_int_equal(r.secret_len, 0);
	assert_int_equal(reg(S(REG(",\"tenantSpaceId\":\"acme\",\"otpType\":\"HOTP\","
	                           "\"algorithm\":\"SHA256\",\"digits\":\"8\",\"period\":60,"
	                           "\"secret\":\"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\"")),
	                     &r, &why),
	                 TD_OK);
	assert_int_equal(r.has_tenant, 1);
	assert_string_equal(r.tenant, "acme");
	assert_int_equal(r.p.type, TA_OTP_HOTP);
	assert_int_equal(r.p.alg, TA_HASH_SHA256);
	assert_int_equal(r.p.digits, 8);
	assert_int_equal(r.p.period, 60);
	assert_int_equal(r.secret_len, 20);
	assert_memory_equal(r.secret, "12345678901234567890", 20);
	ta_wipe(&r, sizeof(r));
	/* tokenType as a string, as the seed's clients also send it */
	assert_int_equal(reg(S("{\"username\":\"c\",\"tokenSn\":\"S\",\"tokenType\":\"2\","
	                       "\"cenToken\":\"" CT_HEX "\"}"),
	                     &r, &why),
	                 TD_OK);
}

static void test_register_bad(void **state)
{
	struct td_register r;
	const char *why = NULL;
	(void)state;
	assert_int_equal(reg(S("{\"username\":\"c\",\"tokenSn\":\"S\",\"tokenType\":1,"
	                       "\"cenToken\":\"" CT_HEX "\"}"),
	                     &r, &why),
	                 TD_BAD_INPUT);
	assert_string_equal(why, "tokenType: 1 (SMS) is not supported here, only 2 (OTP)");
	assert_int_equal(
	    reg(S("{\"username\":\"c\",\"tokenSn\":\"S\",\"cenToken\":\"" CT_HEX "\"}"), &r, &why),
	    TD_BAD_INPUT);
	assert_string_equal(why, "tokenType: required, 2 (OTP)");
	assert_int_equal(reg(S("{\"username\":\"c\",\"tokenSn\":\"S\",\"tokenType\":2,"
	                       "\"cenToken\":\"0123\"}"),
	                     &r, &why),
	                 TD_BAD_INPUT);
	assert_string_equal(why, "cenToken: required, 64 hex characters");
	assert_int_equal(reg(S("{\"username\":\"c\",\"tokenSn\":\"S\",\"tokenType\":2,"
	                       "\"cenToken\":\""
	                       "g123456789abcdef0123456789abcdef0123456789abcdef"
	                       "0123456789abcdef"
	                       "\"}"),
	                     &r, &why),
	                 TD_BAD_INPUT);
	assert_int_equal(
	    reg(S("{\"tokenSn\":\"S\",\"tokenType\":2,\"cenToken\":\"" CT_HEX "\"}"), &r, &why),
	    TD_BAD_INPUT);
	assert_string_equal(why, "username: required string");
	assert_int_equal(
	    reg(S("{\"username\":\"c\",\"tokenType\":2,\"cenToken\":\"" CT_HEX "\"}"), &r, &why),
	    TD_BAD_INPUT);
	assert_string_equal(why, "tokenSn: required string of 1 to 64 bytes");
	assert_int_equal(reg(S(REG(",\"tenantSpaceId\":[]")), &r, &why), TD_BAD_INPUT);
	assert_string_equal(why, "tenantSpaceId: must be a string");
	assert_int_equal(reg(S(REG(",\"otpType\":\"sotp\"")), &r, &why), TD_BAD_INPUT);
	assert_string_equal(why, "otpType: totp or hotp");
	assert_int_equal(reg(S(REG(",\"algorithm\":\"MD5\"")), &r, &why), TD_BAD_INPUT);
	assert_string_equal(why, "algorithm: SHA1, SHA256 or SHA512");
	assert_int_equal(reg(S(REG(",\"digits\":9")), &r, &why), TD_BAD_INPUT);
	assert_string_equal(why, "digits: 6 to 8; period: 1 to 3600");
	assert_int_equal(reg(S(REG(",\"digits\":6.5")), &r, &why), TD_BAD_INPUT);
	assert_int_equal(reg(S(REG(",\"digits\":\"6x\"")), &r, &why), TD_BAD_INPUT);
	assert_int_equal(reg(S(REG(",\"period\":0")), &r, &why), TD_BAD_INPUT);
	assert_int_equal(reg(S(REG(",\"period\":3601")), &r, &why), TD_BAD_INPUT);
	assert_int_equal(reg(S(REG(",\"period\":3600")), &r, &why), TD_OK);
	assert_int_equal(reg(S(REG(",\"secret\":\"AAAA\"")), &r, &why), TD_BAD_INPUT);
	assert_string_equal(why, "secret: base32, 10 to 64 bytes");
	assert_int_equal(reg(S(REG(",\"secret\":\"!!!!!!!!!!!!!!!!\"")), &r, &why), TD_BAD_INPUT);
	assert_int_equal(reg(S(REG(",\"secret\":5")), &r, &why), TD_BAD_INPUT);
	assert_int_equal(reg(S(REG(",\"username\":\"d\"")), &r, &why), TD_BAD_JSON);
	assert_string_equal(why, "duplicate member");
}

static void test_register_lengths(void **state)
{
	struct td_register r;
	const char *why = NULL;
	char *b;
	(void)state;
	b = body_with("{\"username\":\"c\",\"tokenSn\":\"", TD_MAX_SN, 's',
	              "\",\"tokenType\":2,"
	              "\"cenToken\":\"" CT_HEX "\"}");
	assert_int_equal(reg(b, strlen(b), &r, &why), TD_OK);
	free(b);
	b = body_with("{\"username\":\"c\",\"tokenSn\":\"", TD_MAX_SN + 1, 's',
	              "\",\"tokenType\":2,"
	              "\"cenToken\":\"" CT_HEX "\"}");
	assert_int_equal(reg(b, strlen(b), &r, &why), TD_BAD_INPUT);
	free(b);
	b = body_with("{\"username\":\"", TA_MAX_USER + 1, 'u',
	              "\",\"tokenSn\":\"S\",\"tokenType\":2,"
	              "\"cenToken\":\"" CT_HEX "\"}");
	assert_int_equal(reg(b, strlen(b), &r, &why), TD_BAD_INPUT);
	free(b);
	assert_int_equal(reg(S("{\"username\":\"c\\n\",\"tokenSn\":\"S\",\"tokenType\":2,"
	                       "\"cenToken\":\"" CT_HEX "\"}"),
	                     &r, &why),
	                 TD_BAD_INPUT);
}

/* ---- RFC 7662 form ---------------------------------------------------------------- */

static enum td_code form(const char *body, size_t len, char *out, size_t cap)
{
	const char *why = NULL;
	char *tok = NULL;
	size_t tlen = 0;
	enum td_code r = td_parse_form_token(body, len, &tok, &tlen, &why);

	if (r == TD_OK) {
		assert_non_null(tok);
		assert_true(tlen < cap);
		memcpy(out, tok, tlen + 1);
		ta_wipe(tok, tlen);
		free(tok);
	} else {
		assert_null(tok);
		assert_string_equal(why, "expected a form body token=...[&token_type_hint=...]");
	}
	return r;
}

static void test_form_good(void **state)
{
	char out[TA_MAX_JWT + 1];
	(void)state;
	assert_int_equal(form(S("token=tka_abc"), out, sizeof(out)), TD_OK);
	assert_string_equal(out, "tka_abc");
	assert_int_equal(form(S("token=a%2Bb+c%2f"), out, sizeof(out)), TD_OK);
	assert_string_equal(out, "a+b c/");
	assert_int_equal(form(S("token_type_hint=access_token&token=x"), out, sizeof(out)), TD_OK);
	assert_string_equal(out, "x");
	assert_int_equal(form(S("token=x&token_type_hint="), out, sizeof(out)), TD_OK);
	assert_int_equal(form(S("%74oken=y"), out, sizeof(out)), TD_OK); /* escaped key */
	assert_string_equal(out, "y");
}

static void test_form_bad(void **state)
{
	char out[TA_MAX_JWT + 1], *b;
	(void)state;
	assert_int_equal(form(S("token=x&token=y"), out, sizeof(out)), TD_BAD_INPUT);
	assert_int_equal(form(S("token_type_hint=a&token_type_hint=b&token=x"), out, sizeof(out)),
	                 TD_BAD_INPUT);
	assert_int_equal(form(S("foo=1&token=x"), out, sizeof(out)), TD_BAD_INPUT);
	assert_int_equal(form(S("client_id=c&token=x"), out, sizeof(out)), TD_BAD_INPUT);
	assert_int_equal(form(S("token_type_hint=access_token"), out, sizeof(out)), TD_BAD_INPUT);
	assert_int_equal(form(S("token=x&"), out, sizeof(out)), TD_BAD_INPUT);
	assert_int_equal(form(S("&token=x"), out, sizeof(out)), TD_BAD_INPUT);
	assert_int_equal(form(S("token"), out, sizeof(out)), TD_BAD_INPUT);
	assert_int_equal(form(S("token="), out, sizeof(out)), TD_BAD_INPUT);
	assert_int_equal(form(S("token=%zz"), out, sizeof(out)), TD_BAD_INPUT);
	assert_int_equal(form(S("token=ab%2"), out, sizeof(out)), TD_BAD_INPUT);
	assert_int_equal(form(S("token=ab%"), out, sizeof(out)), TD_BAD_INPUT);
	assert_int_equal(form(S("token=a%00b"), out, sizeof(out)), TD_BAD_INPUT);
	assert_int_equal(form(S("tok%zzen=x"), out, sizeof(out)), TD_BAD_INPUT);
	assert_int_equal(form(S("a_key_longer_than_thirty_one_bytes=x&token=y"), out, sizeof(out)),
	                 TD_BAD_INPUT);
	assert_int_equal(form(S(""), out, sizeof(out)), TD_BAD_INPUT);
	assert_int_equal(form(NULL, 0, out, sizeof(out)), TD_BAD_INPUT);
	b = body_with("token=", TA_MAX_JWT, 'x', "");
	assert_int_equal(form(b, strlen(b), out, sizeof(out)), TD_OK);
	free(b);
	b = body_with("token=", TA_MAX_JWT + 1, 'x', "");
	assert_int_equal(form(b, strlen(b), out, sizeof(out)), TD_BAD_INPUT);
	free(b);
}

/* ---- registration path -------------------------------------------------------------- */

static void test_path_admin(void **state)
{
	char out[TA_MAX_USER + 1], *p;
	(void)state;
	assert_int_equal(td_parse_path_admin(TD_REGISTER_PREFIX "admin", out), TD_OK);
	assert_string_equal(out, "admin");
	assert_int_equal(td_parse_path_admin(TD_REGISTER_PREFIX "ad%40min%2Ex", out), TD_OK);
	assert_string_equal(out, "ad@min.x");
	/* other shapes: no such endpoint */
	assert_int_equal(td_parse_path_admin(TD_REGISTER_PREFIX, out), TD_NOT_FOUND);
	assert_int_equal(td_parse_path_admin(TD_REGISTER_PREFIX "a/b", out), TD_NOT_FOUND);
	assert_int_equal(td_parse_path_admin(TD_REGISTER_PREFIX "a/", out), TD_NOT_FOUND);
	assert_int_equal(td_parse_path_admin("/token/registerActiveTokenX/a", out), TD_NOT_FOUND);
	assert_int_equal(td_parse_path_admin("/token/other/admin", out), TD_NOT_FOUND);
	assert_int_equal(td_parse_path_admin(NULL, out), TD_NOT_FOUND);
	/* a bad name */
	assert_int_equal(td_parse_path_admin(TD_REGISTER_PREFIX "a+b", out), TD_BAD_INPUT);
	assert_int_equal(td_parse_path_admin(TD_REGISTER_PREFIX "a%20b", out), TD_BAD_INPUT);
	assert_int_equal(td_parse_path_admin(TD_REGISTER_PREFIX "a%0Ab", out), TD_BAD_INPUT);
	assert_int_equal(td_parse_path_admin(TD_REGISTER_PREFIX "a%7f", out), TD_BAD_INPUT);
	assert_int_equal(td_parse_path_admin(TD_REGISTER_PREFIX "a%00", out), TD_BAD_INPUT);
	assert_int_equal(td_parse_path_admin(TD_REGISTER_PREFIX "a%zz", out), TD_BAD_INPUT);
	assert_int_equal(td_parse_path_admin(TD_REGISTER_PREFIX "a%4", out), TD_BAD_INPUT);
	p = body_with(TD_REGISTER_PREFIX, TA_MAX_USER, 'a', "");
	assert_int_equal(td_parse_path_admin(p, out), TD_OK);
	free(p);
	p = body_with(TD_REGISTER_PREFIX, TA_MAX_USER + 1, 'a', "");
	assert_int_equal(td_parse_path_admin(p, out), TD_BAD_INPUT);
	free(p);
	p = body_with(TD_REGISTER_PREFIX, 3 * TA_MAX_USER + 1, 'a', "");
	assert_int_equal(td_parse_path_admin(p, out), TD_BAD_INPUT);
	free(p);
}

/* ---- media types ---------------------------------------------------------------- */

static void test_media_is(void **state)
{
	const char *json = "application/json", *form_type = "application/x-www-form-urlencoded";
	(void)state;
	assert_true(td_media_is("application/json", json));
	assert_true(td_media_is("Application/JSON", json));
	assert_true(td_media_is("application/json; charset=utf-8", json));
	assert_true(td_media_is(" \tapplication/json ;charset=UTF-8", json));
	assert_true(td_media_is("application/json;", json));
	assert_true(td_media_is("application/x-www-form-urlencoded; charset=utf-8", form_type));
	assert_false(td_media_is("application/jsonx", json));
	assert_false(td_media_is("application/json x", json));
	assert_false(td_media_is("application/js", json));
	assert_false(td_media_is("text/plain", json));
	assert_false(td_media_is("application/json", form_type));
	assert_false(td_media_is("", json));
	assert_false(td_media_is(NULL, json));
}

/* ---- routes ------------------------------------------------------------------- */

static void test_routes(void **state)
{
	const char *vp = "/rest/v1/validate";
	const struct td_route *rt;
	(void)state;
	assert_non_null(rt = td_route_of(vp, vp));
	assert_int_equal(rt->ep, TD_EP_VALIDATE);
	assert_string_equal(rt->method, "POST");
	assert_non_null(rt = td_route_of(vp, "/generate"));
	assert_int_equal(rt->ep, TD_EP_GENERATE);
	assert_non_null(rt = td_route_of(vp, "/verify"));
	assert_string_equal(rt->method, "GET");
	assert_non_null(rt = td_route_of(vp, TD_REGISTER_PREFIX "x"));
	assert_int_equal(rt->ep, TD_EP_REGISTER);
	assert_string_equal(rt->name, TD_REGISTER_PREFIX "{admin}");
	assert_non_null(rt = td_route_of(vp, "/metrics"));
	assert_int_equal(rt->ep, TD_EP_METRICS);
	assert_null(td_route_of(vp, "/generate/"));
	assert_null(td_route_of(vp, "/rest/v1/validate/x"));
	assert_null(td_route_of(vp, "/"));
	assert_null(td_route_of(NULL, "/nope"));
}

static void test_route_check_validate(void **state)
{
	char err[512];
	(void)state;
	assert_int_equal(td_route_check_validate("/api/validate", err, sizeof(err)), TA_OK);
	assert_int_equal(td_route_check_validate("/generatex", err, sizeof(err)), TA_OK);
	assert_int_equal(td_route_check_validate("/tokens/x", err, sizeof(err)), TA_OK);
	assert_int_equal(td_route_check_validate("/generate", err, sizeof(err)), TA_ERR_CONFIG);
	assert_string_equal(err, "validate_path = /generate: this path is the service's own "
	                         "endpoint POST /generate; choose another path");
	assert_int_equal(td_route_check_validate("/healthz", err, sizeof(err)), TA_ERR_CONFIG);
	assert_non_null(strstr(err, "GET /healthz"));
	assert_int_equal(td_route_check_validate("/introspect", err, sizeof(err)), TA_ERR_CONFIG);
	assert_int_equal(td_route_check_validate("/verify", err, sizeof(err)), TA_ERR_CONFIG);
	assert_int_equal(td_route_check_validate("/metrics", err, sizeof(err)), TA_ERR_CONFIG);
	assert_int_equal(td_route_check_validate("/token/x", err, sizeof(err)), TA_ERR_CONFIG);
	assert_string_equal(err, "validate_path = /token/x: paths under /token/ are reserved for "
	                         "the service's own endpoint PUT " TD_REGISTER_PREFIX
	                         "{admin}; choose another path");
	assert_int_equal(td_route_check_validate(TD_REGISTER_PREFIX "admin", err, sizeof(err)),
	                 TA_ERR_CONFIG);
	assert_int_equal(td_route_check_validate(NULL, err, sizeof(err)), TA_ERR_CONFIG);
	assert_int_equal(td_route_check_validate("api", err, sizeof(err)), TA_ERR_CONFIG);
}

/* ---- answers -------------------------------------------------------------------- */

static void expect_error(enum td_code code, enum td_style style, const char *detail,
                         unsigned status, const char *body)
{
	struct td_answer a;

	memset(&a, 0, sizeof(a));
	assert_int_equal(td_answer_error(&a, code, style, detail), TD_OK);
	assert_int_equal(a.status, status);
	assert_int_equal(a.code, code);
	assert_non_null(a.outcome);
	assert_string_equal(a.body, body);
	td_answer_clear(&a);
	assert_null(a.body);
}

static void test_answers(void **state)
{
	(void)state;
	expect_error(TD_BAD_JSON, TD_STYLE_VALIDATE, "duplicate member", 400,
	             "{\"code\":10001,\"message\":\"body is not a valid JSON object: duplicate "
	             "member\",\"retCode\":10001}");
	expect_error(TD_INVALID, TD_STYLE_VERIFY, NULL, 403,
	             "{\"code\":20001,\"message\":\"Wrong token\",\"error\":\"Wrong token\"}");
	expect_error(TD_NEED_KEY, TD_STYLE_VERIFY, NULL, 401,
	             "{\"code\":11001,\"message\":\"API key required\",\"error\":\"API key "
	             "required\"}");
	expect_error(TD_OTP_EXISTS, TD_STYLE_REGISTER, NULL, 409,
	             "{\"code\":29008,\"message\":\"an OTP token already registered to this "
	             "user\",\"object\":null}");
	expect_error(TD_NOT_FOUND, TD_STYLE_PLAIN, NULL, 404,
	             "{\"code\":10007,\"message\":\"no such endpoint\"}");
	/* an unknown code answers as an internal error but keeps its number */
	expect_error((enum td_code)4242, TD_STYLE_PLAIN, NULL, 500,
	             "{\"code\":4242,\"message\":\"internal error\"}");
	assert_int_equal(td_status(TD_CLIENT_LOCKED), 429);
	assert_int_equal(td_status(TD_STORE_DAMAGED), 503);
	assert_int_equal(td_status(TD_REGISTER_OFF), 403);
}

static void test_code_of(void **state)
{
	(void)state;
	assert_int_equal(td_code_of(TA_OK), TD_OK);
	assert_int_equal(td_code_of(TA_ERR_REJECTED), TD_INVALID);
	assert_int_equal(td_code_of(TA_ERR_TENANT), TD_INVALID);
	assert_int_equal(td_code_of(TA_ERR_NO_CREDENTIAL), TD_INVALID);
	assert_int_equal(td_code_of(TA_ERR_REPLAY), TD_INVALID);
	assert_int_equal(td_code_of(TA_ERR_EXPIRED), TD_EXPIRED);
	assert_int_equal(td_code_of(TA_ERR_REVOKED), TD_REVOKED);
	assert_int_equal(td_code_of(TA_ERR_LOCKED), TD_LOCKED);
	assert_int_equal(td_code_of(TA_ERR_UNAVAILABLE), TD_STORE);
	assert_int_equal(td_code_of(TA_ERR_CORRUPT), TD_STORE_DAMAGED);
	assert_int_equal(td_code_of(TA_ERR_INSECURE), TD_STORE_DAMAGED);
	assert_int_equal(td_code_of(TA_ERR_INPUT), TD_BAD_INPUT);
	assert_int_equal(td_code_of(TA_ERR_EXISTS), TD_OTP_EXISTS);
	assert_int_equal(td_code_of(TA_ERR_NOMEM), TD_INTERNAL);
	assert_int_equal(td_code_of(TA_ERR_CONFIG), TD_INTERNAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_validate_good),
	    cmocka_unit_test(test_validate_bad_json),
	    cmocka_unit_test(test_validate_members_cap),
	    cmocka_unit_test(test_validate_bad_fields),
	    cmocka_unit_test(test_validate_lengths),
	    cmocka_unit_test(test_generate_good),
	    cmocka_unit_test(test_generate_ttl),
	    cmocka_unit_test(test_generate_params),
	    cmocka_unit_test(test_register_good),
	    cmocka_unit_test(test_register_bad),
	    cmocka_unit_test(test_register_lengths),
	    cmocka_unit_test(test_form_good),
	    cmocka_unit_test(test_form_bad),
	    cmocka_unit_test(test_path_admin),
	    cmocka_unit_test(test_media_is),
	    cmocka_unit_test(test_routes),
	    cmocka_unit_test(test_route_check_validate),
	    cmocka_unit_test(test_answers),
	    cmocka_unit_test(test_code_of),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
