/*
 * sign.c - HMAC request signatures and the server's nonce cache.
 */
#include "sign.h"
#include "config.h"
#include "crypto.h"
#include "ta.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ta_sign_nonce(char out[TA_NONCE_HEX + 1])
{
	uint8_t raw[TA_NONCE_HEX / 2];
	int r = ta_random(raw, sizeof(raw));

	if (r == TA_OK)
		ta_hex(raw, sizeof(raw), out);
	return r;
}

static int feed(uint8_t *buf, size_t cap, size_t *off, const void *p, size_t n)
{
	if (n > cap - *off)
		return TA_ERR_INPUT;
	memcpy(buf + *off, p, n);
	*off += n;
	return TA_OK;
}

int ta_sign(const uint8_t *key, size_t keylen, int64_t ts, const char *nonce, const char *method,
	    const char *path, const void *body, size_t bodylen, char out[TA_SIG_HEX + 1])
{
	char tsbuf[24];
	uint8_t *msg, mac[64];
	size_t cap, off = 0, maclen = 0;
	int n = snprintf(tsbuf, sizeof(tsbuf), "%lld\n", (long long)ts), r = TA_ERR_INPUT;

	cap = (size_t)n + strlen(nonce) + strlen(method) + strlen(path) + bodylen + 3;
	if ((msg = malloc(cap)) == NULL)
		return TA_ERR_NOMEM;
	if (feed(msg, cap, &off, tsbuf, (size_t)n) != TA_OK ||
	    feed(msg, cap, &off, nonce, strlen(nonce)) != TA_OK || feed(msg, cap, &off, "\n", 1) != TA_OK ||
	    feed(msg, cap, &off, method, strlen(method)) != TA_OK ||
	    feed(msg, cap, &off, "\n", 1) != TA_OK || feed(msg, cap, &off, path, strlen(path)) != TA_OK ||
	    feed(msg, cap, &off, "\n", 1) != TA_OK || feed(msg, cap, &off, body, bodylen) != TA_OK)
		goto out;
	if ((r = ta_hmac(TA_HASH_SHA256, key, keylen, msg, off, mac, &maclen)) == TA_OK)
		ta_hex(mac, maclen, out);
out:
	ta_wipe(mac, sizeof(mac));
	ta_wipe(msg, cap);
	free(msg);
	return r;
}

static int is_hex(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return 0;
	return strspn(s, "0123456789abcdefABCDEF") == n;
}

int ta_sign_check(const uint8_t *key, size_t keylen, const char *ts, const char *nonce,
		  const char *sig, const char *method, const char *path, const void *body,
		  size_t bodylen, int64_t now)
{
	unsigned long long t;
	char want[TA_SIG_HEX + 1];
	int r;

	if (ts == NULL || nonce == NULL || sig == NULL ||
	    ta_parse_uint(ts, 0, 1ULL << 40, &t) != TA_OK || !is_hex(nonce, TA_NONCE_HEX, TA_NONCE_MAX) ||
	    strlen(sig) != TA_SIG_HEX)
		return TA_ERR_INPUT;
	if ((int64_t)t > now + TA_SIGN_WINDOW || (int64_t)t < now - TA_SIGN_WINDOW)
		return TA_ERR_EXPIRED;
	if ((r = ta_sign(key, keylen, (int64_t)t, nonce, method, path, body, bodylen, want)) != TA_OK)
		return r;
	/* Accept either case of hex by comparing lower-cased input. */
	char got[TA_SIG_HEX + 1];
	for (size_t i = 0; i <= TA_SIG_HEX; i++)
		got[i] = (char)(sig[i] >= 'A' && sig[i] <= 'F' ? sig[i] - 'A' + 'a' : sig[i]);
	r = ta_ct_eq(got, want, TA_SIG_HEX) ? TA_OK : TA_ERR_REJECTED;
	ta_wipe(want, sizeof(want));
	return r;
}

struct nonce_entry {
	char nonce[TA_NONCE_MAX + 1];
	int64_t seen;
};

struct ta_nonce_cache {
	pthread_mutex_t lock;
	struct nonce_entry *slots; /* open addressing, linear probing */
	size_t cap, max, used;
};

ta_nonce_cache *ta_nonce_cache_new(size_t max_entries)
{
	ta_nonce_cache *c = calloc(1, sizeof(*c));

	if (c == NULL || max_entries == 0)
		goto fail;
	c->max = max_entries;
	c->cap = max_entries * 2 + 1;
	if ((c->slots = calloc(c->cap, sizeof(*c->slots))) == NULL)
		goto fail;
	if (pthread_mutex_init(&c->lock, NULL) != 0)
		goto fail;
	return c;
fail:
	if (c != NULL)
		free(c->slots);
	free(c);
	return NULL;
}

void ta_nonce_cache_free(ta_nonce_cache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->slots);
	free(c);
}

static size_t slot_of(const ta_nonce_cache *c, const char *nonce)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a; nonces are random already */

	for (; *nonce; nonce++)
		h = (h ^ (uint8_t)*nonce) * 1099511628211ULL;
	return (size_t)(h % c->cap);
}

static int expired(const struct nonce_entry *e, int64_t now)
{
	return e->seen < now - 2 * TA_SIGN_WINDOW;
}

/* Insert without checks; the caller guarantees a free slot exists. */
static void put(ta_nonce_cache *c, const struct nonce_entry *src)
{
	size_t i = slot_of(c, src->nonce);

	while (c->slots[i].seen != 0)
		i = (i + 1) % c->cap;
	c->slots[i] = *src;
	c->used++;
}

/* Drop expired entries by rebuilding the table (keeps probe runs intact). */
static int sweep(ta_nonce_cache *c, int64_t now)
{
	struct nonce_entry *old = c->slots;

	if ((c->slots = calloc(c->cap, sizeof(*c->slots))) == NULL) {
		c->slots = old;
		return TA_ERR_NOMEM;
	}
	c->used = 0;
	for (size_t i = 0; i < c->cap; i++)
		if (old[i].seen != 0 && !expired(&old[i], now))
			put(c, &old[i]);
	free(old);
	return TA_OK;
}

int ta_nonce_cache_add(ta_nonce_cache *c, const char *nonce, int64_t now)
{
	struct nonce_entry e;
	size_t i, len = strlen(nonce);
	int r = TA_OK;

	if (len == 0 || len > TA_NONCE_MAX)
		return TA_ERR_INPUT;
	pthread_mutex_lock(&c->lock);
	for (i = slot_of(c, nonce); c->slots[i].seen != 0; i = (i + 1) % c->cap) {
		if (strcmp(c->slots[i].nonce, nonce) == 0 && !expired(&c->slots[i], now)) {
			r = TA_ERR_REPLAY;
			goto out;
		}
	}
	if (c->used >= c->max && (r = sweep(c, now)) != TA_OK)
		goto out;
	if (c->used >= c->max) {
		r = TA_ERR_UNAVAILABLE; /* full of live nonces: refuse rather than forget */
		goto out;
	}
	memcpy(e.nonce, nonce, len + 1);
	e.seen = now;
	put(c, &e);
out:
	pthread_mutex_unlock(&c->lock);
	return r;
}
