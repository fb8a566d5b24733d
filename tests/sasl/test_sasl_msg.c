/* test_sasl_msg.c - OAUTHBEARER / XOAUTH2 message grammar, table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sasl_msg.h"

#define TOK           "tka_abcDEF0123456789"
#define M(s)          s, sizeof(s) - 1
#define SET(dst, src) snprintf((dst), sizeof(dst), "%s", (src))

struct vec {
	ta_sasl_mech mech;
	const char *in;
	size_t len;
	int want;            /* TA_OK, TA_ERR_INPUT, TA_ERR_UNSUPPORTED */
	const char *authzid; /* expected fields when want == TA_OK */
	const char *user;
	const char *tenant; /* NULL: no tenant key */
};

#define OB TA_SASL_OAUTHBEARER
#define XO TA_SASL_XOAUTH2

static const struct vec vecs[] = {
    /* RFC 7628 §4.1 example shape */
    {OB,
     M("n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
       "auth=Bearer " TOK "\x01\x01"),
     TA_OK, "user@example.com", "", NULL},
    {OB,
     M("n,,\x01user=alice\x01"
       "auth=Bearer " TOK "\x01\x01"),
     TA_OK, "", "alice", NULL},
    {OB,
     M("y,a=alice,\x01tenant=acme\x01"
       "auth=Bearer " TOK "\x01\x01"),
     TA_OK, "alice", "", "acme"},
    {OB,
     M("F,n,a=a=3Db=2Cc,\x01tenant=\x01"
       "auth=BEARER   " TOK "==\x01\x01"),
     TA_OK, "a=b,c", "", ""},
    {OB,
     M("n,a=alice,\x01unknown=what\tever\r\n\x01"
       "auth=Bearer " TOK "\x01\x01"),
     TA_OK, "alice", "", NULL},
    {OB,
     M("n,a=j\xc3\xbcrgen,\x01"
       "auth=Bearer " TOK "\x01\x01"),
     TA_OK, "j\xc3\xbcrgen", "", NULL},
    /* unknown keys of any length are ignored */
    {OB,
     M("n,a=alice,\x01"
       "averyveryveryveryveryveryveryveryveryveryveryveryveryveryveryverylongkey=1\x01"
       "auth=Bearer " TOK "\x01\x01"),
     TA_OK, "alice", "", NULL},
    /* a C1 control (CSI) in a name is refused */
    {OB,
     M("n,a=al\xc2\x9b"
       "ice,\x01"
       "auth=Bearer " TOK "\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    /* channel binding */
    {OB,
     M("p=tls-unique,a=alice,\x01"
       "auth=Bearer " TOK "\x01\x01"),
     TA_ERR_UNSUPPORTED, 0, 0, 0},
    {OB,
     M("p,a=alice,\x01"
       "auth=Bearer " TOK "\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    /* GS2 header */
    {OB,
     M("a=alice,\x01"
       "auth=Bearer " TOK "\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=alice\x01"
       "auth=Bearer " TOK "\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=,\x01"
       "auth=Bearer " TOK "\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=al=2cice,\x01"
       "auth=Bearer " TOK "\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=al=,\x01"
       "auth=Bearer " TOK "\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=al\x00ice,\x01"
       "auth=Bearer " TOK "\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=\xc3(,\x01"
       "auth=Bearer " TOK "\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,b=alice,\x01"
       "auth=Bearer " TOK "\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    /* key/value pairs */
    {OB,
     M("n,a=alice,\x01"
       "auth=Bearer " TOK "\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=alice,\x01"
       "auth=Bearer " TOK "\x01\x01x"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=alice,\x01"
       "\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=alice,\x01"
       "host=x\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=alice,\x01"
       "auth=Bearer a\x01"
       "auth=Bearer b\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=alice,\x01"
       "tenant=a\x01tenant=b\x01"
       "auth=Bearer a\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=alice,\x01"
       "ke1=v\x01"
       "auth=Bearer a\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=alice,\x01"
       "=v\x01"
       "auth=Bearer a\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=alice,\x01"
       "key\x01"
       "auth=Bearer a\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=alice,\x01"
       "k=\x02\x01"
       "auth=Bearer a\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=alice,\x01"
       "port=0\x01"
       "auth=Bearer a\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=alice,\x01"
       "port=65536\x01"
       "auth=Bearer a\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=alice,\x01"
       "user=ali\tce\x01"
       "auth=Bearer a\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    /* auth value (RFC 6750 b64token) */
    {OB,
     M("n,a=alice,\x01"
       "auth=Basic " TOK "\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=alice,\x01"
       "auth=Bearer\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=alice,\x01"
       "auth=Bearer \x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=alice,\x01"
       "auth=Bearer==\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=alice,\x01"
       "auth=Bearer =\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=alice,\x01"
       "auth=Bearer a=b\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=alice,\x01"
       "auth=Bearer a b\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=alice,\x01"
       "auth=Bearer a,b\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB,
     M("n,a=alice,\x01"
       "auth=Bearer a\x00\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {OB, M(""), TA_ERR_INPUT, 0, 0, 0},
    {OB, M("\x01"), TA_ERR_INPUT, 0, 0, 0},
    /* XOAUTH2 */
    {XO,
     M("user=alice\x01"
       "auth=Bearer " TOK "\x01\x01"),
     TA_OK, "", "alice", NULL},
    {XO,
     M("user=alice@acme\x01tenant=acme\x01"
       "auth=Bearer " TOK "\x01\x01"),
     TA_OK, "", "alice@acme", "acme"},
    {XO, M("auth=Bearer " TOK "\x01user=alice\x01\x01"), TA_OK, "", "alice", NULL},
    {XO, M("auth=Bearer " TOK "\x01\x01"), TA_ERR_INPUT, 0, 0, 0},
    {XO,
     M("user=\x01"
       "auth=Bearer " TOK "\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {XO,
     M("user=alice\x01"
       "auth=Bearer " TOK "\x01"),
     TA_ERR_INPUT, 0, 0, 0},
    {XO,
     M("n,a=alice,\x01"
       "auth=Bearer " TOK "\x01\x01"),
     TA_ERR_INPUT, 0, 0, 0},
};

static void test_vectors(void **state)
{
	struct ta_sasl_msg m;

	(void)state;
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		const struct vec *v = &vecs[i];
		int r = ta_sasl_parse(v->mech, v->in, v->len, &m);

		if (r != v->want)
			fail_msg("vector %zu: got %d, want %d", i, r, v->want);
		if (r != TA_OK) {
			assert_int_equal(m.token_len, 0); /* wiped */
			continue;
		}
		assert_string_equal(m.authzid, v->authzid);
		assert_string_equal(m.user, v->user);
		assert_int_equal(m.has_tenant, v->tenant != NULL);
		if (v->tenant)
			assert_string_equal(m.tenant, v->tenant);
		assert_true(m.token_len >= strlen(TOK));
		assert_memory_equal(m.token, TOK, strlen(TOK));
	}
}

/* The length given wins: bytes after it are never read. */
static void test_length_not_nul(void **state)
{
	const char in[] = "user=alice\x01"
	                  "auth=Bearer " TOK "\x01\x01GARBAGE";
	struct ta_sasl_msg m;

	(void)state;
	assert_int_equal(ta_sasl_parse(XO, in, sizeof(in) - 1 - 7, &m), TA_OK);
	assert_int_equal(ta_sasl_parse(XO, in, sizeof(in) - 1, &m), TA_ERR_INPUT);
	assert_int_equal(ta_sasl_parse(XO, in, sizeof(in) - 1 - 8, &m), TA_ERR_INPUT);
}

static void test_caps(void **state)
{
	static char big[TA_SASL_MAX_MSG + 64];
	struct ta_sasl_msg m;
	size_t n;

	(void)state;
	/* A token one byte over TA_MAX_CREDENTIAL. */
	n = (size_t)snprintf(big, sizeof(big),
	                     "user=alice\x01"
	                     "auth=Bearer ");
	memset(big + n, 'a', TA_MAX_CREDENTIAL + 1);
	n += TA_MAX_CREDENTIAL + 1;
	memcpy(big + n, "\x01\x01", 2);
	assert_int_equal(ta_sasl_parse(XO, big, n + 2, &m), TA_ERR_INPUT);
	/* The same with a token exactly at the cap. */
	memcpy(big + n - 1, "\x01\x01", 2);
	assert_int_equal(ta_sasl_parse(XO, big, n + 1, &m), TA_OK);
	assert_int_equal(m.token_len, TA_MAX_CREDENTIAL);
	/* A JWT (three base64url segments) may be up to TA_MAX_JWT, not one byte more. */
	n = (size_t)snprintf(big, sizeof(big), "user=alice\x01" "auth=Bearer ");
	memset(big + n, 'a', TA_MAX_JWT + 1);
	big[n + 10] = '.';
	big[n + 20] = '.';
	n += TA_MAX_JWT + 1;
	memcpy(big + n, "\x01\x01", 2);
	assert_int_equal(ta_sasl_parse(XO, big, n + 2, &m), TA_ERR_INPUT);
	memcpy(big + n - 1, "\x01\x01", 2);
	assert_int_equal(ta_sasl_parse(XO, big, n + 1, &m), TA_OK);
	assert_int_equal(m.token_len, TA_MAX_JWT);
	/* A message over TA_SASL_MAX_MSG, however it ends. */
	memset(big, 'a', sizeof(big));
	assert_int_equal(ta_sasl_parse(OB, big, TA_SASL_MAX_MSG + 1, &m), TA_ERR_INPUT);
}

static void test_ack(void **state)
{
	(void)state;
	assert_true(ta_sasl_is_ack(OB, "\x01", 1));
	assert_false(ta_sasl_is_ack(OB, "", 0));
	assert_false(ta_sasl_is_ack(OB, "\x01\x01", 2));
	assert_false(ta_sasl_is_ack(OB, "x", 1));
	assert_true(ta_sasl_is_ack(XO, "", 0));
	assert_true(ta_sasl_is_ack(XO, "\x01", 1));
	assert_true(ta_sasl_is_ack(XO, "QUIT", 4));
}

static void test_build_round_trip(void **state)
{
	struct ta_sasl_msg m, back;
	char out[TA_SASL_MAX_MSG];
	size_t n;

	(void)state;
	memset(&m, 0, sizeof(m));
	SET(m.authzid, "a,b=c");
	SET(m.user, "alice");
	SET(m.tenant, "acme");
	m.has_tenant = 1;
	SET(m.host, "mx.example");
	m.port = 587;
	SET(m.token, TOK);
	m.token_len = strlen(TOK);
	assert_int_equal(ta_sasl_build(OB, &m, out, sizeof(out), &n), TA_OK);
	assert_memory_equal(
	    out, "n,a=a=2Cb=3Dc,\x01host=mx.example\x01port=587\x01user=alice\x01tenant=acme\x01",
	    sizeof(
	        "n,a=a=2Cb=3Dc,\x01host=mx.example\x01port=587\x01user=alice\x01tenant=acme\x01") -
	        1);
	assert_int_equal(ta_sasl_parse(OB, out, n, &back), TA_OK);
	assert_string_equal(back.authzid, "a,b=c");
	assert_string_equal(back.tenant, "acme");
	assert_int_equal(back.port, 587);

	m.authzid[0] = '\0';
	assert_int_equal(ta_sasl_build(XO, &m, out, sizeof(out), &n), TA_OK);
	assert_int_equal(n, strlen("user=alice\x01tenant=acme\x01"
	                           "auth=Bearer " TOK "\x01\x01"));
	assert_memory_equal(out,
	                    "user=alice\x01tenant=acme\x01"
	                    "auth=Bearer " TOK "\x01\x01",
	                    n);

	/* Values the grammar cannot carry, and a token outside b64token. */
	SET(m.user, "ali\x01"
	            "ce");
	assert_int_equal(ta_sasl_build(XO, &m, out, sizeof(out), &n), TA_ERR_INPUT);
	SET(m.user, "alice");
	SET(m.token, "to ken");
	m.token_len = 6;
	assert_int_equal(ta_sasl_build(XO, &m, out, sizeof(out), &n), TA_ERR_INPUT);
	SET(m.token, TOK);
	m.token_len = strlen(TOK);
	assert_int_equal(ta_sasl_build(XO, &m, out, 20, &n), TA_ERR_INPUT); /* does not fit */
}

static void test_error_json(void **state)
{
	char out[TA_SASL_MAX_JSON];
	size_t n;

	(void)state;
	assert_int_equal(ta_sasl_error_json(OB, 0, NULL, out, sizeof(out), &n), TA_OK);
	assert_int_equal(n, strlen("{\"status\":\"invalid_token\"}"));
	assert_memory_equal(out, "{\"status\":\"invalid_token\"}", n);
	assert_int_equal(ta_sasl_error_json(OB, 1, "a b", out, sizeof(out), &n), TA_OK);
	assert_memory_equal(out, "{\"status\":\"temporarily_unavailable\",\"scope\":\"a b\"}", n);
	assert_int_equal(ta_sasl_error_json(XO, 0, "", out, sizeof(out), &n), TA_OK);
	assert_memory_equal(out, "{\"status\":\"401\",\"schemes\":\"bearer\"}", n);
	assert_int_equal(ta_sasl_error_json(OB, 0, "bad\"scope", out, sizeof(out), &n),
	                 TA_ERR_INPUT);
	assert_true(ta_sasl_scope_ok("https://mail.example/ read"));
	assert_false(ta_sasl_scope_ok("two  spaces"));
	assert_false(ta_sasl_scope_ok(" lead"));
	assert_false(ta_sasl_scope_ok("back\\slash"));
	assert_false(ta_sasl_scope_ok(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_length_not_nul),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_ack),
	    cmocka_unit_test(test_build_round_trip),
	    cmocka_unit_test(test_error_json),
	};

	return cmocka_run_group_tests_name("sasl_msg", tests, NULL, NULL);
}
