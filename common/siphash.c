/*
 * siphash.c - SipHash-2-4 after the reference implementation
 * (github.com/veorq/SipHash, CC0), checked against its vectors in
 * tests/unit/test_siphash.c.
 */
#include "siphash.h"
#include "ta.h"

#include <openssl/rand.h>
#include <string.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static uint64_t load64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

struct sip {
	uint64_t v0, v1, v2, v3;
};

static void round_(struct sip *s)
{
	s->v0 += s->v1;
	s->v1 = ROTL(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = ROTL(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = ROTL(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = ROTL(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = ROTL(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = ROTL(s->v2, 32);
}

static void compress(struct sip *s, uint64_t m)
{
	s->v3 ^= m;
	round_(s);
	round_(s);
	s->v0 ^= m;
}

uint64_t ta_siphash(const uint8_t key[TA_SIPHASH_KEY_LEN], const void *data, size_t len)
{
	const uint8_t *in = data;
	uint64_t k0 = load64(key), k1 = load64(key + 8), b = (uint64_t)len << 56;
	struct sip s = {k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL,
	                k0 ^ 0x6c7967656e657261ULL, k1 ^ 0x7465646279746573ULL};
	size_t i = 0, left = len & 7;

	for (; i + 8 <= len; i += 8)
		compress(&s, load64(in + i));
	for (size_t j = 0; j < left; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	compress(&s, b);
	s.v2 ^= 0xff;
	for (int r = 0; r < 4; r++)
		round_(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

int ta_siphash_key(uint8_t key[TA_SIPHASH_KEY_LEN])
{
	if (RAND_bytes(key, TA_SIPHASH_KEY_LEN) == 1)
		return TA_OK;
	memset(key, 0, TA_SIPHASH_KEY_LEN);
	return TA_ERR_INTERNAL;
}
