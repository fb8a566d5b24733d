/* test_sign.c - request signatures (SPEC §5) and the nonce cache. */
#include "helpers.h"
#include "sign.h"

static const uint8_t key[] = "secret-key";
static const char nonce[] = "00112233445566778899aabbccddeeff";
static const char body[] = "{\"a\":1}";

static void test_vector(void **state)
{
	char sig[TA_SIG_HEX + 1];
	(void)state;
	/* computed independently with Python's hmac module */
	assert_int_equal(ta_sign(key, 10, 1700000000, nonce, "POST", "/x", body, 7, sig), TA_OK);
	assert_string_equal(sig,
	                    "44f5d41acbaa2ab204043b205a860f19cb0bb60795ee3095205684f0cfa58897");
}

static void test_check(void **state)
{
	char sig[TA_SIG_HEX + 1], upper[TA_SIG_HEX + 1];
	const int64_t t = 1700000000;
	(void)state;
	assert_int_equal(ta_sign(key, 10, t, nonce, "POST", "/x", body, 7, sig), TA_OK);
	assert_int_equal(ta_sign_check(key, 10, "1700000000", nonce, sig, "POST", "/x", body, 7, t),
	                 TA_OK);
	/* upper-case hex is the same signature */
	for (size_t i = 0; i <= TA_SIG_HEX; i++)
		upper[i] = (char)(sig[i] >= 'a' && sig[i] <= 'f' ? sig[i] - 32 : sig[i]);
	assert_int_equal(
	    ta_sign_check(key, 10, "1700000000", nonce, upper, "POST", "/x", body, 7, t), TA_OK);
	/* inside and outside the window */
	assert_int_equal(
	    ta_sign_check(key, 10, "1700000000", nonce, sig, "POST", "/x", body, 7, t + 300),
	    TA_OK);
	assert_int_equal(
	    ta_sign_check(key, 10, "1700000000", nonce, sig, "POST", "/x", body, 7, t + 301),
	    TA_ERR_EXPIRED);
	assert_int_equal(
	    ta_sign_check(key, 10, "1700000000", nonce, sig, "POST", "/x", body, 7, t - 301),
	    TA_ERR_EXPIRED);
	/* anything changed: rejected */
	assert_int_equal(ta_sign_check(key, 9, "1700000000", nonce, sig, "POST", "/x", body, 7, t),
	                 TA_ERR_REJECTED);
	assert_int_equal(ta_sign_check(key, 10, "1700000000", nonce, sig, "GET", "/x", body, 7, t),
	                 TA_ERR_REJECTED);
	assert_int_equal(ta_sign_check(key, 10, "1700000000", nonce, sig, "POST", "/y", body, 7, t),
	                 TA_ERR_REJECTED);
	assert_int_equal(ta_sign_check(key, 10, "1700000000", nonce, sig, "POST", "/x", body, 6, t),
	                 TA_ERR_REJECTED);
	assert_int_equal(ta_sign_check(key, 10, "1700000001", nonce, sig, "POST", "/x", body, 7, t),
	                 TA_ERR_REJECTED);
	/* malformed headers */
	assert_int_equal(ta_sign_check(key, 10, NULL, nonce, sig, "POST", "/x", body, 7, t),
	                 TA_ERR_INPUT);
	assert_int_equal(ta_sign_check(key, 10, "17e8", nonce, sig, "POST", "/x", body, 7, t),
	                 TA_ERR_INPUT);
	assert_int_equal(
	    ta_sign_check(key, 10, "1700000000", "abcd", sig, "POST", "/x", body, 7, t),
	    TA_ERR_INPUT);
	assert_int_equal(
	    ta_sign_check(key, 10, "1700000000", nonce, "abc", "POST", "/x", body, 7, t),
	    TA_ERR_INPUT);
}

static void test_nonce_cache(void **state)
{
	ta_nonce_cache *c = ta_nonce_cache_new(4);
	char n[TA_NONCE_HEX + 1];
	const int64_t base = 6000; /* the start of a 600 s generation */
	(void)state;
	assert_non_null(c);
	assert_int_equal(ta_sign_nonce(n), TA_OK);
	assert_int_equal(strlen(n), TA_NONCE_HEX);
	assert_int_equal(ta_nonce_cache_add(c, n, base), TA_OK);
	assert_int_equal(ta_nonce_cache_add(c, n, base + 1), TA_ERR_REPLAY);
	assert_int_equal(ta_nonce_cache_add(c, "a1", base), TA_OK);
	assert_int_equal(ta_nonce_cache_add(c, "a2", base), TA_OK);
	assert_int_equal(ta_nonce_cache_add(c, "a3", base + 599), TA_OK);
	/* a generation full of live nonces: refuse rather than forget */
	assert_int_equal(ta_nonce_cache_add(c, "a4", base + 10), TA_ERR_UNAVAILABLE);
	/* next generation: room again, and the previous one is still checked */
	assert_int_equal(ta_nonce_cache_add(c, "a4", base + 600), TA_OK);
	assert_int_equal(ta_nonce_cache_add(c, n, base + 600), TA_ERR_REPLAY);
	/* a nonce from the last second of a generation is kept 600 s more */
	assert_int_equal(ta_nonce_cache_add(c, "a3", base + 599 + 600), TA_ERR_REPLAY);
	/* two generations on, the first is forgotten */
	assert_int_equal(ta_nonce_cache_add(c, n, base + 1200), TA_OK);
	/* a jump far ahead clears both */
	assert_int_equal(ta_nonce_cache_add(c, "a4", base + 100000), TA_OK);
	assert_int_equal(ta_nonce_cache_add(c, "", base), TA_ERR_INPUT);
	ta_nonce_cache_free(c);
	ta_nonce_cache_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vector),
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_nonce_cache),
	};
	return cmocka_run_group_tests_name("sign", tests, NULL, NULL);
}
