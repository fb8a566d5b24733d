/*
 * sign.c - HMAC request signatures and the server's nonce cache.
 */
#include "sign.h"
#include "siphash.h"
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
	    feed(msg, cap, &off, nonce, strlen(nonce)) != TA_OK ||
	    feed(msg, cap, &off, "\n", 1) != TA_OK ||
	    feed(msg, cap, &off, method, strlen(method)) != TA_OK ||
	    feed(msg, cap, &off, "\n", 1) != TA_OK ||
	    feed(msg, cap, &off, path, strlen(path)) != TA_OK ||
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
	    ta_parse_uint(ts, 0, 1ULL << 40, &t) != TA_OK ||
	    !is_hex(nonce, TA_NONCE_HEX, TA_NONCE_MAX) || strlen(sig) != TA_SIG_HEX)
		return TA_ERR_INPUT;
	if ((int64_t)t > now + TA_SIGN_WINDOW || (int64_t)t < now - TA_SIGN_WINDOW)
		return TA_ERR_EXPIRED;
	if ((r = ta_sign(key, keylen, (int64_t)t, nonce, method, path, body, bodylen, want)) !=
	    TA_OK)
		return r;
	/* Accept either case of hex by comparing lower-cased input. */
	char got[TA_SIG_HEX + 1];
	for (size_t i = 0; i <= TA_SIG_HEX; i++)
		got[i] = (char)(sig[i] >= 'A' && sig[i] <= 'F' ? sig[i] - 'A' + 'a' : sig[i]);
	r = ta_ct_eq(got, want, TA_SIG_HEX) ? TA_OK : TA_ERR_REJECTED;
	ta_wipe(want, sizeof(want));
	return r;
}

/*
 * Two generations of TA_SIGN_WINDOW * 2 seconds each: a nonce is looked up
 * in both and recorded in the current one, and when time moves past the
 * current generation the older one is dropped whole.  So every nonce is
 * remembered for at least 2 * TA_SIGN_WINDOW seconds (the span its
 * timestamp can be accepted in), nothing ever sweeps under load, and each
 * generation holds at most max entries.  Entries are 8-byte digests,
 * SipHash-2-4 under a per-cache random key, so nobody can choose nonces
 * that collide; a collision would only refuse a request, never accept one.
 */
#define GEN_SECONDS (2 * TA_SIGN_WINDOW)

struct generation {
	uint64_t *slots; /* 0 = empty */
	size_t used;
	int64_t period;
};

struct ta_nonce_cache {
	pthread_mutex_t lock;
	struct generation gen[2]; /* gen[cur] is the current one */
	int cur;
	size_t cap, max;
	uint8_t key[16];
};

ta_nonce_cache *ta_nonce_cache_new(size_t max_entries)
{
	ta_nonce_cache *c = calloc(1, sizeof(*c));

	if (c == NULL || max_entries == 0)
		goto fail;
	c->max = max_entries;
	c->cap = max_entries * 2 + 1;
	if ((c->gen[0].slots = calloc(c->cap, sizeof(uint64_t))) == NULL ||
	    (c->gen[1].slots = calloc(c->cap, sizeof(uint64_t))) == NULL ||
	    ta_random(c->key, sizeof(c->key)) != TA_OK)
		goto fail;
	c->gen[0].period = c->gen[1].period = -2;
	if (pthread_mutex_init(&c->lock, NULL) != 0)
		goto fail;
	return c;
fail:
	if (c != NULL) {
		free(c->gen[0].slots);
		free(c->gen[1].slots);
	}
	free(c);
	return NULL;
}

void ta_nonce_cache_free(ta_nonce_cache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->gen[0].slots);
	free(c->gen[1].slots);
	ta_wipe(c->key, sizeof(c->key));
	free(c);
}

static uint64_t digest(const ta_nonce_cache *c, const char *nonce)
{
	uint64_t h = ta_siphash(c->key, nonce, strlen(nonce));

	return h ? h : 1; /* 0 marks an empty slot */
}

/* Slot of d in g: where it is, or the empty slot where it would go. */
static size_t probe(const ta_nonce_cache *c, const struct generation *g, uint64_t d)
{
	size_t i = (size_t)(d % c->cap);

	while (g->slots[i] != 0 && g->slots[i] != d)
		i = (i + 1) % c->cap;
	return i;
}

/* Move the generations forward to the period of now. */
static void advance(ta_nonce_cache *c, int64_t now)
{
	int64_t period = now / GEN_SECONDS;
	struct generation *cur = &c->gen[c->cur], *old = &c->gen[1 - c->cur];

	if (period <= cur->period)
		return;
	/* the old one goes; the current one becomes old only if it is adjacent */
	memset(old->slots, 0, c->cap * sizeof(uint64_t));
	old->used = 0;
	old->period = period;
	if (period > cur->period + 1) {
		memset(cur->slots, 0, c->cap * sizeof(uint64_t));
		cur->used = 0;
		cur->period = period - 1;
	}
	c->cur = 1 - c->cur;
}

int ta_nonce_cache_add(ta_nonce_cache *c, const char *nonce, int64_t now)
{
	struct generation *cur, *old;
	size_t len = strlen(nonce), i;
	uint64_t d;
	int r = TA_OK;

	if (len == 0 || len > TA_NONCE_MAX || now < 0)
		return TA_ERR_INPUT;
	d = digest(c, nonce);
	pthread_mutex_lock(&c->lock);
	advance(c, now);
	cur = &c->gen[c->cur];
	old = &c->gen[1 - c->cur];
	i = probe(c, cur, d);
	if (cur->slots[i] == d || old->slots[probe(c, old, d)] == d) {
		r = TA_ERR_REPLAY;
	} else if (cur->used >= c->max) {
		r = TA_ERR_UNAVAILABLE; /* full of live nonces: refuse rather than forget */
	} else {
		cur->slots[i] = d;
		cur->used++;
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}
