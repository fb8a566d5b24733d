/* test_admin.c - parameters, imported tokens, OTP enrolment, pam_oath migration. */
#include "helpers.h"
#include "oath.h"
#include "otp.h"
#include "portal.h"

#include <sys/stat.h>
#include <time.h>

static void test_params(void **state)
{
	char *json = NULL, err[256];
	const char *ok[] = {"file=/a/b", "server=s1", "empty="};
	const char *reserved[] = {"userAccount=x"};
	/* every member tokenauthd's answers carry, in any case (defect 8 via the CLI) */
	const char *shadows[] = {"expiration_time=1", "Expiration_Time=1", "USERACCOUNT=x",
	                         "tenantspaceid=x",   "token=x",           "exp=1", "Sub=x"};
	const char *dup[] = {"a=1", "a=2"};
	const char *bad[] = {"no-equals"};
	const char *badkey[] = {"sp ace=1"};
	(void)state;
	assert_int_equal(ta_token_params(ok, 3, &json, err, sizeof(err)), TA_OK);
	assert_string_equal(json, "{\"file\":\"/a/b\",\"server\":\"s1\",\"empty\":\"\"}");
	free(json);
	assert_int_equal(ta_token_params(ok, 0, &json, err, sizeof(err)), TA_OK);
	assert_null(json);
	assert_int_equal(ta_token_params(reserved, 1, &json, err, sizeof(err)), TA_ERR_INPUT);
	for (size_t i = 0; i < sizeof(shadows) / sizeof(shadows[0]); i++)
		assert_int_equal(ta_token_params(&shadows[i], 1, &json, err, sizeof(err)), TA_ERR_INPUT);
	assert_int_equal(ta_token_params(dup, 2, &json, err, sizeof(err)), TA_ERR_INPUT);
	assert_non_null(strstr(err, "twice"));
	assert_int_equal(ta_token_params(bad, 1, &json, err, sizeof(err)), TA_ERR_INPUT);
	assert_int_equal(ta_token_params(badkey, 1, &json, err, sizeof(err)), TA_ERR_INPUT);
}

static int find_params(void *arg, const struct ta_token_row *row)
{
	char **out = arg;
	if (row->params)
		*out = strdup(row->params);
	return TA_OK;
}

static void test_issue_with_params_and_import(void **state)
{
	struct env *e = env_init();
	char tok[TA_TOKEN_LEN + 1], id[TA_TOKEN_ID_LEN + 1], *params = NULL;
	int64_t exp;
	const char *ext = "CEC-issued-3f9a8b7c6d5e4f30";
	(void)state;
	assert_int_equal(ta_token_issue(e->ctx, "alice", "t", 60, "{\"file\":\"x\"}", tok, id, &exp),
	                 TA_OK);
	assert_int_equal(ta_token_list(e->ctx, "alice", find_params, &params), TA_OK);
	assert_string_equal(params, "{\"file\":\"x\"}");
	free(params);
	/* lookup by token alone (seed 004 /verify) */
	{
		struct ta_token_row row;
		assert_int_equal(ta_token_lookup(e->ctx, tok, strlen(tok), &row), TA_OK);
		assert_string_equal(row.user, "alice");
		assert_string_equal(row.tenant, "t");
		assert_string_equal(row.params, "{\"file\":\"x\"}");
		free(row.params);
		assert_int_equal(ta_token_lookup(e->ctx, "nope-nope-nope-nope", 19, &row),
		                 TA_ERR_REJECTED);
		ta_ctx_set_time(e->ctx, exp);
		assert_int_equal(ta_token_lookup(e->ctx, tok, strlen(tok), &row), TA_ERR_EXPIRED);
		ta_ctx_set_time(e->ctx, 0);
		assert_int_equal(ta_token_revoke(e->ctx, id), TA_OK);
		assert_int_equal(ta_token_lookup(e->ctx, tok, strlen(tok), &row), TA_ERR_REVOKED);
	}
	/* imported tokens */
	assert_int_equal(ta_token_import(e->ctx, "bob", NULL, 0, ext, strlen(ext), NULL, id, &exp),
	                 TA_OK);
	assert_int_equal(check(e, "bob", NULL, ext), TA_OK);
	assert_int_equal(ta_token_import(e->ctx, "bob", NULL, 0, ext, strlen(ext), NULL, id, &exp),
	                 TA_ERR_EXISTS);
	assert_int_equal(ta_token_import(e->ctx, "bob", NULL, 0, "short", 5, NULL, id, &exp),
	                 TA_ERR_INPUT);
	assert_int_equal(
	    ta_token_import(e->ctx, "bob", NULL, 0, "has a space in it!", 18, NULL, id, &exp),
	    TA_ERR_INPUT);
	assert_int_equal(ta_token_import(e->ctx, "bob", NULL, 0, tok, strlen(tok), NULL, id, &exp),
	                 TA_ERR_INPUT);
	assert_int_equal(ta_token_issue(e->ctx, "bad\001user", NULL, 60, NULL, tok, id, &exp),
	                 TA_ERR_INPUT);
	env_free(e);
}

