/*
 * bench.c - verifications per second through the core, one process.
 *
 * Tokens: 1,000 / 100,000 / 1,000,000 stored tokens, verifying a sample of
 * 1,000 known tokens round-robin.  OTP: 1,000 / 100,000 TOTP users, each
 * verified once at a pinned time (decrypt + HMACs + counter commit).
 * Figures are printed with the ratio to the smallest size, measured in the
 * same run.
 */
#include "admin.h"
#include "config.h"
#include "ctx_int.h"
#include "otp.h"
#include "store.h"
#include "token.h"
#include "verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SAMPLE   1000
#define PIN_TIME 1800000000

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench: %s failed\n", what);
	exit(1);
}

struct world {
	char dir[64], conf[128];
	ta_config *cfg;
	ta_ctx *ctx;
};

static void world_new(struct world *w)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	char err[256], path[160];
	unsigned created;

	snprintf(w->dir, sizeof(w->dir), "%s/ta-bench-XXXXXX", base);
	if (mkdtemp(w->dir) == NULL)
		die("mkdtemp");
	w->cfg = ta_config_new();
	snprintf(path, sizeof(path), "%s/db/tokenauth.db", w->dir);
	ta_config_set(w->cfg, "store", path, err, sizeof(err));
	snprintf(path, sizeof(path), "%s/master.key", w->dir);
	ta_config_set(w->cfg, "key_file", path, err, sizeof(err));
	ta_config_set(w->cfg, "max_failures", "0", err, sizeof(err));
	if (ta_ctx_new(w->cfg, NULL, NULL, &w->ctx) != TA_OK ||
	    ta_admin_init(w->ctx, &created) != TA_OK)
		die("init");
}

static void world_free(struct world *w)
{
	char cmd[128];
	ta_ctx_free(w->ctx);
	ta_config_free(w->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: cannot remove %s\n", w->dir);
}

/* n filler rows with random hashes plus SAMPLE real tokens kept in tokens[]. */
static void fill_tokens(struct world *w, unsigned long n, char (*tokens)[TA_TOKEN_LEN + 1])
{
	struct ta_token_row row;
	uint8_t hash[TA_SHA256_LEN];
	ta_store *st;

	if (ta_ctx_store(w->ctx, &st) != TA_OK || ta_store_begin(st) != TA_OK)
		die("store");
	memset(&row, 0, sizeof(row));
	row.kind = TA_TOKEN_KIND_ISSUED;
	row.created = time(NULL);
	for (unsigned long i = 0; i < n; i++) {
		int real = i < SAMPLE;
		snprintf(row.user, sizeof(row.user), "user%lu", i);
		if (real) {
			ta_token_generate(tokens[i]);
			ta_token_hash(tokens[i], TA_TOKEN_LEN, hash);
		} else {
			ta_random(hash, sizeof(hash));
		}
		ta_token_new_id(row.id);
		if (ta_store_token_insert(st, hash, &row) != TA_OK)
			die("insert");
	}
	if (ta_store_commit(st) != TA_OK)
		die("commit");
}

static double bench_tokens(unsigned long n)
{
	static char tokens[SAMPLE][TA_TOKEN_LEN + 1];
	struct world w;
	char user[32];
	unsigned long ops = 0;
	double t0, el;

	world_new(&w);
	fill_tokens(&w, n, tokens);
	t0 = now_s();
	do {
		for (int i = 0; i < 1000; i++, ops++) {
			unsigned long k = ops % SAMPLE;
			struct ta_request req = {user,         NULL,    tokens[k],
			                         TA_TOKEN_LEN, "bench", NULL, 0};
			snprintf(user, sizeof(user), "user%lu", k);
			if (ta_verify(w.ctx, &req, NULL) != TA_OK)
				die("token verify");
		}
		el = now_s() - t0;
	} while (el < 2.0);
	world_free(&w);
	return (double)ops / el;
}

static double bench_otp(unsigned long n)
{
	struct ta_otp_params p = {TA_OTP_TOTP, TA_HASH_SHA1, 6, 30};
	const uint8_t secret[] = "12345678901234567890";
	uint8_t out[TA_OTP_MAX_SECRET];
	struct world w;
	ta_store *st;
	char user[32], code[16];
	uint32_t c = 0;
	size_t len;
	unsigned long ops = 0, limit = n < 20000 ? n : 20000;
	double t0, el;

	world_new(&w);
	ta_ctx_set_time(w.ctx, PIN_TIME);
	if (ta_ctx_store(w.ctx, &st) != TA_OK || ta_store_begin(st) != TA_OK)
		die("store");
	for (unsigned long i = 0; i < n; i++) {
		snprintf(user, sizeof(user), "user%lu", i);
		if (ta_otp_enroll(w.ctx, user, NULL, &p, secret, 20, 0, 0, out, &len) != TA_OK)
			die("enroll");
	}
	if (ta_store_commit(st) != TA_OK)
		die("commit");
	ta_otp_code(secret, 20, TA_HASH_SHA1, 6, PIN_TIME / 30, &c);
	snprintf(code, sizeof(code), "%06u", c);
	t0 = now_s();
	for (; ops < limit; ops++) {
		struct ta_request req = {user, NULL, code, 6, "bench", NULL, 0};
		snprintf(user, sizeof(user), "user%lu", ops * 7919 % n); /* spread over the store */
		if (ta_verify(w.ctx, &req, NULL) != TA_OK)
			die("otp verify");
		if (now_s() - t0 > 10.0)
			break;
	}
	el = now_s() - t0;
	world_free(&w);
	return (double)ops / el;
}

int main(void)
{
	static const unsigned long tsizes[] = {1000, 100000, 1000000};
	static const unsigned long osizes[] = {1000, 100000};
	double base = 0, r;

	printf("%-34s %14s %10s\n", "benchmark (one process, one core)", "verify/s", "vs first");
	for (size_t i = 0; i < 3; i++) {
		r = bench_tokens(tsizes[i]);
		if (i == 0)
			base = r;
		printf("token verify, %9lu tokens     %14.0f %9.2fx\n", tsizes[i], r, r / base);
		fflush(stdout);
	}
	for (size_t i = 0; i < 2; i++) {
		r = bench_otp(osizes[i]);
		if (i == 0)
			base = r;
		printf("TOTP verify+commit, %7lu users %14.0f %9.2fx\n", osizes[i], r, r / base);
		fflush(stdout);
	}
	printf("targets: token >= 20000/s at 1,000,000 and within 2x of 1,000; TOTP >= 2000/s at "
	       "100,000\n");
	return 0;
}
