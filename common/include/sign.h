/*
 * sign.h - signed, replay-protected requests between hosts (SPEC §5,
 * seeds 001 and 002).
 *
 * Signature = lower-case hex HMAC-SHA256(key, timestamp "\n" nonce "\n"
 * method "\n" path "\n" body), sent in X-TokenAuth-Timestamp (Unix
 * seconds), X-TokenAuth-Nonce (>= 128 random bits, hex) and
 * X-TokenAuth-Signature.  A server accepts a signature only within
 * +-TA_SIGN_WINDOW seconds and never the same nonce twice in that window.
 */
#ifndef TA_SIGN_H
#define TA_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define TA_SIGN_WINDOW 300
#define TA_NONCE_HEX   32 /* 128 bits */
#define TA_NONCE_MAX   128
#define TA_SIG_HEX     64

#define TA_HDR_TIMESTAMP "X-TokenAuth-Timestamp"
#define TA_HDR_NONCE     "X-TokenAuth-Nonce"
#define TA_HDR_SIGNATURE "X-TokenAuth-Signature"

/* A fresh nonce: TA_NONCE_HEX hex characters + NUL. */
int ta_sign_nonce(char out[TA_NONCE_HEX + 1]);

/* Compute the signature into out (TA_SIG_HEX + NUL). */
int ta_sign(const uint8_t *key, size_t keylen, int64_t ts, const char *nonce, const char *method,
            const char *path, const void *body, size_t bodylen, char out[TA_SIG_HEX + 1]);

/*
 * Check the three header values of a request.  Returns TA_OK,
 * TA_ERR_INPUT (missing or malformed header), TA_ERR_EXPIRED (timestamp
 * outside the window) or TA_ERR_REJECTED (signature does not match,
 * compared in constant time).  Replay is the caller's nonce cache's job.
 */
int ta_sign_check(const uint8_t *key, size_t keylen, const char *ts, const char *nonce,
                  const char *sig, const char *method, const char *path, const void *body,
                  size_t bodylen, int64_t now);

/*
 * Nonce cache for servers: remembers each nonce for at least
 * 2 * TA_SIGN_WINDOW seconds, in two generations of that length with at
 * most max_entries each (16 bytes of memory per entry and generation);
 * thread-safe, constant work per call.
 */
typedef struct ta_nonce_cache ta_nonce_cache;

ta_nonce_cache *ta_nonce_cache_new(size_t max_entries);
void ta_nonce_cache_free(ta_nonce_cache *c);

/*
 * Record nonce seen at now.  Returns TA_OK the first time, TA_ERR_REPLAY if
 * it was seen within the window, TA_ERR_UNAVAILABLE when the cache is full
 * of live entries (refuse rather than forget).
 */
int ta_nonce_cache_add(ta_nonce_cache *c, const char *nonce, int64_t now);

#endif
