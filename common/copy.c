/*
 * copy.c - copying a whole store into another, across engines
 * (tokenauth store copy): one read snapshot of the source, one write
 * transaction on the destination, rows exactly as stored.
 *
 * Token rows carry their label and coarse last use (schema 4) through
 * ta_store_token_dump/_put.  Portal sessions are skipped on purpose: a
 * session is a login on the old store, and a copy is a move to another
 * one; its users log in again (README, "Self-service portal").
 */
#include "admin.h"
#include "ctx_int.h"

#include <stdio.h>
#include <string.h>

/* Where a row of the copy failed, for the one message that names it. */
enum side { SIDE_NONE, SIDE_SRC, SIDE_DST };

struct copy {
	ta_ctx *ctx;
	ta_store *src, *dst;
	const char *src_name, *dst_name;
	int force;
	enum side failed;
	const char *what; /* the table being copied */
	struct ta_copy_count n;
};

static int name_fit(const char *user, const char *tenant)
{
	return ta_name_ok(user, TA_MAX_USER) &&
	       (tenant[0] == '\0' || ta_name_ok(tenant, TA_MAX_TENANT));
}

/* A source row we refuse to carry over (the destination would refuse it at login). */
static int bad_row(struct copy *c, unsigned long nth, const char *why)
{
	ta_logf(c->ctx, TA_LOG_ERR, "source %s: %s row %lu: %s; nothing copied", c->src_name,
	        c->what, nth + 1, why);
	c->failed = SIDE_SRC;
	return TA_ERR_CORRUPT;
}

/* A write the destination refused. */
static int put_done(struct copy *c, int r, unsigned long *count)
{
	if (r == TA_OK) {
		(*count)++;
		return TA_OK;
	}
	c->failed = SIDE_DST;
	ta_logf(c->ctx, TA_LOG_ERR, "destination %s: cannot write %s row %lu: %s%s%s",
	        c->dst_name, c->what, *count + 1, ta_strerror(r), r == TA_ERR_EXISTS ? "" : ": ",
	        r == TA_ERR_EXISTS ? "" : ta_store_errmsg(c->dst));
	return r;
}

static int copy_token(void *arg, const uint8_t hash[TA_SHA256_LEN], const struct ta_token_row *row)
{
	struct copy *c = arg;

	if (!name_fit(row->user, row->tenant))
		return bad_row(c, c->n.tokens, "user or tenant name outside the grammar");
	if (!ta_name_ok(row->id, TA_TOKEN_ID_LEN) ||
	    (row->kind != TA_TOKEN_KIND_ISSUED && row->kind != TA_TOKEN_KIND_IMPORTED))
		return bad_row(c, c->n.tokens, "malformed id or kind");
	if (!ta_token_params_ok(row->params))
		return bad_row(c, c->n.tokens,
		               "parameters that tokenauth would not store (not a JSON object of "
		               "strings, a reserved or repeated name, a control character, or too long)");
	return put_done(c, ta_store_token_put(c->dst, hash, row, c->force), &c->n.tokens);
}

static int copy_otp(void *arg, const char *user, const char *tenant, const struct ta_otp_row *row)
{
	struct copy *c = arg;

	if (!name_fit(user, tenant))
		return bad_row(c, c->n.otp, "user or tenant name outside the grammar");
	return put_done(c, ta_store_otp_copy(c->dst, user, tenant, row, c->force), &c->n.otp);
}

static int side_fail(struct copy *c, enum side side, int r, const char *what);

static int copy_throttle(void *arg, const char *user, const char *tenant,
                         const struct ta_throttle_row *t)
{
	struct copy *c = arg;
	struct ta_throttle_row row = *t;
	int has = 0, r;

	if (!name_fit(user, tenant))
		return bad_row(c, c->n.throttle, "user or tenant name outside the grammar");
	if (!ta_throttle_row_ok(&t->t, t->updated))
		return bad_row(c, c->n.throttle,
		               "a time outside 1970-01-01..9999-12-31 (locked_until or updated)");
	/* capped as the destination sees the user (its tokens and OTP rows are
	 * copied first), not as the source's flag says: a stale flag would let
	 * made-up names push out an enrolled user's streak */
	if ((r = ta_store_has_credential(c->dst, user, tenant, &has)) != TA_OK)
		return side_fail(c, SIDE_DST, r, "cannot read its credentials");
	row.capped = !has;
	return put_done(c, ta_store_throttle_row_put(c->dst, user, tenant, &row, c->force),
	                &c->n.throttle);
}

/* Log a failure of one side's store; r passes through. */
static int side_fail(struct copy *c, enum side side, int r, const char *what)
{
	ta_store *st = side == SIDE_SRC ? c->src : c->dst;

	ta_logf(c->ctx, TA_LOG_ERR, "%s %s: %s: %s", side == SIDE_SRC ? "source" : "destination",
	        side == SIDE_SRC ? c->src_name : c->dst_name, what, ta_store_errmsg(st));
	return r;
}

/* Open one side: the destination is created (schema and all) when missing;
 * either side must be at this schema: migrating a store is a write that
 * stops the older nodes sharing it, and a refused copy must not make it.
 * The source is opened read-only: nothing of it is written, not its
 * journal mode nor a checkpoint, and it may be on read-only media
 * (helper-53 F3). */