/*
 * The portal's limit on app passwords is counted under the user's lock
 * with the insert: two requests side by side each counted the tokens
 * first and both went in past it.
 */
static void test_issue_limit(void **state)
{
	struct env *e = env_init();
	char tok[TA_TOKEN_LEN + 1], id[TA_TOKEN_ID_LEN + 1];
	unsigned n = 0;
	int64_t exp;
	(void)state;
	for (int i = 0; i < 2; i++)
		assert_int_equal(
		    ta_token_issue_label(e->ctx, "pat", "", 60, NULL, "mail", 2, tok, id, &exp),
		    TA_OK);
	assert_int_equal(
	    ta_token_issue_label(e->ctx, "pat", "", 60, NULL, "mail", 2, tok, id, &exp),
	    TA_ERR_EXISTS);
	assert_int_equal(tok[0], '\0'); /* wiped */
	assert_int_equal(ta_token_count_active(e->ctx, "pat", "", &n), TA_OK);
	assert_int_equal(n, 2);
	/* another tenant, no limit, a revoked token: each counted apart */
	assert_int_equal(
	    ta_token_issue_label(e->ctx, "pat", "t2", 60, NULL, "mail", 2, tok, id, &exp), TA_OK);
	assert_int_equal(
	    ta_token_issue_label(e->ctx, "pat", "", 60, NULL, "mail", 0, tok, id, &exp), TA_OK);
	assert_int_equal(ta_token_revoke(e->ctx, id), TA_OK);
	assert_int_equal(
	    ta_token_issue_label(e->ctx, "pat", "", 60, NULL, "mail", 4, tok, id, &exp), TA_OK);
	assert_int_equal(ta_token_count_active(e->ctx, "pat", "", &n), TA_OK);
	assert_int_equal(n, 3);
	env_free(e);
}

static void test_enroll_generated_and_errors(void **state)
{
	struct env *e = env_init();
	struct ta_otp_params p = {TA_OTP_TOTP, TA_HASH_SHA256, 8, 30};
	uint8_t out[TA_OTP_MAX_SECRET];
	size_t n = 0;
	(void)state;
	assert_int_equal(ta_otp_enroll(e->ctx, "a", NULL, &p, NULL, 0, 0, 0, out, &n), TA_OK);
	assert_int_equal(n, 32);
	assert_int_equal(ta_otp_enroll(e->ctx, "a", NULL, &p, NULL, 0, 0, 0, out, &n),
	                 TA_ERR_EXISTS);
	assert_int_equal(ta_otp_enroll(e->ctx, "a", NULL, &p, NULL, 0, 0, 1, out, &n), TA_OK);
	assert_int_equal(
	    ta_otp_enroll(e->ctx, "b", NULL, &p, (const uint8_t *)"short", 5, 0, 0, out, &n),
	    TA_ERR_INPUT);
	p.digits = 9;
	assert_int_equal(ta_otp_enroll(e->ctx, "b", NULL, &p, NULL, 0, 0, 0, out, &n),
	                 TA_ERR_INPUT);
	p.digits = 6;
	p.period = 0;
	assert_int_equal(ta_otp_enroll(e->ctx, "b", NULL, &p, NULL, 0, 0, 0, out, &n),
	                 TA_ERR_INPUT);
	assert_int_equal(ta_otp_remove(e->ctx, "a", NULL), TA_OK);
	assert_int_equal(ta_otp_remove(e->ctx, "a", NULL), TA_ERR_NOT_FOUND);
	env_free(e);
}

