/* test_otp.c - RFC 4226 Appendix D and RFC 6238 Appendix B, windows, replay. */
#include "helpers.h"
#include "oath.h"
#include "otp.h"

#include <sqlite3.h>
#include <sys/stat.h>

static const uint8_t s1[] = "12345678901234567890";
static const uint8_t s256[] = "12345678901234567890123456789012";
static const uint8_t s512[] = "1234567890123456789012345678901234567890123456789012345678901234";

static void test_rfc4226_appendix_d(void **state)
{
	static const uint32_t want[] = {755224, 287082, 359152, 969429, 338314,
	                                254676, 287922, 162583, 399871, 520489};
	(void)state;
	for (uint64_t c = 0; c < 10; c++) {
		uint32_t code = 0;
		assert_int_equal(ta_otp_code(s1, 20, TA_HASH_SHA1, 6, c, &code), TA_OK);
		assert_int_equal(code, want[c]);
	}
}

static const struct {
	int64_t t;
	uint32_t sha1, sha256, sha512;
} rfc6238[] = {
    {59, 94287082, 46119246, 90693936},         {1111111109, 7081804, 68084774, 25091201},
    {1111111111, 14050471, 67062674, 99943326}, {1234567890, 89005924, 91819424, 93441116},
    {2000000000, 69279037, 90698825, 38618901}, {20000000000LL, 65353130, 77737706, 47863826},
};

static void test_rfc6238_appendix_b(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rfc6238) / sizeof(rfc6238[0]); i++) {
		uint64_t step = (uint64_t)rfc6238[i].t / 30;
		uint32_t c1 = 0, c256 = 0, c512 = 0;
		assert_int_equal(ta_otp_code(s1, 20, TA_HASH_SHA1, 8, step, &c1), TA_OK);
		assert_int_equal(ta_otp_code(s256, 32, TA_HASH_SHA256, 8, step, &c256), TA_OK);
		assert_int_equal(ta_otp_code(s512, 64, TA_HASH_SHA512, 8, step, &c512), TA_OK);
		assert_int_equal(c1, rfc6238[i].sha1);
		assert_int_equal(c256, rfc6238[i].sha256);
		assert_int_equal(c512, rfc6238[i].sha512);
	}
}

static void code_str(uint32_t code, unsigned digits, char *buf)
{
	snprintf(buf, 16, "%0*u", (int)digits, code);
}

static void test_totp_check_window_and_replay(void **state)
{
	struct ta_otp_params p = {TA_OTP_TOTP, TA_HASH_SHA256, 8, 30};
	char code[16];
	uint64_t next = 0;
	(void)state;
	/* RFC vector at t=1234567890 accepted; step moves to one past it */
	code_str(91819424, 8, code);
	assert_int_equal(ta_otp_check(&p, s256, 32, code, 8, 0, 1234567890, 1, 0, &next), TA_OK);
	assert_int_equal(next, 1234567890 / 30 + 1);
	/* the same code again: replay */
	assert_int_equal(ta_otp_check(&p, s256, 32, code, 8, next, 1234567890, 1, 0, &next),
	                 TA_ERR_REPLAY);
	/* one step late is inside window 1, two steps late is not */
	assert_int_equal(ta_otp_check(&p, s256, 32, code, 8, 0, 1234567890 + 30, 1, 0, &next),
	                 TA_OK);
	assert_int_equal(ta_otp_check(&p, s256, 32, code, 8, 0, 1234567890 + 60, 1, 0, &next),
	                 TA_ERR_REJECTED);
	assert_int_equal(ta_otp_check(&p, s256, 32, code, 8, 0, 1234567890 + 60, 2, 0, &next),
	                 TA_OK);
	/* window 0: only the current step */
	assert_int_equal(ta_otp_check(&p, s256, 32, code, 8, 0, 1234567890 + 30, 0, 0, &next),
	                 TA_ERR_REJECTED);
}

static void test_hotp_lookahead(void **state)
{
	struct ta_otp_params p = {TA_OTP_HOTP, TA_HASH_SHA1, 6, 0};
	uint64_t next = 0;
	(void)state;
	/* counter 5's code with next=0 and lookahead 10: accepted, next=6 */
	assert_int_equal(ta_otp_check(&p, s1, 20, "254676", 6, 0, 0, 1, 10, &next), TA_OK);
	assert_int_equal(next, 6);
	/* an older code (counter 3) is now a replay */
	assert_int_equal(ta_otp_check(&p, s1, 20, "969429", 6, 6, 0, 1, 10, &next),
	                 TA_ERR_REJECTED);
	/* beyond the look-ahead: rejected */
	assert_int_equal(ta_otp_check(&p, s1, 20, "520489", 6, 0, 0, 1, 5, &next), TA_ERR_REJECTED);
	assert_int_equal(ta_otp_check(&p, s1, 20, "520489", 6, 0, 0, 1, 9, &next), TA_OK);
	assert_int_equal(next, 10);
}

