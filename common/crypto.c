/*
 * crypto.c - primitives over OpenSSL (libcrypto) and getrandom(2).
 */
#include "crypto.h"
#include "ta.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

int ta_random(void *buf, size_t n)
{
	uint8_t *p = buf;

	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return TA_ERR_INTERNAL;
		}
		p += r;
		n -= (size_t)r;
	}
	return TA_OK;
}

void ta_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

void ta_wipe_free(char *s)
{
	if (s == NULL)
		return;
	ta_wipe(s, strlen(s));
	free(s);
}

int ta_ct_eq(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

/*
 * The algorithms, fetched from the default provider once per process.
 * OpenSSL 3 looks an algorithm up by name (under a lock, through the
 * provider's tables) whenever it is given one of the EVP_sha256()-style
 * descriptors; that lookup cost more than the hashing of a token.  A
 * fetched one is used as it is.  Where a fetch fails the legacy
 * descriptor is used, which works, only slower.
 */
static struct {
	EVP_MD *sha1, *sha256, *sha512;
	EVP_CIPHER *gcm;
	EVP_MAC *hmac;
	/* per ta_hash_alg: an HMAC context with its digest set and no key,
	 * copied for each use (only ever read, so shared between threads) */
	EVP_MAC_CTX *hmac_tmpl[TA_HASH_SHA512 + 1];
} algs;
static pthread_once_t algs_once = PTHREAD_ONCE_INIT;

/*
 * In the shipped module and plugin (-z nodelete, never unmapped) the
 * algorithms live as long as the process: freeing them at exit would race
 * host threads still hashing, and run after OpenSSL's own cleanup in a host
 * that calls OPENSSL_cleanup() first.  Sanitizer builds, which the SASL
 * suite loads without -z nodelete and unloads, give them back so that
 * LeakSanitizer sees no leak: registered with atexit() right after the
 * first fetch (after libcrypto's own handler, so it runs first), which from
 * a shared object glibc also runs at dlclose.
 */
#if defined(__SANITIZE_ADDRESS__)
#define TA_FREE_ALGS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TA_FREE_ALGS 1
#endif
#endif

#ifdef TA_FREE_ALGS
static void free_algs(void)
{
	for (size_t a = 0; a < sizeof(algs.hmac_tmpl) / sizeof(algs.hmac_tmpl[0]); a++)
		EVP_MAC_CTX_free(algs.hmac_tmpl[a]);
	EVP_MAC_free(algs.hmac);
	EVP_MD_free(algs.sha1);
	EVP_MD_free(algs.sha256);
	EVP_MD_free(algs.sha512);
	EVP_CIPHER_free(algs.gcm);
	memset(&algs, 0, sizeof(algs));
}
#endif

static void fetch_algs(void)
{
	algs.sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	algs.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	algs.sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
	algs.gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	algs.hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	for (int a = TA_HASH_SHA1; a <= TA_HASH_SHA512 && algs.hmac != NULL; a++) {
		static const char *const names[] = {"SHA1", "SHA256", "SHA512"};
		OSSL_PARAM p[2] = {
		    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)names[a - TA_HASH_SHA1], 0),
		    OSSL_PARAM_construct_end()};
		EVP_MAC_CTX *t = EVP_MAC_CTX_new(algs.hmac), *probe = NULL;
		/* OpenSSL 3.0.0 cannot copy a context that has no key yet:
		 * there, and whenever the copy fails, HMAC() serves */
		if (t != NULL &&
		    (EVP_MAC_CTX_set_params(t, p) != 1 || (probe = EVP_MAC_CTX_dup(t)) == NULL)) {
			EVP_MAC_CTX_free(t);
			t = NULL;
		}
		EVP_MAC_CTX_free(probe);
		algs.hmac_tmpl[a] = t;
	}
#ifdef TA_FREE_ALGS
	(void)atexit(free_algs);
#endif
}

