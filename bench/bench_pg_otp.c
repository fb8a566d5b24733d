/*
 * bench_pg_otp.c - HOTP verify-and-commit per second through the core,
 * against the store a configuration file names (make bench-pg points it
 * at PostgreSQL).
 *
 * Usage: bench_pg_otp CONFIG THREADS USERS_PER_THREAD SECONDS [PREFIX]
 *
 * Enrols THREADS x USERS_PER_THREAD HOTP users named PREFIX<thread>_<n>
 * (default prefix "bpo"; none of them may exist), then each thread, with
 * its own context (so its own store connection), submits the next valid
 * code of its users in turn through ta_verify for SECONDS: every success
 * advances the counter with the store's conditional UPDATE, so every
 * code is fresh and is used once.  The users of two threads never overlap.
 *
 * Prints one line "verifications N successes N failures N seconds S
 * rate R" and exits 1 when any verification was not a success or the
 * setup failed.
 */
#include "admin.h"
#include "config.h"
#include "ctx_int.h"
#include "otp.h"
#include "store.h"
#include "verify.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS 256
#define MAX_USERS   4096 /* per thread */
#define SECRET_LEN  20

static const char *prefix = "bpo";

struct worker {
	const ta_config *cfg;
	unsigned id, users;
	double until;
	uint64_t *counter; /* the next counter of each user */
	unsigned long ok, failed;
	int setup_failed;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A distinct, reproducible secret per user: enrolment and threads agree. */
static void user_secret(unsigned t, unsigned u, uint8_t secret[SECRET_LEN])
{
	for (unsigned i = 0; i < SECRET_LEN; i++)
		secret[i] = (uint8_t)(t * 131u + u * 31u + i * 7u + 1u);
}

static void user_name(unsigned t, unsigned u, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s%u_%u", prefix, t, u);
}

static int enroll_all(const ta_config *cfg, unsigned threads, unsigned users)
{
	const struct ta_otp_params p = {TA_OTP_HOTP, TA_HASH_SHA1, 6, 0};
	uint8_t secret[SECRET_LEN], out[TA_OTP_MAX_SECRET];
	ta_ctx *ctx = NULL;
	ta_store *st = NULL;
	char user[32];
	size_t len = 0;
	int r;

	if ((r = ta_ctx_new(cfg, NULL, NULL, &ctx)) != TA_OK ||
	    (r = ta_ctx_store(ctx, &st)) != TA_OK || (r = ta_store_begin(st)) != TA_OK)
		goto out;
	for (unsigned t = 0; t < threads && r == TA_OK; t++)
		for (unsigned u = 0; u < users && r == TA_OK; u++) {
			user_name(t, u, user, sizeof(user));
			user_secret(t, u, secret);
			r = ta_otp_enroll(ctx, user, NULL, &p, secret, SECRET_LEN, 0, 0, out, &len);
		}
	if (r == TA_OK)
		r = ta_store_commit(st);
out:
	if (r != TA_OK)
		fprintf(stderr, "bench_pg_otp: enrolment failed: %s\n", ta_strerror(r));
	ta_ctx_free(ctx);
	return r;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	uint8_t secret[SECRET_LEN];
	ta_ctx *ctx = NULL;
	char user[32], code[16];
	uint32_t c = 0;
	unsigned u = 0;

	if (ta_ctx_new(w->cfg, NULL, NULL, &ctx) != TA_OK) {
		w->setup_failed = 1;
		return NULL;
	}
	while (now_s() < w->until) {
		struct ta_request req = {user, NULL, code, 6, "bench", NULL, 0};
		user_name(w->id, u, user, sizeof(user));
		user_secret(w->id, u, secret);
		ta_otp_code(secret, SECRET_LEN, TA_HASH_SHA1, 6, w->counter[u], &c);
		snprintf(code, sizeof(code), "%06u", c);
		if (ta_verify(ctx, &req, NULL) == TA_OK) {
			w->ok++;
			w->counter[u]++;
		} else {
			w->failed++;
		}
		u = (u + 1) % w->users;
	}
	ta_ctx_free(ctx);
	return NULL;
}

static int arg_uint(const char *s, unsigned long max, unsigned *out)
{
	char *end = NULL;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v == 0 || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int main(int argc, char **argv)
{
	static struct worker w[MAX_THREADS];
	static pthread_t tid[MAX_THREADS];
	unsigned threads = 0, users = 0, secs = 0, started = 0;
	unsigned long ok = 0, failed = 0;
	ta_config *cfg = ta_config_new();
	char err[512];
	double t0, el;
	int bad = 0;

	if (argc == 6)
		prefix = argv[5];
	if ((argc != 5 && argc != 6) || prefix[0] == '\0' || strlen(prefix) > 16 ||
	    arg_uint(argv[2], MAX_THREADS, &threads) != 0 ||
	    arg_uint(argv[3], MAX_USERS, &users) != 0 || arg_uint(argv[4], 3600, &secs) != 0) {
		fprintf(stderr,
		        "usage: bench_pg_otp CONFIG THREADS USERS_PER_THREAD SECONDS [PREFIX]\n");
		return 2;
	}
	if (cfg == NULL || ta_config_load(cfg, argv[1], 0, err, sizeof(err)) != TA_OK) {
		fprintf(stderr, "bench_pg_otp: %s\n", cfg ? err : "out of memory");
		return 1;
	}
	if (enroll_all(cfg, threads, users) != TA_OK)
		return 1;
	t0 = now_s();
	for (unsigned t = 0; t < threads; t++) {
		w[t] = (struct worker){.cfg = cfg,
		                       .id = t,
		                       .users = users,
		                       .until = t0 + secs,
		                       .counter = calloc(users, sizeof(uint64_t))};
		if (w[t].counter == NULL || pthread_create(&tid[t], NULL, work, &w[t]) != 0) {
			bad = 1;
			break;
		}
		started++;
	}
	for (unsigned t = 0; t < started; t++) {
		pthread_join(tid[t], NULL);
		ok += w[t].ok;
		failed += w[t].failed;
		bad |= w[t].setup_failed;
		free(w[t].counter);
	}
	el = now_s() - t0;
	printf("verifications %lu successes %lu failures %lu seconds %.2f rate %.0f\n", ok + failed,
	       ok, failed, el, (double)ok / el);
	ta_config_free(cfg);
	return bad || failed > 0 || ok == 0 ? 1 : 0;
}
