/*
 * metrics.c - Prometheus text metrics: requests by endpoint and status,
 * results by outcome, and a latency histogram.  Counters are atomics so
 * worker threads never wait on each other to count.
 */
#include "tokenauthd.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned statuses[] = {200, 400, 401, 403, 404, 405, 409, 413, 415, 429, 500, 503};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]))

static const char *const outcomes[] = {
    "success",   "invalid",      "expired",   "revoked",   "locked", "bad_request", "unauthorized",
    "forbidden", "rate_limited", "too_large", "not_found", "exists", "unavailable", "error"};
#define NOUTCOME (sizeof(outcomes) / sizeof(outcomes[0]))

static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                 0.05,   0.1,   0.25,   0.5,   1,    2.5};
#define NBUCKET (sizeof(buckets) / sizeof(buckets[0]))

/* Process-wide by nature: one set of counters for the daemon's lifetime. */
static struct {
	atomic_ullong requests[TD_EP_COUNT][NSTATUS + 1]; /* last: any other status */
	atomic_ullong results[TD_EP_COUNT][NOUTCOME];
	atomic_ullong hist[NBUCKET + 1];
	atomic_ullong count, sum_us;
} m;

static const char *const ep_names[TD_EP_COUNT] = {"validate", "generate", "verify",  "introspect",
                                                  "register", "healthz",  "metrics", "portal",
                                                  "other"};

/* The portal's actions, counted by outcome (td_metrics_portal). */
static const char *const portal_actions[] = {"login",      "logout",     "create", "revoke",
                                             "totp_enrol", "totp_remove", "page"};
#define NACTION (sizeof(portal_actions) / sizeof(portal_actions[0]))
static atomic_ullong portal_counts[NACTION][NOUTCOME];

void td_metrics_portal(const char *action, const char *outcome)
{
	size_t ai = NACTION, oi = NOUTCOME - 1;

	for (size_t i = 0; action != NULL && i < NACTION; i++)
		if (strcmp(portal_actions[i], action) == 0)
			ai = i;
	for (size_t i = 0; outcome != NULL && i < NOUTCOME; i++)
		if (strcmp(outcomes[i], outcome) == 0)
			oi = i;
	if (ai < NACTION)
		atomic_fetch_add_explicit(&portal_counts[ai][oi], 1, memory_order_relaxed);
}

const char *td_endpoint_name(enum td_endpoint ep)
{
	return ep < TD_EP_COUNT ? ep_names[ep] : "other";
}

void td_metrics_record(enum td_endpoint ep, unsigned status, const char *outcome, double seconds)
{
	size_t si = NSTATUS, oi = NOUTCOME - 1, bi = NBUCKET;

	if (ep >= TD_EP_COUNT)
		ep = TD_EP_OTHER;
	for (size_t i = 0; i < NSTATUS; i++)
		if (statuses[i] == status)
			si = i;
	for (size_t i = 0; outcome != NULL && i < NOUTCOME; i++)
		if (strcmp(outcomes[i], outcome) == 0)
			oi = i;
	for (size_t i = 0; i < NBUCKET; i++)
		if (seconds <= buckets[i]) {
			bi = i;
			break;
		}
	atomic_fetch_add_explicit(&m.requests[ep][si], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m.results[ep][oi], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m.hist[bi], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m.count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m.sum_us, (unsigned long long)(seconds * 1e6),
	                          memory_order_relaxed);
}

struct out {
	char *buf;
	size_t len, cap;
	int failed;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->failed = 1;
	else
		o->len += (size_t)n;
}

static void render_requests(struct out *o)
{
	put(o, "# HELP tokenauthd_requests_total HTTP requests by endpoint and status.\n"
	       "# TYPE tokenauthd_requests_total counter\n");
	for (size_t e = 0; e < TD_EP_COUNT; e++)
		for (size_t s = 0; s <= NSTATUS; s++) {
			unsigned long long v = atomic_load(&m.requests[e][s]);
			if (v == 0)
				continue;
			if (s < NSTATUS)
				put(o,
				    "tokenauthd_requests_total{endpoint=\"%s\",status=\"%u\"} "
				    "%llu\n",
				    ep_names[e], statuses[s], v);
			else
				put(o,
				    "tokenauthd_requests_total{endpoint=\"%s\",status=\"other\"} "
				    "%llu\n",
				    ep_names[e], v);
		}
}

static void render_results(struct out *o)
{
	put(o, "# HELP tokenauthd_results_total Answers by endpoint and outcome.\n"
	       "# TYPE tokenauthd_results_total counter\n");
	for (size_t e = 0; e < TD_EP_COUNT; e++)
		for (size_t i = 0; i < NOUTCOME; i++) {
			unsigned long long v = atomic_load(&m.results[e][i]);
			if (v != 0)
				put(o,
				    "tokenauthd_results_total{endpoint=\"%s\",outcome=\"%s\"} "
				    "%llu\n",
				    ep_names[e], outcomes[i], v);
		}
}

static void render_portal(struct out *o)
{
	put(o, "# HELP tokenauthd_portal_actions_total Portal actions by outcome.\n"
	       "# TYPE tokenauthd_portal_actions_total counter\n");
	for (size_t a = 0; a < NACTION; a++)
		for (size_t i = 0; i < NOUTCOME; i++) {
			unsigned long long v = atomic_load(&portal_counts[a][i]);
			if (v != 0)
				put(o, "tokenauthd_portal_actions_total{action=\"%s\",outcome=\"%s\"} %llu\n",
				    portal_actions[a], outcomes[i], v);
		}
}

static void render_histogram(struct out *o)
{
	unsigned long long cum = 0;

	put(o, "# HELP tokenauthd_request_duration_seconds Time from request to answer.\n"
	       "# TYPE tokenauthd_request_duration_seconds histogram\n");
	for (size_t i = 0; i < NBUCKET; i++) {
		cum += atomic_load(&m.hist[i]);
		put(o, "tokenauthd_request_duration_seconds_bucket{le=\"%g\"} %llu\n", buckets[i],
		    cum);
	}
	cum += atomic_load(&m.hist[NBUCKET]);
	put(o, "tokenauthd_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", cum);
	put(o, "tokenauthd_request_duration_seconds_sum %.6f\n",
	    (double)atomic_load(&m.sum_us) / 1e6);
	put(o, "tokenauthd_request_duration_seconds_count %llu\n", atomic_load(&m.count));
}

char *td_metrics_render(void)
{
	struct out o = {NULL, 0, 64 * 1024, 0};

	if ((o.buf = malloc(o.cap)) == NULL)
		return NULL;
	o.buf[0] = '\0';
	render_requests(&o);
	render_results(&o);
	render_portal(&o);
	render_histogram(&o);
	if (o.failed) {
		free(o.buf);
		return NULL;
	}
	return o.buf;
}
