/*
 * cache.h - remote results shared by the processes of one host.
 *
 * Only successes are kept.  The key is HMAC-SHA256 under a per-host secret
 * of service, tenant, user and credential, so the cache holds no
 * credential and cannot answer for another user, tenant, service or token.
 * An entry never outlives the token's own expiry when the endpoint
 * reported one.  The cache and its key live beside the store (0600), and
 * it holds at most TA_CACHE_MAX entries.
 */
#ifndef TA_CACHE_H
#define TA_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define TA_CACHE_MAX 10000

typedef struct ta_cache ta_cache;

/* Open or create "remote-cache.db" and "remote-cache.key" in dir. */
int ta_cache_open(const char *dir, ta_cache **out, char *err, size_t errlen);
void ta_cache_close(ta_cache *c);

/*
 * The two keys of a check, TA_CACHE_KEY_LEN bytes: an entry key, HMAC over
 * (service, tenant, user, credential), under which a success is kept; and
 * a credential key over (tenant, user, credential) alone, by which a
 * refusal seen by any service removes the entries of every service.
 */
#define TA_CACHE_KEY_LEN (2 * TA_SHA256_LEN)
int ta_cache_key(ta_cache *c, const char *service, const char *tenant, const char *user,
                 const char *cred, size_t credlen, uint8_t key[TA_CACHE_KEY_LEN]);

/*
 * TA_OK when an entry stored after now - max_age exists and the token has
 * not expired; TA_ERR_NOT_FOUND otherwise.
 */
int ta_cache_get(ta_cache *c, const uint8_t key[TA_CACHE_KEY_LEN], int64_t now, uint64_t max_age);

/* Remember a success at now; token_exp 0 = unknown. */
int ta_cache_put(ta_cache *c, const uint8_t key[TA_CACHE_KEY_LEN], int64_t now, int64_t token_exp);
/* Forget every entry of this credential, for every service (a remote
 * refusal: revocation wins); TA_OK also when there is none. */
int ta_cache_del(ta_cache *c, const uint8_t key[TA_CACHE_KEY_LEN]);

#endif
