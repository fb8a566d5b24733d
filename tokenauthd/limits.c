/*
 * limits.c - per-client request rate (token bucket) and lockout after
 * repeated authentication failures (wrong API key, signature or cenToken),
 * with the rules of SPEC §2: max_failures in a row lock the client for
 * lockout seconds, doubling on repeat, capped at a day.
 *
 * A client is "uid:N" on a Unix socket or the IP address on TCP.  The table
 * is fixed in size; when a probe run is full the least recently seen entry
 * is reused, so memory stays bounded whatever clients do.
 */
#include "tokenauthd.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS       4096
#define PROBE       8
#define LOCKOUT_CAP 86400

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
	struct slot slots[SLOTS];
};

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

td_limits *td_limits_new(void)
{
	td_limits *l = calloc(1, sizeof(*l));

	if (l != NULL && pthread_mutex_init(&l->lock, NULL) != 0) {
		free(l);
		l = NULL;
	}
	return l;
}

void td_limits_free(td_limits *l)
{
	if (l == NULL)
		return;
	pthread_mutex_destroy(&l->lock);
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

static size_t hash_of(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ULL;
	return (size_t)(h % SLOTS);
}

/*
 * Find or (re)claim the client's slot; called with the lock held.  A slot
 * under lockout is never reclaimed (new names must not wash a lockout
 * away); NULL when every slot in reach is locked.
 */
static struct slot *slot_for(td_limits *l, const char *key, double now)
{
	size_t i = hash_of(key), victim = SLOTS;
	struct slot *s;

	for (size_t k = 0; k < PROBE; k++) {
		size_t at = (i + k) % SLOTS;
		s = &l->slots[at];
		if (strcmp(s->key, key) == 0)
			return s;
		if (s->key[0] == '\0') {
			victim = at;
			break;
		}
		if (s->locked_until <= now && (victim == SLOTS || s->last < l->slots[victim].last))
			victim = at;
	}
	if (victim == SLOTS)
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
	double now = mono_now();
	struct slot *s;
	int r = TD_LIMIT_OK;

	*retry = 0;
	pthread_mutex_lock(&l->lock);
	s = slot_for(l, client, now);
	if (s == NULL) {
		*retry = 1; /* every slot in reach is locked out: come back later */
		r = TD_LIMIT_RATE;
	} else if (s->locked_until > now) {
		*retry = (unsigned)(s->locked_until - now) + 1;
		r = TD_LIMIT_LOCKED;
	} else if (l->rate > 0) {
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
	s->last = now;
	pthread_mutex_unlock(&l->lock);
	return r;
}

void td_limits_fail(td_limits *l, const char *client)
{
	double now = mono_now(), locked_for = 0;
	struct slot *s;

	pthread_mutex_lock(&l->lock);
	s = slot_for(l, client, now);
	if (s != NULL && l->max_failures > 0 && ++s->failures >= l->max_failures) {
		unsigned shift = s->lockouts < 16 ? s->lockouts : 16;
		unsigned long long secs = (unsigned long long)l->lockout << shift;
		s->locked_until = now + (double)(secs < LOCKOUT_CAP ? secs : LOCKOUT_CAP);
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
	double now = mono_now();
	struct slot *s;

	pthread_mutex_lock(&l->lock);
	if ((s = slot_for(l, client, now)) != NULL) {
		s->failures = 0;
		s->lockouts = 0;
	}
	pthread_mutex_unlock(&l->lock);
}