static const EVP_MD *md_of(ta_hash_alg alg)
{
	pthread_once(&algs_once, fetch_algs);
	switch (alg) {
	case TA_HASH_SHA1: return algs.sha1 ? algs.sha1 : EVP_sha1();
	case TA_HASH_SHA256: return algs.sha256 ? algs.sha256 : EVP_sha256();
	case TA_HASH_SHA512: return algs.sha512 ? algs.sha512 : EVP_sha512();
	}
	return NULL;
}

static const EVP_CIPHER *aes_gcm(void)
{
	pthread_once(&algs_once, fetch_algs);
	return algs.gcm ? algs.gcm : EVP_aes_256_gcm();
}

int ta_sha256(const void *data, size_t len, uint8_t out[TA_SHA256_LEN])
{
	unsigned int olen = 0;

	if (EVP_Digest(data, len, out, &olen, md_of(TA_HASH_SHA256), NULL) != 1 ||
	    olen != TA_SHA256_LEN)
		return TA_ERR_INTERNAL;
	return TA_OK;
}

size_t ta_hash_len(ta_hash_alg alg)
{
	const EVP_MD *md = md_of(alg);
	return md == NULL ? 0 : (size_t)EVP_MD_get_size(md);
}

int ta_hmac_key(struct ta_hmac_key *k, ta_hash_alg alg, const void *key, size_t keylen)
{
	static const uint8_t none[1];
	EVP_MAC_CTX *c = NULL;

	memset(k, 0, sizeof(*k));
	if (md_of(alg) == NULL || keylen > INT32_MAX)
		return TA_ERR_INPUT;
	k->alg = alg;
	k->key = key;
	k->keylen = keylen;
	/* HMAC() would fetch the MAC and the digest by name on every call:
	 * it serves only where no template could be made or copied. */
	if (algs.hmac_tmpl[alg] == NULL || (c = EVP_MAC_CTX_dup(algs.hmac_tmpl[alg])) == NULL)
		return TA_OK;
	if (EVP_MAC_init(c, key != NULL ? key : none, keylen, NULL) != 1) {
		EVP_MAC_CTX_free(c);
		return TA_ERR_INTERNAL;
	}
	k->mac = c;
	return TA_OK;
}

int ta_hmac_keyed(struct ta_hmac_key *k, const void *data, size_t len, uint8_t out[64],
                  size_t *outlen)
{
	unsigned int olen = 0;
	size_t n = 0;

	if (k->mac == NULL) {
		if (HMAC(md_of(k->alg), k->key, (int)k->keylen, data, len, out, &olen) == NULL)
			return TA_ERR_INTERNAL;
		*outlen = olen;
		return TA_OK;
	}
	/* a NULL key starts again from the key already set: no rekeying */
	if (EVP_MAC_init(k->mac, NULL, 0, NULL) != 1 || EVP_MAC_update(k->mac, data, len) != 1 ||
	    EVP_MAC_final(k->mac, out, &n, 64) != 1)
		return TA_ERR_INTERNAL;
	*outlen = n;
	return TA_OK;
}

void ta_hmac_key_end(struct ta_hmac_key *k)
{
	EVP_MAC_CTX_free(k->mac); /* wipes the keyed state */
	memset(k, 0, sizeof(*k));
}

int ta_hmac(ta_hash_alg alg, const void *key, size_t keylen, const void *data, size_t len,
            uint8_t out[64], size_t *outlen)
{
	struct ta_hmac_key k;
	int r = ta_hmac_key(&k, alg, key, keylen);

	if (r == TA_OK)
		r = ta_hmac_keyed(&k, data, len, out, outlen);
	ta_hmac_key_end(&k);
	return r;
}