static void test_code_format(void **state)
{
	struct ta_otp_params p = {TA_OTP_HOTP, TA_HASH_SHA1, 6, 0};
	uint64_t next = 0;
	uint32_t c;
	(void)state;
	assert_int_equal(ta_otp_check(&p, s1, 20, "75522", 5, 0, 0, 1, 10, &next), TA_ERR_REJECTED);
	assert_int_equal(ta_otp_check(&p, s1, 20, "7552240", 7, 0, 0, 1, 10, &next),
	                 TA_ERR_REJECTED);
	assert_int_equal(ta_otp_check(&p, s1, 20, "75522a", 6, 0, 0, 1, 10, &next),
	                 TA_ERR_REJECTED);
	assert_int_equal(ta_otp_check(&p, s1, 20, "", 0, 0, 0, 1, 10, &next), TA_ERR_REJECTED);
	assert_int_equal(ta_otp_code(s1, 20, TA_HASH_SHA1, 5, 0, &c), TA_ERR_INPUT);
	assert_int_equal(ta_otp_code(s1, 20, TA_HASH_SHA1, 9, 0, &c), TA_ERR_INPUT);
}

static void test_uri(void **state)
{
	struct ta_otp_params p = {TA_OTP_TOTP, TA_HASH_SHA1, 6, 30};
	char uri[512];
	(void)state;
	assert_int_equal(ta_otp_uri(&p, (const uint8_t *)"Hello!\xde\xad\xbe\xef", 10, "ACME Co",
	                            "alice@t1", 0, uri, sizeof(uri)),
	                 TA_OK);
	assert_string_equal(uri, "otpauth://totp/"
	                         "ACME%20Co:alice@t1?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co&"
	                         "algorithm=SHA1&digits=6&period=30");
	p.type = TA_OTP_HOTP;
	assert_int_equal(ta_otp_uri(&p, (const uint8_t *)"Hello!\xde\xad\xbe\xef", 10, "x", "bob",
	                            7, uri, sizeof(uri)),
	                 TA_OK);
	assert_non_null(strstr(uri, "otpauth://hotp/x:bob?"));
	assert_non_null(strstr(uri, "counter=7"));
	assert_int_equal(ta_otp_uri(&p, s1, 20, "x", "bob", 0, uri, 20), TA_ERR_INPUT);
	assert_int_equal(ta_otp_alg_parse("sha512"), TA_HASH_SHA512);
	assert_int_equal(ta_otp_alg_parse("md5"), 0);
}

/* The 6-digit SHA1 code of s1 at counter c, as text. */
static void code_at(uint64_t c, char out[16])
{
	uint32_t v = 0;

	assert_int_equal(ta_otp_code(s1, 20, TA_HASH_SHA1, 6, c, &v), TA_OK);
	snprintf(out, 16, "%06u", (unsigned)v);
}

/* The check itself has no overflow at the top of what the store holds. */
static void test_hotp_check_near_the_top(void **state)
{
	struct ta_otp_params p = {TA_OTP_HOTP, TA_HASH_SHA1, 6, 0};
	const uint64_t top = UINT64_C(1) << 62, imax = (uint64_t)INT64_MAX;
	uint64_t next = 0;
	char code[16];
	(void)state;
	code_at(top + 3, code);
	assert_int_equal(ta_otp_check(&p, s1, 20, code, 6, top, 0, 1, 10, &next), TA_OK);
	assert_true(next == top + 4);
	assert_int_equal(ta_otp_check(&p, s1, 20, code, 6, top + 4, 0, 1, 10, &next),
	                 TA_ERR_REPLAY);
	/* at INT64_MAX the next counter is 2^63, which the store refuses */
	code_at(imax, code);
	assert_int_equal(ta_otp_check(&p, s1, 20, code, 6, imax, 0, 1, 10, &next), TA_OK);
	assert_true(next == imax + 1);
}