static int open_side(struct copy *c, enum side side, ta_store **st)
{
	const char *name = side == SIDE_SRC ? c->src_name : c->dst_name;
	char err[768] = "";
	int r =
	    ta_store_open(name, side == SIDE_SRC ? TA_STORE_OPEN_READONLY : TA_STORE_OPEN_CURRENT,
	                  st, err, sizeof(err));

	if (r == TA_ERR_NOT_FOUND && side == SIDE_DST) {
		err[0] = '\0';
		if ((r = ta_store_open(name, TA_STORE_OPEN_CREATE, st, err, sizeof(err))) == TA_OK)
			ta_logf(c->ctx, TA_LOG_INFO, "destination %s: created", name);
	}
	/* the store layer's messages name the store already */
	if (r != TA_OK && err[0] != '\0')
		ta_logf(c->ctx, TA_LOG_ERR, "%s: %s", side == SIDE_SRC ? "source" : "destination",
		        err);
	else if (r != TA_OK)
		ta_logf(c->ctx, TA_LOG_ERR, "%s %s: %s", side == SIDE_SRC ? "source" : "destination",
		        name, ta_strerror(r));
	return r;
}

/* The destination holds nothing, or force says to merge into it. */
static int dst_ready(struct copy *c)
{
	struct ta_store_count have;
	int r;

	if ((r = ta_store_count_rows(c->dst, &have)) != TA_OK)
		return side_fail(c, SIDE_DST, r, "cannot count its rows");
	if (c->force || (have.tokens == 0 && have.otp == 0 && have.throttle == 0))
		return TA_OK;
	ta_logf(c->ctx, TA_LOG_ERR,
	        "destination %s is not empty (%lu tokens, %lu OTP secrets, %lu throttle rows); "
	        "nothing copied (--force merges into it, the source's rows winning)",
	        c->dst_name, have.tokens, have.otp, have.throttle);
	return TA_ERR_EXISTS;
}

/* Every table, source rows to destination puts; the failing side is logged. */
static int copy_rows(struct copy *c)
{
	int r;

	c->what = "token";
	if ((r = ta_store_token_dump(c->src, copy_token, c)) != TA_OK)
		goto out;
	c->what = "OTP";
	if ((r = ta_store_otp_list(c->src, NULL, copy_otp, c)) != TA_OK)
		goto out;
	c->what = "throttle";
	r = ta_store_throttle_dump(c->src, copy_throttle, c);
out:
	if (r != TA_OK && c->failed == SIDE_NONE) /* the source's read failed */
		side_fail(c, SIDE_SRC, r, "cannot read its rows");
	return r;
}

static int names_ok(struct copy *c)
{
	char err[512] = "";
	int same = 0, r;
	const char *names[2] = {c->src_name, c->dst_name};

	for (int i = 0; i < 2; i++)
		if (names[i] == NULL ||
		    (names[i][0] != '/' && strncmp(names[i], "postgresql:/", 12) != 0)) {
			ta_logf(c->ctx, TA_LOG_ERR,
			        "%s: expected an absolute SQLite path or postgresql:/path/of/a/dsn/file",
			        i == 0 ? "source" : "destination");
			return TA_ERR_INPUT;
		}
	if ((r = ta_store_same(c->src_name, c->dst_name, &same, err, sizeof(err))) != TA_OK) {
		ta_logf(c->ctx, TA_LOG_ERR, "%s", err);
		return r;
	}
	if (same) {
		ta_logf(c->ctx, TA_LOG_ERR, "source %s and destination %s are the same store",
		        c->src_name, c->dst_name);
		return TA_ERR_INPUT;
	}
	return TA_OK;
}

int ta_store_copy(ta_ctx *ctx, const char *src, const char *dst, int force,
                  struct ta_copy_count *n)
{
	struct copy c = {ctx, NULL, NULL, src, dst, force, SIDE_NONE, "", {0, 0, 0}};
	int r;

	if (n != NULL)
		memset(n, 0, sizeof(*n));
	if (ctx == NULL || n == NULL)
		return TA_ERR_INPUT;
	/* the source first, and read only: a source that is not there opens nothing for writing */
	if ((r = names_ok(&c)) != TA_OK || (r = open_side(&c, SIDE_SRC, &c.src)) != TA_OK)
		goto out;
	if ((r = ta_store_begin_read(c.src)) != TA_OK) {
		side_fail(&c, SIDE_SRC, r, "cannot start a read transaction");
		goto out;
	}
	if ((r = open_side(&c, SIDE_DST, &c.dst)) != TA_OK)
		goto out;
	if ((r = ta_store_begin(c.dst)) != TA_OK) {
		side_fail(&c, SIDE_DST, r, "cannot start a write transaction");
		goto out;
	}
	if ((r = dst_ready(&c)) != TA_OK || (r = copy_rows(&c)) != TA_OK)
		goto out;
	if ((r = ta_store_commit(c.dst)) != TA_OK) {
		side_fail(&c, SIDE_DST, r, "commit failed, nothing copied");
		goto out;
	}
	*n = c.n;
out:
	ta_store_close(c.dst); /* rolls back what was not committed */
	ta_store_close(c.src);
	return r;
}
