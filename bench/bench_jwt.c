/*
 * bench_jwt.c - JWT validations per second through ta_verify (warm key
 * cache: the jwks_file is read once per context), RS256 and ES256, beside
 * the local token check as the anchor, all in the same run, one process.
 *
 *   bench_jwt DIR   DIR holds jwks.json, rs256.tok and es256.tok (bench/jwt.sh
 *                   makes them with PyJWT)
 */
#include "admin.h"
#include "config.h"
#include "token.h"
#include "verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SECONDS 2.0

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_jwt: %s failed\n", what);
	exit(1);
}

static void set(ta_config *cfg, const char *k, const char *v)
{
	char err[256];
	if (ta_config_set(cfg, k, v, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_jwt: %s\n", err);
		exit(1);
	}
}

static char *slurp(const char *dir, const char *name)
{
	char path[512], *buf = malloc(16384);
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (buf == NULL || (f = fopen(path, "r")) == NULL)
		die(path);
	n = fread(buf, 1, 16383, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	return buf;
}

/* ta_verify of cred for SECONDS; verifications per second. */
static double rate(ta_ctx *ctx, const char *cred)
{
	struct ta_request req = {"alice", "acme", cred, strlen(cred), "bench", NULL, 0};
	unsigned long ops = 0;
	double t0 = now_s(), t;

	do {
		for (int i = 0; i < 50; i++, ops++)
			if (ta_verify(ctx, &req, NULL) != 0)
				die("a verification");
	} while ((t = now_s() - t0) < SECONDS);
	return (double)ops / t;
}

int main(int argc, char **argv)
{
	char path[512], token[TA_TOKEN_LEN + 1], id[32];
	ta_config *cfg = ta_config_new();
	ta_ctx *ctx = NULL;
	int64_t exp = 0;
	unsigned created = 0;
	double local, rs, es;
	char *rs_tok, *es_tok;

	if (argc != 2 || cfg == NULL)
		die("usage: bench_jwt DIR");
	rs_tok = slurp(argv[1], "rs256.tok");
	es_tok = slurp(argv[1], "es256.tok");
	snprintf(path, sizeof(path), "%s/db/tokenauth.db", argv[1]);
	set(cfg, "store", path);
	snprintf(path, sizeof(path), "%s/master.key", argv[1]);
	set(cfg, "key_file", path);
	set(cfg, "max_failures", "0");
	set(cfg, "tenant", "acme");
	/* jwt first: a tka_ token is "not a JWT" there and falls to local */
	set(cfg, "verify", "jwt,local");
	set(cfg, "jwt_issuer", "https://idp.example/realms/acme");
	set(cfg, "jwt_audience", "tokenauth");
	snprintf(path, sizeof(path), "%s/jwks.json", argv[1]);
	set(cfg, "jwks_file", path);
	if (ta_ctx_new(cfg, NULL, NULL, &ctx) != 0 || ta_admin_init(ctx, &created) != 0 ||
	    ta_token_issue(ctx, "alice", "acme", 0, NULL, token, id, &exp) != 0)
		die("issuing the anchor token");
	local = rate(ctx, token);
	rs = rate(ctx, rs_tok);
	es = rate(ctx, es_tok);
	printf("%-44s %12s %10s\n", "benchmark (one process, warm key cache)", "verify/s",
	       "vs local");
	printf("%-44s %12.0f %9.2fx\n", "local token (anchor, same run)", local, 1.0);
	printf("%-44s %12.0f %9.2fx\n", "JWT RS256 (2048-bit, cjose)", rs, rs / local);
	printf("%-44s %12.0f %9.2fx\n", "JWT ES256 (P-256, cjose)", es, es / local);
	ta_ctx_free(ctx);
	ta_config_free(cfg);
	free(rs_tok);
	free(es_tok);
	return 0;
}
