/*
 * token.c - generating, checking and hashing access tokens.
 */
#include "token.h"
#include "ta.h"

#include <string.h>

#define BODY_LEN   43 /* base62 digits for 256 bits: 62^43 > 2^256 */
#define SUM_LEN    6  /* base62 digits for 32 bits */
#define PREFIX_LEN (sizeof(TA_TOKEN_PREFIX) - 1)

static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static uint32_t crc32(const void *data, size_t n)
{
	const uint8_t *p = data;
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
	}
	return ~c;
}

/* Big-endian bytes to exactly ndigits base62 digits (most significant first). */
static void to_base62(const uint8_t *in, size_t n, char *out, size_t ndigits)
{
	uint8_t num[64];

	memcpy(num, in, n);
	for (size_t d = ndigits; d-- > 0;) {
		unsigned rem = 0;
		for (size_t i = 0; i < n; i++) {
			unsigned cur = rem * 256 + num[i];
			num[i] = (uint8_t)(cur / 62);
			rem = cur % 62;
		}
		out[d] = b62[rem];
	}
	ta_wipe(num, sizeof(num));
}

static void checksum(const char *text, size_t n, char out[SUM_LEN])
{
	uint32_t c = crc32(text, n);
	uint8_t be[4] = {(uint8_t)(c >> 24), (uint8_t)(c >> 16), (uint8_t)(c >> 8), (uint8_t)c};

	to_base62(be, 4, out, SUM_LEN);
}

int ta_token_generate(char out[TA_TOKEN_LEN + 1])
{
	uint8_t raw[32];
	int r;

	if ((r = ta_random(raw, sizeof(raw))) != TA_OK)
		return r;
	memcpy(out, TA_TOKEN_PREFIX, PREFIX_LEN);
	to_base62(raw, sizeof(raw), out + PREFIX_LEN, BODY_LEN);
	checksum(out, PREFIX_LEN + BODY_LEN, out + PREFIX_LEN + BODY_LEN);
	out[TA_TOKEN_LEN] = '\0';
	ta_wipe(raw, sizeof(raw));
	return TA_OK;
}

ta_token_class ta_token_classify(const char *cred, size_t len)
{
	char sum[SUM_LEN];

	if (len < PREFIX_LEN || memcmp(cred, TA_TOKEN_PREFIX, PREFIX_LEN) != 0)
		return TA_TOKEN_OPAQUE;
	if (len != TA_TOKEN_LEN)
		return TA_TOKEN_TYPO;
	for (size_t i = PREFIX_LEN; i < len; i++)
		if (memchr(b62, cred[i], sizeof(b62) - 1) == NULL)
			return TA_TOKEN_TYPO;
	checksum(cred, PREFIX_LEN + BODY_LEN, sum);
	/* The checksum is not secret, but compare in constant time anyway. */
	if (!ta_ct_eq(sum, cred + PREFIX_LEN + BODY_LEN, SUM_LEN))
		return TA_TOKEN_TYPO;
	return TA_TOKEN_ISSUED;
}

int ta_token_hash(const char *cred, size_t len, uint8_t out[TA_SHA256_LEN])
{
	static const char domain[] = "tokenauth-token-v1";
	uint8_t buf[sizeof(domain) + 512];
	int r;

	if (len > 512)
		return TA_ERR_INPUT;
	memcpy(buf, domain, sizeof(domain)); /* includes the NUL separator */
	memcpy(buf + sizeof(domain), cred, len);
	r = ta_sha256(buf, sizeof(domain) + len, out);
	ta_wipe(buf, sizeof(buf));
	return r;
}

int ta_token_new_id(char out[TA_TOKEN_ID_LEN + 1])
{
	uint8_t raw[TA_TOKEN_ID_LEN / 2];
	int r;

	if ((r = ta_random(raw, sizeof(raw))) != TA_OK)
		return r;
	ta_hex(raw, sizeof(raw), out);
	return TA_OK;
}
