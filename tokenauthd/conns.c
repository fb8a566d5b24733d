/*
 * conns.c - the open connections of one listener: per-client caps and
 * total deadlines (slowloris).
 *
 * libmicrohttpd 0.9.75 has only an idle timeout, so a client sending one
 * header byte every few seconds would keep a slot for ever.  Every
 * connection is registered here when libmicrohttpd reports it started and
 * removed when it reports it closed; a sweeper thread (server.c) calls
 * td_conns_sweep() a few times a second, which shuts down (shutdown(2),
 * SHUT_RDWR) every connection past its deadline.  The owning worker then
 * sees the end of the stream and closes the connection itself: the sweeper
 * never touches libmicrohttpd state.  libmicrohttpd calls the "closed"
 * notification before it closes the descriptor, and the entry leaves the
 * list under the same mutex the sweeper holds while it calls shutdown, so
 * the sweeper never shuts down a descriptor that was closed and reused.
 *
 * The per-client counts live in a fixed table placed by SipHash-2-4 under
 * a random key (like limits.c); a full probe window refuses the newcomer.
 */
#include "tokenauthd.h"

#include "crypto.h"
#include "siphash.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define HDR_SECS       5.0  /* headers of the first request, from accept */
#define KEEPALIVE_SECS 10.0 /* headers of a later request, from the previous one's end */
#define BODY_SECS      10.0 /* the rest of the request, after the header window */
#define PRESSURE_SECS  1.0  /* header window while 3/4 of the slots are taken */
#define PROBE          16

struct count {
	char key[64];
	unsigned n;
};

struct td_conns {
	pthread_mutex_t lock;
	size_t limit, per_client, open;
	size_t nslots;
	uint8_t key[TA_SIPHASH_KEY_LEN];
	struct count *counts;
	struct td_track *head;
};

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

td_conns *td_conns_new(size_t limit, size_t per_client)
{
	td_conns *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->limit = limit;
	t->per_client = per_client;
	t->nslots = 2 * limit + PROBE;
	if ((t->counts = calloc(t->nslots, sizeof(*t->counts))) == NULL ||
	    ta_siphash_key(t->key) != TA_OK || pthread_mutex_init(&t->lock, NULL) != 0) {
		free(t->counts);
		ta_wipe(t->key, sizeof(t->key));
		free(t);
		return NULL;
	}
	return t;
}

void td_conns_free(td_conns *t)
{
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->lock);
	ta_wipe(t->key, sizeof(t->key));
	free(t->counts);
	free(t);
}

/*
 * The client's count, or a free one for it; NULL when the window is full.
 * Lookups scan the whole window, so freed entries (n == 0) need no tombstone.
 */
static struct count *count_for(td_conns *t, const char *key)
{
	size_t i = (size_t)(ta_siphash(t->key, key, strlen(key)) % t->nslots);
	struct count *freec = NULL;

	for (size_t k = 0; k < PROBE; k++) {
		struct count *c = &t->counts[(i + k) % t->nslots];
		if (c->n > 0 && strcmp(c->key, key) == 0)
			return c;
		if (c->n == 0 && freec == NULL)
			freec = c;
	}
	if (freec != NULL)
		snprintf(freec->key, sizeof(freec->key), "%s", key);
	return freec;
}

int td_conns_add(td_conns *t, struct td_track *tr)
{
	struct count *c;
	int r = 0;

	tr->start = mono_now();
	tr->hdr_for = HDR_SECS;
	tr->in_request = 0;
	tr->killed = 0;
	tr->counted = 0;
	pthread_mutex_lock(&t->lock);
	tr->prev = NULL;
	tr->next = t->head;
	if (t->head != NULL)
		t->head->prev = tr;
	t->head = tr;
	t->open++;
	c = count_for(t, tr->client);
	if (c == NULL || c->n >= t->per_client) {
		r = -1;
		tr->killed = 1; /* the caller shuts it down */
	} else {
		c->n++;
		tr->counted = 1;
	}
	pthread_mutex_unlock(&t->lock);
	return r;
}

void td_conns_del(td_conns *t, struct td_track *tr)
{
	struct count *c;

	pthread_mutex_lock(&t->lock);
	if (tr->prev != NULL)
		tr->prev->next = tr->next;
	else
		t->head = tr->next;
	if (tr->next != NULL)
		tr->next->prev = tr->prev;
	tr->prev = tr->next = NULL;
	t->open--;
	if (tr->counted && (c = count_for(t, tr->client)) != NULL && c->n > 0)
		c->n--;
	tr->counted = 0;
	pthread_mutex_unlock(&t->lock);
}

void td_conns_request(td_conns *t, struct td_track *tr)
{
	pthread_mutex_lock(&t->lock);
	tr->in_request = 1;
	pthread_mutex_unlock(&t->lock);
}

void td_conns_idle(td_conns *t, struct td_track *tr)
{
	double now = mono_now();

	pthread_mutex_lock(&t->lock);
	tr->in_request = 0;
	tr->start = now;
	tr->hdr_for = KEEPALIVE_SECS;
	pthread_mutex_unlock(&t->lock);
}

static int overdue(const struct td_track *tr, double now, int pressure)
{
	double hdr = pressure && tr->hdr_for > PRESSURE_SECS ? PRESSURE_SECS : tr->hdr_for;

	if (!tr->in_request)
		return now - tr->start > hdr;
	return now - tr->start > tr->hdr_for + BODY_SECS;
}

size_t td_conns_sweep(td_conns *t)
{
	double now = mono_now();
	size_t n = 0;
	int pressure;

	pthread_mutex_lock(&t->lock);
	pressure = t->open >= t->limit / 4 * 3;
	for (struct td_track *tr = t->head; tr != NULL; tr = tr->next) {
		if (tr->killed || tr->fd < 0 || !overdue(tr, now, pressure))
			continue;
		/* the descriptor is still open: it leaves the list before it is closed */
		shutdown(tr->fd, SHUT_RDWR);
		tr->killed = 1;
		n++;
	}
	pthread_mutex_unlock(&t->lock);
	return n;
}
