/*
 * stress.c - multi-process helpers for tests/cli/concurrency.sh.
 *
 *   stress CONFIG setup PREFIX N          enrol PREFIX0..N-1 with one HOTP secret
 *   stress CONFIG once USER CODE GATE     wait for file GATE, verify once (exit 0/1)
 *   stress CONFIG many PREFIX FROM N GATE for users FROM..FROM+N-1: a wrong code,
 *                                          then the right one; count any failure
 *   stress CONFIG guess USER N GATE       N wrong codes for USER; print how many
 *                                          were checked (not refused as locked)
 */
#include "admin.h"
#include "config.h"
#include "otp.h"
#include "verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char secret[] = "12345678901234567890";

static void log_err(void *arg, int level, const char *msg)
{
	(void)arg;
	if (level <= TA_LOG_WARNING)
		fprintf(stderr, "stress[%d]: %s\n", (int)getpid(), msg);
}

static void wait_gate(const char *gate)
{
	struct timespec ts = {0, 200000};
	while (access(gate, F_OK) != 0)
		nanosleep(&ts, NULL);
}

static int verify(ta_ctx *ctx, const char *user, const char *code)
{
	struct ta_request req = {user, NULL, code, strlen(code), "stress", NULL, 0};
	return ta_verify(ctx, &req, NULL);
}

static unsigned long num(const char *s)
{
	unsigned long long v = 0;
	if (ta_parse_uint(s, 0, 100000000, &v) != TA_OK) {
		fprintf(stderr, "stress: bad number '%s'\n", s);
		exit(2);
	}
	return (unsigned long)v;
}

static int setup(ta_ctx *ctx, const char *prefix, unsigned long n)
{
	struct ta_otp_params p = {TA_OTP_HOTP, TA_HASH_SHA1, 6, 0};
	uint8_t out[TA_OTP_MAX_SECRET];
	size_t len;
	char user[64];

	for (unsigned long i = 0; i < n; i++) {
		snprintf(user, sizeof(user), "%s%lu", prefix, i);
		if (ta_otp_enroll(ctx, user, NULL, &p, (const uint8_t *)secret, 20, 0, 0, out,
		                  &len) != TA_OK)
			return 1;
	}
	return 0;
}

static int many(ta_ctx *ctx, const char *prefix, unsigned long from, unsigned long n)
{
	unsigned long bad = 0;
	char user[64];

	for (unsigned long i = from; i < from + n; i++) {
		int r1, r2;
		snprintf(user, sizeof(user), "%s%lu", prefix, i);
		r1 = verify(ctx, user, "000000"); /* counter 0 is 755224: wrong */
		r2 = verify(ctx, user, "755224");
		if (r1 != TA_ERR_REJECTED || r2 != TA_OK) {
			fprintf(stderr, "stress: %s: wrong code gave '%s', right code gave '%s'\n",
			        user, ta_strerror(r1), ta_strerror(r2));
			bad++;
		}
	}
	printf("%lu\n", bad);
	return bad ? 1 : 0;
}

/* Parallel guessers together must get exactly max_failures checks. */
static int guess(ta_ctx *ctx, const char *user, unsigned long n)
{
	unsigned long checked = 0;

	for (unsigned long i = 0; i < n; i++) {
		int r = verify(ctx, user, "000000"); /* no counter near 0 gives it */
		if (r == TA_ERR_REJECTED)
			checked++;
		else if (r != TA_ERR_LOCKED) {
			fprintf(stderr, "stress: %s: a wrong code gave '%s'\n", user, ta_strerror(r));
			return 1;
		}
	}
	printf("%lu\n", checked);
	return 0;
}

int main(int argc, char **argv)
{
	ta_config *cfg = ta_config_new();
	ta_ctx *ctx = NULL;
	char err[512];
	int rc = 2;

	if (argc < 3 || cfg == NULL || ta_config_load(cfg, argv[1], 0, err, sizeof(err)) != TA_OK ||
	    ta_ctx_new(cfg, log_err, NULL, &ctx) != TA_OK) {
		fprintf(stderr, "stress: bad arguments or config\n");
		return 2;
	}
	if (strcmp(argv[2], "setup") == 0 && argc == 5)
		rc = setup(ctx, argv[3], num(argv[4]));
	else if (strcmp(argv[2], "once") == 0 && argc == 6) {
		wait_gate(argv[5]);
		rc = verify(ctx, argv[3], argv[4]) == TA_OK ? 0 : 1;
	} else if (strcmp(argv[2], "many") == 0 && argc == 7) {
		wait_gate(argv[6]);
		rc = many(ctx, argv[3], num(argv[4]), num(argv[5]));
	} else if (strcmp(argv[2], "guess") == 0 && argc == 6) {
		wait_gate(argv[5]);
		rc = guess(ctx, argv[3], num(argv[4]));
	}
	ta_ctx_free(ctx);
	ta_config_free(cfg);
	return rc;
}