int ta_seal(const uint8_t key[TA_KEY_LEN], const void *aad, size_t aadlen, const void *in,
            size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *c = NULL;
	int n = 0, ret = TA_ERR_INTERNAL;
	uint8_t *nonce = out, *ct = out + TA_GCM_NONCE_LEN, *tag = ct + len;

	if (len > INT32_MAX || aadlen > INT32_MAX)
		return TA_ERR_INPUT;
	if ((ret = ta_random(nonce, TA_GCM_NONCE_LEN)) != TA_OK)
		return ret;
	ret = TA_ERR_INTERNAL;
	if ((c = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (EVP_EncryptInit_ex(c, aes_gcm(), NULL, key, nonce) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &n, aad, (int)aadlen) != 1 ||
	    EVP_EncryptUpdate(c, ct, &n, in, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(c, ct + n, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TA_GCM_TAG_LEN, tag) != 1)
		goto out;
	ret = TA_OK;
out:
	EVP_CIPHER_CTX_free(c);
	return ret;
}

int ta_open(const uint8_t key[TA_KEY_LEN], const void *aad, size_t aadlen, const uint8_t *in,
            size_t inlen, uint8_t *out, size_t *outlen)
{
	EVP_CIPHER_CTX *c = NULL;
	int n = 0, ret = TA_ERR_INTERNAL;
	size_t len;
	uint8_t tag[TA_GCM_TAG_LEN];

	if (inlen < TA_GCM_NONCE_LEN + TA_GCM_TAG_LEN || inlen > INT32_MAX || aadlen > INT32_MAX)
		return TA_ERR_CORRUPT;
	len = inlen - TA_GCM_NONCE_LEN - TA_GCM_TAG_LEN;
	memcpy(tag, in + TA_GCM_NONCE_LEN + len, sizeof(tag));
	if ((c = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (EVP_DecryptInit_ex(c, aes_gcm(), NULL, key, in) != 1 ||
	    EVP_DecryptUpdate(c, NULL, &n, aad, (int)aadlen) != 1 ||
	    EVP_DecryptUpdate(c, out, &n, in + TA_GCM_NONCE_LEN, (int)len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TA_GCM_TAG_LEN, tag) != 1)
		goto out;
	if (EVP_DecryptFinal_ex(c, out + n, &n) != 1) {
		ta_wipe(out, len);
		ret = TA_ERR_CORRUPT;
		goto out;
	}
	*outlen = len;
	ret = TA_OK;
out:
	EVP_CIPHER_CTX_free(c);
	return ret;
}

void ta_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int ta_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long ta_unhex(const char *in, size_t inlen, uint8_t *out, size_t outcap)
{
	if (inlen % 2 != 0 || inlen / 2 > outcap)
		return -1;
	for (size_t i = 0; i < inlen / 2; i++) {
		int hi = ta_hexval(in[2 * i]), lo = ta_hexval(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(inlen / 2);
}

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int ta_base32_encode(const uint8_t *in, size_t n, char *out, size_t outcap)
{
	size_t o = 0;
	unsigned buf = 0, bits = 0;

	if (outcap < (n * 8 + 4) / 5 + 1)
		return TA_ERR_INPUT;
	for (size_t i = 0; i < n; i++) {
		buf = (buf << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = b32[(buf >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = b32[(buf << (5 - bits)) & 31];
	out[o] = '\0';
	return TA_OK;
}

static int b32val(char c)
{
	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

long ta_base32_decode(const char *in, size_t inlen, uint8_t *out, size_t outcap)
{
	size_t o = 0, end = inlen, chars = 0;
	unsigned buf = 0, bits = 0;

	while (end > 0 && (in[end - 1] == '=' || in[end - 1] == ' '))
		end--;
	for (size_t i = 0; i < end; i++) {
		int v;
		if (in[i] == ' ')
			continue;
		if ((v = b32val(in[i])) < 0)
			return -1;
		chars++;
		buf = ((buf << 5) | (unsigned)v) & 0xfff;
		bits += 5;
		if (bits >= 8) {
			if (o >= outcap)
				return -1;
			out[o++] = (uint8_t)(buf >> (bits - 8));
			bits -= 8;
		}
	}
	/* Lengths 1, 3 and 6 mod 8 cannot come from whole bytes. */
	if (chars % 8 == 1 || chars % 8 == 3 || chars % 8 == 6)
		return -1;
	return (long)o;
}