static void test_oath_parse(void **state)
{
	struct ta_oath_entry e;
	char why[256];
	(void)state;
	assert_int_equal(ta_oath_parse_line("HOTP alice - 3132333435363738393031323334353637383930",
	                                    &e, why, sizeof(why)),
	                 TA_OK);
	assert_int_equal(e.p.type, TA_OTP_HOTP);
	assert_int_equal(e.p.digits, 6);
	assert_int_equal(e.secret_len, 20);
	assert_false(e.has_counter);
	assert_int_equal(
	    ta_oath_parse_line(
	        "HOTP/T30/"
	        "8\tbob\t+\t3132333435363738393031323334353637383930\t12\t12345678\t2026-01-02T03:"
	        "04:05L",
	        &e, why, sizeof(why)),
	    TA_OK);
	assert_int_equal(e.p.type, TA_OTP_TOTP);
	assert_int_equal(e.p.period, 30);
	assert_int_equal(e.p.digits, 8);
	assert_true(e.has_counter && e.has_last && e.has_time);
	assert_int_equal(e.counter, 12);
	assert_int_equal(
	    ta_oath_parse_line("HOTP/E/7 c - 3132333435363738393031323334353637383930 5", &e, why,
	                       sizeof(why)),
	    TA_OK);
	assert_int_equal(e.p.digits, 7);
	assert_int_equal(e.counter, 5);
	assert_int_equal(ta_oath_parse_line("   # comment", &e, why, sizeof(why)), 1);
	assert_int_equal(ta_oath_parse_line("", &e, why, sizeof(why)), 1);
	/* the bad ones, each with its reason */
	assert_int_equal(ta_oath_parse_line("TOTP a - 3132333435363738393031323334353637383930", &e,
	                                    why, sizeof(why)),
	                 TA_ERR_INPUT);
	assert_non_null(strstr(why, "unknown token type"));
	assert_int_equal(
	    ta_oath_parse_line("HOTP/T30/9 a - 3132333435363738393031323334353637383930", &e, why,
	                       sizeof(why)),
	    TA_ERR_INPUT);
	assert_int_equal(ta_oath_parse_line("HOTP/T0 a - 3132333435363738393031323334353637383930",
	                                    &e, why, sizeof(why)),
	                 TA_ERR_INPUT);
	assert_int_equal(ta_oath_parse_line("HOTP a 1234 3132333435363738393031323334353637383930",
	                                    &e, why, sizeof(why)),
	                 TA_ERR_INPUT);
	assert_non_null(strstr(why, "PIN"));
	assert_int_equal(ta_oath_parse_line("HOTP a - zz", &e, why, sizeof(why)), TA_ERR_INPUT);
	assert_non_null(strstr(why, "hex"));
	assert_int_equal(ta_oath_parse_line("HOTP a - 31323334", &e, why, sizeof(why)),
	                 TA_ERR_INPUT);
	assert_int_equal(ta_oath_parse_line("HOTP a -", &e, why, sizeof(why)), TA_ERR_INPUT);
	assert_non_null(strstr(why, "fields"));
	assert_int_equal(ta_oath_parse_line("HOTP a - 3132333435363738393031323334353637383930 x",
	                                    &e, why, sizeof(why)),
	                 TA_ERR_INPUT);
	assert_non_null(strstr(why, "counter"));
	assert_int_equal(
	    ta_oath_parse_line("HOTP a - 3132333435363738393031323334353637383930 1 12ab56", &e,
	                       why, sizeof(why)),
	    TA_ERR_INPUT);
	assert_int_equal(ta_oath_parse_line(
	                     "HOTP a - 3132333435363738393031323334353637383930 1 123456 yesterday",
	                     &e, why, sizeof(why)),
	                 TA_ERR_INPUT);
	assert_non_null(strstr(why, "time"));
	assert_int_equal(ta_oath_parse_line("HOTP a - 3132333435363738393031323334353637383930 1 "
	                                    "123456 2026-01-02T03:04:05L extra",
	                                    &e, why, sizeof(why)),
	                 TA_ERR_INPUT);
}

static void report(void *arg, unsigned lineno, const char *reason)
{
	unsigned *lines = arg;
	(void)reason;
	lines[lines[0] + 1] = lineno;
	lines[0]++;
}

static void test_oath_import_keeps_counters(void **state)
{
	struct env *e = env_init();
	char path[160];
	unsigned lines[16] = {0}, imp = 0, skip = 0;
	FILE *f;
	(void)state;
	snprintf(path, sizeof(path), "%s/users.oath", e->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	/* alice: HOTP, pam_oath accepted counter 1 (287082): next is 2 */
	fputs(
	    "HOTP alice - 3132333435363738393031323334353637383930 1 287082 2026-01-02T03:04:05L\n",
	    f);
	fputs("# a comment\n", f);
	fputs("HOTP pinned 1234 3132333435363738393031323334353637383930\n", f); /* line 3: PIN */
	fputs("garbage line\n", f);                                              /* line 4 */
	fputs("HOTP/T30 tina - 3132333435363738393031323334353637383930\n", f);
	fclose(f);
	chmod(path, 0600);
	assert_int_equal(ta_oath_import(e->ctx, path, NULL, report, lines, &imp, &skip), TA_OK);
	assert_int_equal(imp, 2);
	assert_int_equal(skip, 2);
	assert_int_equal(lines[0], 2);
	assert_int_equal(lines[1], 3);
	assert_int_equal(lines[2], 4);
	assert_int_equal(check(e, "alice", NULL, "287082"), TA_ERR_REPLAY);
	assert_int_equal(check(e, "alice", NULL, "359152"), TA_OK);
	/* importing again: already enrolled users are reported, not replaced */
	memset(lines, 0, sizeof(lines));
	assert_int_equal(ta_oath_import(e->ctx, path, NULL, report, lines, &imp, &skip), TA_OK);
	assert_int_equal(imp, 0);
	assert_int_equal(skip, 4);
	assert_int_equal(ta_oath_import(e->ctx, "/nonexistent", NULL, report, lines, &imp, &skip),
	                 TA_ERR_INPUT);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_params),      cmocka_unit_test(test_issue_with_params_and_import),
	    cmocka_unit_test(test_issue_limit), cmocka_unit_test(test_enroll_generated_and_errors),
	    cmocka_unit_test(test_oath_parse),  cmocka_unit_test(test_oath_import_keeps_counters),
	};
	return cmocka_run_group_tests_name("admin", tests, NULL, NULL);
}
