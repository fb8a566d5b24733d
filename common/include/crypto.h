/*
 * crypto.h - the small set of primitives the core uses, over OpenSSL and
 * the kernel's CSPRNG.  All functions are thread-safe and keep no state.
 */
#ifndef TA_CRYPTO_H
#define TA_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define TA_SHA256_LEN    32
#define TA_GCM_NONCE_LEN 12
#define TA_GCM_TAG_LEN   16
#define TA_KEY_LEN       32

typedef enum { TA_HASH_SHA1 = 1, TA_HASH_SHA256 = 2, TA_HASH_SHA512 = 3 } ta_hash_alg;

/* Fill buf with n bytes from getrandom(2).  Returns TA_OK or TA_ERR_INTERNAL. */
int ta_random(void *buf, size_t n);

/* Overwrite n bytes at p so the compiler cannot elide it.  p may be NULL. */
void ta_wipe(void *p, size_t n);

/* Wipe the string s (up to its NUL) and free it.  s may be NULL. */
void ta_wipe_free(char *s);

/* Constant-time equality of two buffers of the same length: 1 if equal. */
int ta_ct_eq(const void *a, const void *b, size_t n);

/* SHA-256 of data into out[32]. */
int ta_sha256(const void *data, size_t len, uint8_t out[TA_SHA256_LEN]);

/*
 * HMAC with the given hash.  out must hold 64 bytes; *outlen receives the
 * digest size (20, 32 or 64).
 */
int ta_hmac(ta_hash_alg alg, const void *key, size_t keylen, const void *data, size_t len,
            uint8_t out[64], size_t *outlen);

/*
 * One HMAC key for several messages (the codes of an OTP window): keyed
 * once by ta_hmac_key, used by ta_hmac_keyed, wiped by ta_hmac_key_end
 * (also after a failed ta_hmac_key).  key is borrowed: it must outlive k.
 * One thread at a time.
 */
struct ta_hmac_key {
	ta_hash_alg alg;
	const void *key;
	size_t keylen;
	void *mac; /* the keyed MAC context, or NULL: HMAC() each time */
};
int ta_hmac_key(struct ta_hmac_key *k, ta_hash_alg alg, const void *key, size_t keylen);
int ta_hmac_keyed(struct ta_hmac_key *k, const void *data, size_t len, uint8_t out[64],
                  size_t *outlen);
void ta_hmac_key_end(struct ta_hmac_key *k);

/* Digest size of alg, 0 if unknown. */
size_t ta_hash_len(ta_hash_alg alg);

/*
 * AES-256-GCM.  ta_seal writes nonce(12) || ciphertext(len) || tag(16) into
 * out, which must hold len + 28 bytes.  ta_open reverses it; it returns
 * TA_ERR_CORRUPT when the tag does not verify (wrong key, tampered data, or
 * different aad).
 */
int ta_seal(const uint8_t key[TA_KEY_LEN], const void *aad, size_t aadlen, const void *in,
            size_t len, uint8_t *out);
int ta_open(const uint8_t key[TA_KEY_LEN], const void *aad, size_t aadlen, const uint8_t *in,
            size_t inlen, uint8_t *out, size_t *outlen);

/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void ta_hex(const uint8_t *in, size_t n, char *out);

/* The value of one hex digit (either case), or -1. */
int ta_hexval(int c);

/* Decode hex (either case).  Returns bytes written or -1 on bad input/overflow. */
long ta_unhex(const char *in, size_t inlen, uint8_t *out, size_t outcap);

/*
 * RFC 4648 base32.  ta_base32_encode writes upper-case, unpadded text
 * (outcap must be >= ceil(n*8/5)+1).  ta_base32_decode accepts either case,
 * ignores spaces and '=' padding only at the end, and returns the number of
 * bytes or -1 on any other character or bad length.
 */
int ta_base32_encode(const uint8_t *in, size_t n, char *out, size_t outcap);
long ta_base32_decode(const char *in, size_t inlen, uint8_t *out, size_t outcap);

#endif