/* Set the stored counter of user u to a raw value. */
static void raw_next(struct env *e, const char *value)
{
	sqlite3 *db = NULL;
	char sql[128];

	snprintf(sql, sizeof(sql), "UPDATE otp SET next=%s WHERE user='u'", value);
	assert_int_equal(sqlite3_open(e->store, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_close(db);
}

static void enrol_hotp(struct env *e)
{
	struct ta_otp_params p = {TA_OTP_HOTP, TA_HASH_SHA1, 6, 0};
	uint8_t out[TA_OTP_MAX_SECRET];
	size_t n = 0;

	assert_int_equal(ta_otp_enroll(e->ctx, "u", NULL, &p, s1, 20, 0, 0, out, &n), TA_OK);
	ta_wipe(out, sizeof(out));
}

/*
 * Issue 9, defect 8: a counter at INT64_MAX (imported, or a store from an
 * older version) made the advance a no-op, so the same code was accepted
 * at every login.  Now the code is refused, and never twice accepted.
 */
static void test_verify_counter_at_int64_max(void **state)
{
	struct env *e = env_init();
	char code[16];
	(void)state;
	enrol_hotp(e);
	raw_next(e, "9223372036854775807");
	env_reopen(e);
	code_at((uint64_t)INT64_MAX, code);
	assert_int_not_equal(check(e, "u", NULL, code), TA_OK);
	assert_int_not_equal(check(e, "u", NULL, code), TA_OK);
	/* a wrapped counter is damage: refused, not read as counter 0 */
	raw_next(e, "-9223372036854775808");
	env_reopen(e);
	code_at(0, code);
	assert_int_equal(check(e, "u", NULL, code), TA_ERR_CORRUPT);
	env_free(e);
}

/* Counters from a pam_oath file: below 2^62, or the line is refused by value. */
static void test_oath_counter_bounds(void **state)
{
	static const char hex[] = "3132333435363738393031323334353637383930";
	struct ta_oath_entry en;
	char line[256], why[256];
	(void)state;
	snprintf(line, sizeof(line), "HOTP u - %s 4611686018427387903", hex);
	assert_int_equal(ta_oath_parse_line(line, &en, why, sizeof(why)), TA_OK);
	assert_true(en.counter == (UINT64_C(1) << 62) - 1);
	static const char *const too_large[] = {"4611686018427387904", "9223372036854775807",
	                                        "9223372036854775808", "18446744073709551615",
	                                        "18446744073709551616"};
	for (size_t i = 0; i < sizeof(too_large) / sizeof(too_large[0]); i++) {
		snprintf(line, sizeof(line), "HOTP u - %s %s", hex, too_large[i]);
		why[0] = '\0';
		assert_int_equal(ta_oath_parse_line(line, &en, why, sizeof(why)), TA_ERR_INPUT);
		assert_non_null(strstr(why, too_large[i]));
		assert_non_null(strstr(why, "too large"));
	}
	static const char *const not_numbers[] = {"-1", "12x", "+5", "0x10"};
	for (size_t i = 0; i < sizeof(not_numbers) / sizeof(not_numbers[0]); i++) {
		snprintf(line, sizeof(line), "HOTP u - %s %s", hex, not_numbers[i]);
		why[0] = '\0';
		assert_int_equal(ta_oath_parse_line(line, &en, why, sizeof(why)), TA_ERR_INPUT);
		assert_non_null(strstr(why, "is not a number"));
	}
}

static void no_report(void *arg, unsigned lineno, const char *reason)
{
	(void)arg;
	(void)lineno;
	(void)reason;
}

/* The largest importable counter works end to end, once per code. */
static void test_oath_import_at_the_bound(void **state)
{
	const uint64_t last = (UINT64_C(1) << 62) - 1;
	struct env *e = env_init();
	unsigned imported = 0, skipped = 0;
	char path[160], code[16], next[16];
	FILE *f;
	(void)state;
	code_at(last, code);
	code_at(last + 1, next);
	snprintf(path, sizeof(path), "%s/users.oath", e->dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "HOTP u - 3132333435363738393031323334353637383930 %llu %s\n",
	        (unsigned long long)last, code);
	fprintf(f, "HOTP v - 3132333435363738393031323334353637383930 9223372036854775807\n");
	fclose(f);
	chmod(path, 0600);
	assert_int_equal(ta_oath_import(e->ctx, path, NULL, no_report, NULL, &imported, &skipped),
	                 TA_OK);
	assert_int_equal(imported, 1);
	assert_int_equal(skipped, 1);
	assert_int_equal(check(e, "u", NULL, code), TA_ERR_REPLAY);
	assert_int_equal(check(e, "u", NULL, next), TA_OK);
	assert_int_equal(check(e, "u", NULL, next), TA_ERR_REPLAY);
	assert_int_equal(check(e, "v", NULL, next), TA_ERR_NO_CREDENTIAL);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc4226_appendix_d),
	    cmocka_unit_test(test_rfc6238_appendix_b),
	    cmocka_unit_test(test_totp_check_window_and_replay),
	    cmocka_unit_test(test_hotp_lookahead),
	    cmocka_unit_test(test_code_format),
	    cmocka_unit_test(test_uri),
	    cmocka_unit_test(test_hotp_check_near_the_top),
	    cmocka_unit_test(test_verify_counter_at_int64_max),
	    cmocka_unit_test(test_oath_counter_bounds),
	    cmocka_unit_test(test_oath_import_at_the_bound),
	};
	return cmocka_run_group_tests_name("otp", tests, NULL, NULL);
}
