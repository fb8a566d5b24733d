/* test_token.c - format, checksum, typo rejection, hashing. */
#include "helpers.h"
#include "token.h"

static void test_generate_format(void **state)
{
	char a[TA_TOKEN_LEN + 1], b[TA_TOKEN_LEN + 1];
	(void)state;
	assert_int_equal(ta_token_generate(a), TA_OK);
	assert_int_equal(ta_token_generate(b), TA_OK);
	assert_int_equal(strlen(a), TA_TOKEN_LEN);
	assert_memory_equal(a, "tka_", 4);
	assert_string_not_equal(a, b);
	assert_int_equal(ta_token_classify(a, strlen(a)), TA_TOKEN_ISSUED);
}

static void test_typos_rejected(void **state)
{
	char t[TA_TOKEN_LEN + 1], m[TA_TOKEN_LEN + 2];
	(void)state;
	assert_int_equal(ta_token_generate(t), TA_OK);
	/* every single-character substitution is caught by the checksum */
	for (size_t i = 4; i < TA_TOKEN_LEN; i++) {
		memcpy(m, t, sizeof(t));
		m[i] = m[i] == 'a' ? 'b' : 'a';
		assert_int_equal(ta_token_classify(m, TA_TOKEN_LEN), TA_TOKEN_TYPO);
	}
	/* adjacent transpositions too */
	for (size_t i = 4; i + 1 < TA_TOKEN_LEN; i++) {
		if (t[i] == t[i + 1])
			continue;
		memcpy(m, t, sizeof(t));
		m[i] = t[i + 1];
		m[i + 1] = t[i];
		assert_int_equal(ta_token_classify(m, TA_TOKEN_LEN), TA_TOKEN_TYPO);
	}
	/* truncated, extended, bad alphabet */
	assert_int_equal(ta_token_classify(t, TA_TOKEN_LEN - 1), TA_TOKEN_TYPO);
	memcpy(m, t, sizeof(t));
	m[TA_TOKEN_LEN] = 'x';
	assert_int_equal(ta_token_classify(m, TA_TOKEN_LEN + 1), TA_TOKEN_TYPO);
	memcpy(m, t, sizeof(t));
	m[10] = '-';
	assert_int_equal(ta_token_classify(m, TA_TOKEN_LEN), TA_TOKEN_TYPO);
	assert_int_equal(ta_token_classify("someone-elses-token", 19), TA_TOKEN_OPAQUE);
	assert_int_equal(ta_token_classify("tka", 3), TA_TOKEN_OPAQUE);
}

static void test_hash(void **state)
{
	uint8_t h1[32], h2[32], h3[32];
	(void)state;
	assert_int_equal(ta_token_hash("abc", 3, h1), TA_OK);
	assert_int_equal(ta_token_hash("abc", 3, h2), TA_OK);
	assert_int_equal(ta_token_hash("abd", 3, h3), TA_OK);
	assert_memory_equal(h1, h2, 32);
	assert_memory_not_equal(h1, h3, 32);
	/* domain separated: not the plain SHA-256 */
	assert_int_equal(ta_sha256("abc", 3, h2), TA_OK);
	assert_memory_not_equal(h1, h2, 32);
	{
		char big[600];
		memset(big, 'a', sizeof(big));
		assert_int_equal(ta_token_hash(big, sizeof(big), h1), TA_ERR_INPUT);
	}
}

static void test_ids(void **state)
{
	char a[TA_TOKEN_ID_LEN + 1], b[TA_TOKEN_ID_LEN + 1];
	(void)state;
	assert_int_equal(ta_token_new_id(a), TA_OK);
	assert_int_equal(ta_token_new_id(b), TA_OK);
	assert_int_equal(strlen(a), 12);
	assert_string_not_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_generate_format),
	    cmocka_unit_test(test_typos_rejected),
	    cmocka_unit_test(test_hash),
	    cmocka_unit_test(test_ids),
	};
	return cmocka_run_group_tests_name("token", tests, NULL, NULL);
}
