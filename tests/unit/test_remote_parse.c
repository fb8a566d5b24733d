/* test_remote_parse.c - request bodies and verdicts of the three profiles (SPEC §5). */
#include "helpers.h"
#include "config_int.h"
#include "remote_parse.h"

static int judge(unsigned long prof, long status, const char *body, int64_t *exp)
{
	const char *why = NULL;
	int r = ta_remote_judge(prof, status, body, strlen(body), "alice", "acme", exp, &why);
	assert_non_null(why);
	return r;
}

static void test_bodies(void **state)
{
	char *b;
	(void)state;
	b = ta_remote_body(TA_PROFILE_CEC, "alice", "acme", "tok\"en", 6);
	assert_string_equal(b, "{\"access_token\":\"tok\\\"en\",\"tenantSpaceId\":\"acme\","
	                       "\"userAccount\":\"alice\"}");
	free(b);
	b = ta_remote_body(TA_PROFILE_INTROSPECTION, "alice", "acme", "a b+c/=", 7);
	assert_string_equal(b, "token=a%20b%2Bc%2F%3D");
	free(b);
	b = ta_remote_body(TA_PROFILE_KUDO, "alice", "acme", "x", 1);
	assert_string_equal(b, "");
	free(b);
}

static void test_cec(void **state)
{
	int64_t e;
	(void)state;
	assert_int_equal(judge(TA_PROFILE_CEC, 200, "{\"retCode\":0,\"message\":\"ok\"}", &e),
	                 TA_OK);
	assert_int_equal(judge(TA_PROFILE_CEC, 200, "{\"retCode\":7}", &e), TA_ERR_REJECTED);
	assert_int_equal(judge(TA_PROFILE_CEC, 200, "{\"retCode\":\"0\"}", &e), TA_ERR_UNAVAILABLE);
	assert_int_equal(judge(TA_PROFILE_CEC, 200, "{\"retCode\":0.5}", &e), TA_ERR_UNAVAILABLE);
	assert_int_equal(judge(TA_PROFILE_CEC, 200, "{\"message\":\"x\"}", &e), TA_ERR_UNAVAILABLE);
	assert_int_equal(judge(TA_PROFILE_CEC, 200, "[0]", &e), TA_ERR_UNAVAILABLE);
	assert_int_equal(judge(TA_PROFILE_CEC, 200, "{\"retCode\":0} trailing", &e),
	                 TA_ERR_UNAVAILABLE);
	assert_int_equal(judge(TA_PROFILE_CEC, 200, "{\"retCode\":1,\"retCode\":0}", &e),
	                 TA_ERR_UNAVAILABLE);
	assert_int_equal(judge(TA_PROFILE_CEC, 500, "{\"retCode\":0}", &e), TA_ERR_UNAVAILABLE);
	assert_int_equal(judge(TA_PROFILE_CEC, 403, "{\"retCode\":0}", &e), TA_ERR_UNAVAILABLE);
	assert_int_equal(
	    judge(TA_PROFILE_CEC, 200, "{\"retCode\":0,\"expiration_time\":1900000000}", &e),
	    TA_OK);
	assert_int_equal(e, 1900000000);
	{
		const char *why;
		assert_int_equal(ta_remote_judge(TA_PROFILE_CEC, 200, "{\"retCode\":0}\0x", 15, "a",
		                                 "b", &e, &why),
		                 TA_ERR_UNAVAILABLE);
	}
}

static void test_introspection(void **state)
{
	int64_t e;
	(void)state;
	/* active, but whose?  No verdict (it let bob's token in as alice) */
	assert_int_equal(judge(TA_PROFILE_INTROSPECTION, 200, "{\"active\":true}", &e),
	                 TA_ERR_UNAVAILABLE);
	assert_int_equal(judge(TA_PROFILE_INTROSPECTION, 200,
	                       "{\"active\":true,\"sub\":5,\"client_id\":\"x\"}", &e),
	                 TA_ERR_UNAVAILABLE);
	assert_int_equal(
	    judge(TA_PROFILE_INTROSPECTION, 200, "{\"active\":true,\"username\":\"alice\"}", &e),
	    TA_OK);
	assert_int_equal(judge(TA_PROFILE_INTROSPECTION, 200,
	                       "{\"active\":true,\"sub\":\"alice\",\"username\":\"bob\"}", &e),
	                 TA_ERR_TENANT);
	assert_int_equal(judge(TA_PROFILE_INTROSPECTION, 200,
	                       "{\"active\":true,\"sub\":\"alice\",\"exp\":5}", &e),
	                 TA_OK);
	assert_int_equal(e, 5);
	assert_int_equal(judge(TA_PROFILE_INTROSPECTION, 200, "{\"active\":false}", &e),
	                 TA_ERR_REJECTED);
	assert_int_equal(
	    judge(TA_PROFILE_INTROSPECTION, 200, "{\"active\":true,\"username\":\"bob\"}", &e),
	    TA_ERR_TENANT);
	assert_int_equal(judge(TA_PROFILE_INTROSPECTION, 200, "{\"active\":\"true\"}", &e),
	                 TA_ERR_UNAVAILABLE);
}

