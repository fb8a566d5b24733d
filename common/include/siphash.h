/*
 * siphash.h - SipHash-2-4 (Aumasson and Bernstein, 2012), the keyed hash
 * behind every table whose keys an attacker chooses (SECURITY.md: "no
 * attacker-predictable bucket").  With a secret random key nobody outside
 * the process can pick inputs that land in one bucket.
 */
#ifndef TA_SIPHASH_H
#define TA_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define TA_SIPHASH_KEY_LEN 16

/*
 * SipHash-2-4 of len bytes at data under key, as the reference
 * implementation's 64-bit output read little-endian.  data may be NULL
 * when len is 0.  Pure function: thread-safe, no state.
 */
uint64_t ta_siphash(const uint8_t key[TA_SIPHASH_KEY_LEN], const void *data, size_t len);

/*
 * Fill key with a fresh random key from OpenSSL's CSPRNG (RAND_bytes).
 * Each table makes its own at creation.  Returns TA_OK or
 * TA_ERR_INTERNAL (the key is then zeroed: callers must fail, not go on).
 */
int ta_siphash_key(uint8_t key[TA_SIPHASH_KEY_LEN]);

#endif
