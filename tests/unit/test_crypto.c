/* test_crypto.c - hashes, HMAC, AEAD, encodings, constant-time compare. */
#include "helpers.h"

static void test_sha256_vector(void **state)
{
	uint8_t out[32];
	char hex[65];
	(void)state;
	assert_int_equal(ta_sha256("abc", 3, out), TA_OK);
	ta_hex(out, 32, hex);
	assert_string_equal(hex,
	                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_hmac_rfc4231(void **state)
{
	/* RFC 4231 test case 2 */
	uint8_t out[64];
	size_t n = 0;
	char hex[129];
	(void)state;
	assert_int_equal(
	    ta_hmac(TA_HASH_SHA256, "Jefe", 4, "what do ya want for nothing?", 28, out, &n), TA_OK);
	assert_int_equal(n, 32);
	ta_hex(out, n, hex);
	assert_string_equal(hex,
	                    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	assert_int_equal(
	    ta_hmac(TA_HASH_SHA512, "Jefe", 4, "what do ya want for nothing?", 28, out, &n), TA_OK);
	assert_int_equal(n, 64);
	assert_int_equal(ta_hmac((ta_hash_alg)9, "k", 1, "d", 1, out, &n), TA_ERR_INPUT);
}

/* One key, several messages: each MAC as a fresh ta_hmac gives it, for
 * every hash; the RFC 4231 case 2 first, then messages of other lengths. */
static void test_hmac_keyed_many(void **state)
{
	static const char *const msgs[] = {"what do ya want for nothing?", "", "x",
	                                   "a message longer than one block of sixty-four bytes, "
	                                   "so that the update runs twice"};
	uint8_t want[64], got[64];
	size_t wn = 0, gn = 0;
	(void)state;
	for (int a = TA_HASH_SHA1; a <= TA_HASH_SHA512; a++) {
		struct ta_hmac_key k;
		assert_int_equal(ta_hmac_key(&k, (ta_hash_alg)a, "Jefe", 4), TA_OK);
		for (int round = 0; round < 2; round++)
			for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
				assert_int_equal(ta_hmac((ta_hash_alg)a, "Jefe", 4, msgs[i], strlen(msgs[i]),
				                         want, &wn),
				                 TA_OK);
				assert_int_equal(ta_hmac_keyed(&k, msgs[i], strlen(msgs[i]), got, &gn),
				                 TA_OK);
				assert_int_equal(gn, wn);
				assert_memory_equal(got, want, wn);
			}
		ta_hmac_key_end(&k);
		assert_null(k.mac); /* the keyed state is gone */
	}
	{
		struct ta_hmac_key k;
		assert_int_equal(ta_hmac_key(&k, (ta_hash_alg)9, "k", 1), TA_ERR_INPUT);
		ta_hmac_key_end(&k);
	}
}

static void test_seal_open(void **state)
{
	uint8_t key[32], key2[32], sealed[64 + 28], plain[64];
	size_t n = 0;
	(void)state;
	assert_int_equal(ta_random(key, 32), TA_OK);
	memcpy(key2, key, 32);
	key2[0] ^= 1;
	assert_int_equal(ta_seal(key, "alice", 5, "secret-bytes", 12, sealed), TA_OK);
	assert_int_equal(ta_open(key, "alice", 5, sealed, 12 + 28, plain, &n), TA_OK);
	assert_int_equal(n, 12);
	assert_memory_equal(plain, "secret-bytes", 12);
	/* wrong key, wrong aad, tampered byte, truncated: all refused */
	assert_int_equal(ta_open(key2, "alice", 5, sealed, 40, plain, &n), TA_ERR_CORRUPT);
	assert_int_equal(ta_open(key, "mallory", 7, sealed, 40, plain, &n), TA_ERR_CORRUPT);
	sealed[15] ^= 0x80;
	assert_int_equal(ta_open(key, "alice", 5, sealed, 40, plain, &n), TA_ERR_CORRUPT);
	assert_int_equal(ta_open(key, "alice", 5, sealed, 10, plain, &n), TA_ERR_CORRUPT);
}

static void test_base32(void **state)
{
	uint8_t out[64];
	char text[128];
	(void)state;
	/* RFC 4648 §10 */
	assert_int_equal(ta_base32_encode((const uint8_t *)"foobar", 6, text, sizeof(text)), TA_OK);
	assert_string_equal(text, "MZXW6YTBOI");
	assert_int_equal(ta_base32_decode("MZXW6YTBOI======", 16, out, sizeof(out)), 6);
	assert_memory_equal(out, "foobar", 6);
	assert_int_equal(ta_base32_decode("mzxw6ytboi", 10, out, sizeof(out)), 6);
	assert_int_equal(ta_base32_decode("MZXW 6YTB OI", 12, out, sizeof(out)), 6);
	assert_int_equal(ta_base32_decode("MZXW6YTBO1", 10, out, sizeof(out)), -1); /* '1' */
	assert_int_equal(ta_base32_decode("MZXW6YTB0I", 10, out, sizeof(out)), -1); /* '0' */
	assert_int_equal(ta_base32_decode("A", 1, out, sizeof(out)), -1);           /* bad length */
	assert_int_equal(ta_base32_decode("MZ=XW", 5, out, sizeof(out)), -1);       /* inner '=' */
	assert_int_equal(ta_base32_decode("MZXW6YTBOI", 10, out, 3), -1);           /* overflow */
}

static void test_hex(void **state)
{
	uint8_t out[4];
	(void)state;
	assert_int_equal(ta_unhex("DEADbeef", 8, out, 4), 4);
	assert_int_equal(out[0], 0xde);
	assert_int_equal(ta_unhex("abc", 3, out, 4), -1);
	assert_int_equal(ta_unhex("zz", 2, out, 4), -1);
	assert_int_equal(ta_unhex("0011223344", 10, out, 4), -1);
}

static void test_ct_eq_and_wipe(void **state)
{
	char buf[8] = "secret!";
	(void)state;
	assert_true(ta_ct_eq("abcd", "abcd", 4));
	assert_false(ta_ct_eq("abcd", "abce", 4));
	ta_wipe(buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	ta_wipe(NULL, 10);
	ta_wipe_free(NULL);
	ta_wipe_free(strdup("gone"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sha256_vector), cmocka_unit_test(test_hmac_rfc4231),
	    cmocka_unit_test(test_hmac_keyed_many),
	    cmocka_unit_test(test_seal_open),     cmocka_unit_test(test_base32),
	    cmocka_unit_test(test_hex),           cmocka_unit_test(test_ct_eq_and_wipe),
	};
	return cmocka_run_group_tests_name("crypto", tests, NULL, NULL);
}
