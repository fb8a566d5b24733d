/*
 * limits.c - per-client request rate (token bucket) and lockout after
 * repeated authentication failures (wrong API key, signature or cenToken),
 * with the rules of SPEC §2: max_failures in a row lock the client for
 * lockout seconds, doubling on repeat, capped at a day.
 *
 * A client is "uid:N" on a Unix socket, the IPv4 address or the IPv6 /64
 * on TCP (server.c).  The table is fixed in size and open-addressed with a
 * probe window; the slot index is SipHash-2-4 of the client key under a
 * random key made for this table, so nobody outside the process can choose
 * clients that share a window.  When a window is full the least recently
 * seen unlocked entry is reused, so memory stays bounded whatever clients
 * do; a locked entry is never reused, and a window full of locked entries
 * refuses the newcomer (TD_LIMIT_RATE with a retry time), never crashes
 * and never lets a lockout be washed away.
 */
#include "tokenauthd.h"

#include "crypto.h"
#include "siphash.h"
#include "verify.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS       4096
#define PROBE       8
#define MAX_SLOTS   (1u << 24)

struct slot {
	char key[64];
	double tokens;
	double last; /* monotonic seconds of the last request */
	unsigned failures, lockouts;
	double locked_until;
};

struct td_limits {
	pthread_mutex_t lock;
	double rate, burst;
	unsigned max_failures;
	unsigned long lockout;
	size_t nslots, probe;
	uint8_t key[TA_SIPHASH_KEY_LEN];
	struct slot *slots;
};

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

td_limits *td_limits_new_sized(size_t slots, size_t probe)
{
	td_limits *l = NULL;

	if (slots == 0 || slots > MAX_SLOTS || probe == 0 || probe > slots)
		return NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->nslots = slots;
	l->probe = probe;
	if ((l->slots = calloc(slots, sizeof(*l->slots))) == NULL ||
	    ta_siphash_key(l->key) != TA_OK || pthread_mutex_init(&l->lock, NULL) != 0) {
		free(l->slots);
		ta_wipe(l->key, sizeof(l->key));
		free(l);
		return NULL;
	}
	return l;
}

td_limits *td_limits_new(void)
{
	return td_limits_new_sized(SLOTS, PROBE);
}

void td_limits_free(td_limits *l)
{
	if (l == NULL)
		return;
	pthread_mutex_destroy(&l->lock);
	ta_wipe(l->key, sizeof(l->key));
	free(l->slots);
	free(l);
}

void td_limits_configure(td_limits *l, double rate, unsigned max_failures, unsigned long lockout)
{
	pthread_mutex_lock(&l->lock);
	l->rate = rate;
	l->burst = rate * 2 > 1 ? rate * 2 : 1;
	l->max_failures = max_failures;
	l->lockout = lockout;
	pthread_mutex_unlock(&l->lock);
}

static size_t hash_of(const td_limits *l, const char *s)
{
	return (size_t)(ta_siphash(l->key, s, strlen(s)) % l->nslots);
}

/*
 * Find or (re)claim the client's slot; called with the lock held.  A slot
 * under lockout is never reclaimed (new names must not wash a lockout
 * away); NULL when every slot in reach is locked, with *wait set to the
 * seconds until the first of them unlocks.
 */
static struct slot *slot_for(td_limits *l, const char *key, double now, double *wait)
{
	size_t i = hash_of(l, key), victim = l->nslots;
	struct slot *s;

	*wait = TA_LOCKOUT_CAP;
	for (size_t k = 0; k < l->probe; k++) {
		size_t at = (i + k) % l->nslots;
		s = &l->slots[at];
		if (strcmp(s->key, key) == 0)
			return s;
		if (s->key[0] == '\0') {
			victim = at;
			break;
		}
		if (s->locked_until > now) {
			if (s->locked_until - now < *wait)
				*wait = s->locked_until - now;
			continue;
		}
		if (victim == l->nslots || s->last < l->slots[victim].last)
			victim = at;
	}
	if (victim == l->nslots)
		return NULL;
	s = &l->slots[victim];
	memset(s, 0, sizeof(*s));
	snprintf(s->key, sizeof(s->key), "%s", key);
	s->tokens = l->burst;
	s->last = now;
	return s;
}

int td_limits_take(td_limits *l, const char *client, unsigned *retry)
{
	double now = mono_now(), wait = 0;
	struct slot *s;
	int r = TD_LIMIT_OK;

	*retry = 0;
	pthread_mutex_lock(&l->lock);
	s = slot_for(l, client, now, &wait);
	if (s == NULL) {
		/* every slot in reach is locked out: refuse until one frees */
		*retry = (unsigned)wait + 1;
		pthread_mutex_unlock(&l->lock);
		return TD_LIMIT_RATE;
	}
	/* a locked client still spends tokens: a valid credential lifts the lock, not the rate */
	if (l->rate > 0) {
		s->tokens += (now - s->last) * l->rate;
		if (s->tokens > l->burst)
			s->tokens = l->burst;
		if (s->tokens < 1) {
			*retry = (unsigned)((1 - s->tokens) / l->rate) + 1;
			r = TD_LIMIT_RATE;
		} else {
			s->tokens -= 1;
		}
	}
	if (s->locked_until > now) {
		*retry = (unsigned)(s->locked_until - now) + 1;
		r = r == TD_LIMIT_RATE ? TD_LIMIT_LOCKED_RATE : TD_LIMIT_LOCKED;
	}
	s->last = now;
	pthread_mutex_unlock(&l->lock);
	return r;
}

void td_limits_fail(td_limits *l, const char *client)
{
	double now = mono_now(), locked_for = 0, wait = 0;
	struct slot *s;

	pthread_mutex_lock(&l->lock);
	/* NULL: no room to count it, but td_limits_take refuses this client too */
	s = slot_for(l, client, now, &wait);
	if (s != NULL && l->max_failures > 0 && ++s->failures >= l->max_failures) {
		double until = now + (double)ta_lockout_secs(l->lockout, s->lockouts);
		/* failures while locked count too, and never shorten the lock */
		if (until > s->locked_until)
			s->locked_until = until;
		s->lockouts++;
		s->failures = 0;
		locked_for = s->locked_until - now;
	}
	pthread_mutex_unlock(&l->lock);
	/* log outside the lock: a slow syslog must not stall every worker */
	if (locked_for > 0)
		td_log(TA_LOG_WARNING,
		       "client %s locked for %.0f s after %u authentication failures", client,
		       locked_for, l->max_failures);
}

void td_limits_ok(td_limits *l, const char *client)
{
	double now = mono_now(), wait = 0;
	struct slot *s;

	pthread_mutex_lock(&l->lock);
	/* a running lock (another process at this address guessing) keeps its count */
	if ((s = slot_for(l, client, now, &wait)) != NULL && s->locked_until <= now) {
		s->failures = 0;
		s->lockouts = 0;
	}
	pthread_mutex_unlock(&l->lock);
}