static void test_kudo(void **state)
{
	int64_t e;
	(void)state;
	/* an escaped NUL would cut a name short: alice\u0000@evil is not alice */
	assert_int_equal(judge(TA_PROFILE_KUDO, 200,
	                       "{\"userAccount\":\"alice\\u0000bob\",\"tenantSpaceId\":\"acme\"}", &e),
	                 TA_ERR_UNAVAILABLE);
	assert_int_equal(judge(TA_PROFILE_INTROSPECTION, 200,
	                       "{\"active\":true,\"sub\":\"alice\\u0000@evil\"}", &e),
	                 TA_ERR_UNAVAILABLE);
	assert_int_equal(judge(TA_PROFILE_CEC, 200, "{\"retCode\\u0000x\":0}", &e),
	                 TA_ERR_UNAVAILABLE);
	/* a 200 that names no user is no verdict (a smuggled /healthz answer) */
	assert_int_equal(judge(TA_PROFILE_KUDO, 200, "{\"file\":\"x\"}", &e), TA_ERR_UNAVAILABLE);
	assert_int_equal(judge(TA_PROFILE_KUDO, 200, "{\"status\":\"ok\"}", &e),
	                 TA_ERR_UNAVAILABLE);
	assert_int_equal(judge(TA_PROFILE_KUDO, 200, "{\"userAccount\":\"alice\"}", &e),
	                 TA_ERR_UNAVAILABLE); /* tenant configured but not named */
	assert_int_equal(judge(TA_PROFILE_KUDO, 200, "{\"userAccount\":1,\"tenantSpaceId\":\"acme\"}", &e),
	                 TA_ERR_UNAVAILABLE);
	assert_int_equal(judge(TA_PROFILE_KUDO, 200,
	                       "{\"userAccount\":\"alice\",\"tenantSpaceId\":\"acme\"}", &e),
	                 TA_OK);
	assert_int_equal(judge(TA_PROFILE_KUDO, 200,
	                       "{\"userAccount\":\"bob\",\"tenantSpaceId\":\"acme\"}", &e),
	                 TA_ERR_TENANT);
	assert_int_equal(judge(TA_PROFILE_KUDO, 200,
	                       "{\"userAccount\":\"alice\",\"tenantSpaceId\":\"other\"}", &e),
	                 TA_ERR_TENANT);
	{
		const char *why = NULL;
		assert_int_equal(ta_remote_judge(TA_PROFILE_KUDO, 200, "{\"userAccount\":\"alice\"}",
		                                 23, "alice", "", &e, &why),
		                 TA_OK); /* single-tenant: the user is enough */
	}
	assert_int_equal(judge(TA_PROFILE_KUDO, 403, "{\"error\":\"Wrong token\"}", &e),
	                 TA_ERR_REJECTED);
	assert_int_equal(judge(TA_PROFILE_KUDO, 500, "{}", &e), TA_ERR_UNAVAILABLE);
	/* a rate limit is no outage: never "unavailable", which a stack may skip */
	assert_int_equal(judge(TA_PROFILE_KUDO, 429, "{}", &e), TA_ERR_INTERNAL);
	assert_int_equal(judge(TA_PROFILE_CEC, 429, "{\"retCode\":0}", &e), TA_ERR_INTERNAL);
	assert_int_equal(judge(TA_PROFILE_INTROSPECTION, 429, "{\"active\":true}", &e),
	                 TA_ERR_INTERNAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bodies),
	    cmocka_unit_test(test_cec),
	    cmocka_unit_test(test_introspection),
	    cmocka_unit_test(test_kudo),
	};
	return cmocka_run_group_tests_name("remote_parse", tests, NULL, NULL);
}
