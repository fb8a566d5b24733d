/*
 * verify.c - context, identity resolution, throttling and the dispatch of
 * a check to the configured backends.
 */
#include "ctx_int.h"
#include "file.h"
#include "jwt.h"
#include "lazy.h"
#include "token.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

const char *ta_strerror(int err)
{
	switch (err) {
	case TA_OK: return "success";
	case TA_ERR_REJECTED: return "credential rejected";
	case TA_ERR_EXPIRED: return "credential expired";
	case TA_ERR_REVOKED: return "credential revoked";
	case TA_ERR_REPLAY: return "one-time code already used";
	case TA_ERR_TENANT: return "credential belongs to another user or tenant";
	case TA_ERR_LOCKED: return "account locked after repeated failures";
	case TA_ERR_NO_CREDENTIAL: return "user has no credential";
	case TA_ERR_UNAVAILABLE: return "store or backend unavailable";
	case TA_ERR_INSECURE: return "file has unsafe type, owner or permissions";
	case TA_ERR_CORRUPT: return "store or file is damaged or not ours";
	case TA_ERR_CONFIG: return "bad configuration";
	case TA_ERR_INPUT: return "invalid input";
	case TA_ERR_NOMEM: return "out of memory";
	case TA_ERR_EXISTS: return "already exists";
	case TA_ERR_NOT_FOUND: return "not found";
	case TA_ERR_INTERNAL: return "internal error";
	case TA_ERR_UNSUPPORTED: return "not supported by this build";
	}
	return "unknown error";
}

int ta_err_is_rejection(int err)
{
	return err == TA_ERR_REJECTED || err == TA_ERR_EXPIRED || err == TA_ERR_REVOKED ||
	       err == TA_ERR_REPLAY || err == TA_ERR_TENANT || err == TA_ERR_LOCKED;
}

void ta_logf(ta_ctx *ctx, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (ctx == NULL || ctx->log == NULL || (level == TA_LOG_DEBUG && !ctx->cfg->debug))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Anything that came from outside may carry control characters. */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	ctx->log(ctx->log_arg, level, msg);
}

const char *ta_logq(const char *s, char *buf, size_t cap)
{
	size_t o = 0;

	if (s == NULL)
		return "-";
	if (strpbrk(s, " \"=\\") == NULL)
		return s;
	buf[o++] = '"';
	for (; *s && o + 3 < cap; s++) {
		if (*s == '"' || *s == '\\')
			buf[o++] = '\\';
		buf[o++] = *s;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

int64_t ta_now(const ta_ctx *ctx)
{
	return ctx->fixed_now ? ctx->fixed_now : (int64_t)time(NULL);
}

int ta_ctx_new(const ta_config *cfg, ta_log_fn log, void *log_arg, ta_ctx **out)
{
	ta_ctx *ctx;

	*out = NULL;
	if (cfg == NULL)
		return TA_ERR_INPUT;
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		return TA_ERR_NOMEM;
	ctx->cfg = cfg;
	memcpy(ctx->backends, cfg->backends, sizeof(ctx->backends));
	ctx->nbackends = cfg->nbackends;
	ctx->backend_flags = cfg->backend_flags;
	ctx->log = log;
	ctx->log_arg = log_arg;
	*out = ctx;
	return TA_OK;
}

void ta_ctx_free(ta_ctx *ctx)
{
	if (ctx == NULL)
		return;
	ta_store_release(ctx->store); /* back to the process's pool */
	for (unsigned i = 0; i < ctx->nbackends; i++)
		if (ctx->backend_state[i] != NULL && ctx->backends[i]->free_state != NULL)
			ctx->backends[i]->free_state(ctx->backend_state[i]);
	ta_wipe(ctx->key, sizeof(ctx->key));
	free(ctx);
}

int ta_global_init_for(const ta_config *cfg)
{
	char err[256];
	int r = TA_OK;

	if (cfg != NULL && cfg->store != NULL &&
	    strncmp(cfg->store, TA_STORE_PG, strlen(TA_STORE_PG)) == 0)
		r = ta_lazy_pq(err, sizeof(err));
	if (r == TA_OK && cfg != NULL && (cfg->backend_flags & TA_BACKEND_NETWORK))
		r = ta_global_init();
	return r;
}

void ta_ctx_set_time(ta_ctx *ctx, int64_t now)
{
	ctx->fixed_now = now;
}

/*
 * Open the store once; level is how loudly a failure is logged.  With
 * create, a missing store is made (0600 in a 0700 folder): a host that
 * verifies only remotely still needs one to count failures in.
 */
static int open_store_as(ta_ctx *ctx, ta_store **st, int level, int create, int snapshot)
{
	char err[512], buf[TA_STORE_NAME_MAX];
	const char *name = ta_config_store_name(ctx->cfg, buf, sizeof(buf));
	int r, taken;

	/* a handle held since an earlier call that can no longer be used (a
	 * transaction it could not end): give it up for a fresh one */
	if (ctx->store != NULL && !ta_store_usable(ctx->store)) {
		ta_store_release(ctx->store);
		ctx->store = NULL;
	}
	if ((taken = ctx->store == NULL)) {
		/* from the pool when this process has an idle handle (hosts that
		 * make a context per login); ta_ctx_free gives it back */
		r = ta_store_open_shared(name, &ctx->store, err, sizeof(err));
		if (r == TA_ERR_NOT_FOUND && create) {
			r = ta_store_open(name, 1, &ctx->store, err, sizeof(err));
			if (r == TA_ERR_EXISTS) /* another process made it first */
				r = ta_store_open_shared(name, &ctx->store, err, sizeof(err));
			if (r == TA_OK)
				ta_logf(ctx, TA_LOG_NOTICE, "created %s to count failures in",
				        name);
			else
				ta_logf(ctx, TA_LOG_WARNING, "cannot create a store: %s", err);
			if (r != TA_OK) /* there is still no store: say so, not why */
				r = TA_ERR_NOT_FOUND;
		}
		if (r != TA_OK) {
			ta_logf(ctx, level, "store unavailable: %s", err);
			return r;
		}
	}
	*st = ctx->store;
	/* A pooled handle may come with a read snapshot open (store.h): only
	 * the check keeps one, for its first reads, and ends it itself
	 * (throttled_check); the backends it runs share it.  Without one the
	 * reads run on their own. */
	if (snapshot)
		(void)ta_store_snapshot(ctx->store);
	else if (taken)
		ta_store_snapshot_end(ctx->store);
	return TA_OK;
}

static int open_store(ta_ctx *ctx, ta_store **st, int level)
{
	int r = open_store_as(ctx, st, level, 0, 0);

	return r == TA_ERR_NOT_FOUND ? TA_ERR_UNAVAILABLE : r;
}

int ta_ctx_store(ta_ctx *ctx, ta_store **st)
{
	return open_store(ctx, st, TA_LOG_ERR);
}

int ta_ctx_key(ta_ctx *ctx, const uint8_t **key)
{
	char err[512];
	int r;

	if (!ctx->have_key) {
		if ((r = ta_key_read(ctx->cfg->key_file, ctx->key, err, sizeof(err))) != TA_OK) {
			ta_logf(ctx, TA_LOG_ERR, "master key unavailable: %s", err);
			return r == TA_ERR_NOT_FOUND ? TA_ERR_UNAVAILABLE : r;
		}
		ctx->have_key = 1;
	}
	*key = ctx->key;
	return TA_OK;
}

size_t ta_otp_aad(const char *user, const char *tenant, uint8_t *buf, size_t cap)
{
	size_t u = strlen(user), t = strlen(tenant);

	if (u + t + 2 > cap)
		return 0;
	memcpy(buf, user, u + 1);
	memcpy(buf + u + 1, tenant, t + 1);
	return u + t + 2;
}

/*
 * The grammar of names (SECURITY.md, "The input gate"): 1..max bytes of
 * well-formed UTF-8 (no overlong forms, no surrogates) with no C0 or C1
 * control character, no DEL, and no space at either end.  Returns the
 * length, or 0 when refused.
 */
static size_t name_len(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	while (p[n] != '\0') {
		unsigned c = p[n], need, cp;
		if (c < 0x20 || c == 0x7f)
			return 0;
		if (c < 0x80) {
			n++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07;
		else
			return 0;
		for (unsigned k = 1; k <= need; k++) {
			if ((p[n + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[n + k] & 0x3f);
		}
		if ((need == 1 && cp <= 0x9f) || (need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0; /* C1 control, overlong form, surrogate or beyond U+10FFFF */
		n += need + 1;
		if (n > max)
			return 0;
	}
	if (n > max || (n > 0 && (p[0] == ' ' || p[n - 1] == ' ')))
		return 0; /* "alice " would be a second throttle row for alice */
	return n;
}

int ta_name_ok(const char *s, size_t max)
{
	return s != NULL && name_len(s, max) > 0;
}

static int visible_ascii(const char *cred, size_t len, size_t max)
{
	if (cred == NULL || len == 0 || len > max)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)cred[i] < 0x21 || (unsigned char)cred[i] > 0x7e)
			return 0;
	return 1;
}

int ta_credential_ok(const char *cred, size_t len)
{
	return visible_ascii(cred, len, TA_MAX_CREDENTIAL);
}

int ta_credential_ok_for(const ta_ctx *ctx, const char *cred, size_t len)
{
	if (len <= TA_MAX_CREDENTIAL)
		return ta_credential_ok(cred, len);
	/* only a JWT may be longer, and only when a backend takes JWTs */
	return (ctx->backend_flags & TA_BACKEND_LONG_CREDENTIALS) && len <= TA_MAX_JWT &&
	       ta_jws_shape(cred, len);
}

static int clean_name(const char *s, size_t max)
{
	return s[0] == '\0' || name_len(s, max) > 0;
}

static int copy_name(char *dst, const char *src, size_t n, size_t max)
{
	if (n > max)
		return TA_ERR_INPUT;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return clean_name(dst, max) ? TA_OK : TA_ERR_INPUT;
}

int ta_resolve_identity(const ta_config *cfg, const char *user, const char *tenant,
                        char ubuf[TA_MAX_USER + 1], char tbuf[TA_MAX_TENANT + 1])
{
	const char *at = NULL;
	size_t ulen;

	if (user == NULL || user[0] == '\0')
		return TA_ERR_INPUT;
	ulen = strnlen(user, TA_MAX_USER + 1);
	if (tenant == NULL && cfg->tenant_from_user && (at = strrchr(user, '@')) != NULL) {
		ulen = (size_t)(at - user);
		tenant = at + 1;
		if (ulen == 0)
			return TA_ERR_INPUT;
	}
	if (tenant == NULL)
		tenant = cfg->tenant ? cfg->tenant : "";
	if (copy_name(ubuf, user, ulen, TA_MAX_USER) != TA_OK)
		return TA_ERR_INPUT;
	return copy_name(tbuf, tenant, strnlen(tenant, TA_MAX_TENANT + 1), TA_MAX_TENANT);
}

/* One failure to record: the user's row with it counted (charge_begin). */
struct charge {
	struct ta_throttle t;
	int64_t now;
	int capped; /* the user is not enrolled here: the row lives under the cap */
	int locks;  /* this failure starts a lockout */
};

static int charge_failed(ta_ctx *ctx, ta_store *st, const char *user, int r)
{
	ta_store_rollback(st);
	ta_logf(ctx, TA_LOG_ERR, "cannot record failure for user=%s: %s", TA_Q(user),
	        ta_store_errmsg(st));
	return r != TA_OK ? r : TA_ERR_UNAVAILABLE;
}

/*
 * Begin the user's write transaction and work out one failure from the
 * row read under the user's lock (max_failures 0 disables; a failure that
 * reaches it locks).  A refusal by the local store counts only for users
 * enrolled here, so made-up names cannot add rows; with any_user (a
 * remote backend may answer for them) everyone counts, and rows of users
 * not enrolled here live under the store's cap (ta_store_throttle_put).
 * *due says whether a failure is to be written (charge_write): then the
 * transaction is left open.  TA_ERR_LOCKED when a lockout another login
 * wrote since the caller's first read decides: parallel guesses get no
 * more than max_failures.  TA_OK, or the reason nothing could be read.
 */
static int charge_begin(ta_ctx *ctx, ta_store *st, const char *user, const char *tenant,
                        int any_user, struct charge *ch, int *due)
{
	int has = 0, r;

	*due = 0;
	ch->now = ta_now(ctx);
	if (ctx->cfg->max_failures == 0)
		return TA_OK;
	if ((r = ta_store_begin_user(st, user, tenant)) != TA_OK ||
	    (r = ta_store_has_credential(st, user, tenant, &has)) != TA_OK)
		return charge_failed(ctx, st, user, r);
	if (!any_user && !has) {
		ta_store_rollback(st);
		return TA_OK;
	}
	if ((r = ta_store_throttle_get(st, user, tenant, &ch->t)) != TA_OK)
		return charge_failed(ctx, st, user, r);
	if (ch->t.locked_until > ch->now) {
		ta_store_rollback(st);
		return TA_ERR_LOCKED;
	}
	/* the counts saturate where a row may hold them (ta_throttle_row_ok):
	 * past it every later failure would be refused unwritten (helper-54 F3) */
	if (ch->t.failures < INT32_MAX)
		ch->t.failures++;
	ch->locks = ch->t.failures >= ctx->cfg->max_failures;
	if (ch->locks) {
		ch->t.locked_until =
		    ch->now + (int64_t)ta_lockout_secs(ctx->cfg->lockout, ch->t.lockouts);
		if (ch->t.lockouts < INT32_MAX)
			ch->t.lockouts++;
		ch->t.failures = 0;
	}
	ch->capped = !has;
	*due = 1;
	return TA_OK;
}

/* Write the failure of charge_begin in its transaction, left open; on an
 * error the transaction is rolled back. */
static int charge_write(ta_ctx *ctx, ta_store *st, const char *user, const char *tenant,
                        const struct charge *ch)
{
	int r = ta_store_throttle_put(st, user, tenant, &ch->t, ch->now, ch->capped);

	if (r == TA_ERR_EXISTS) {
		ta_store_rollback(st);
		ta_logf(ctx, TA_LOG_ERR,
		        "cannot record failure for user=%s: the throttle table is full (%d rows "
		        "of users not enrolled here, none unlocked and unwritten for %d s)",
		        TA_Q(user), TA_THROTTLE_MAX, TA_THROTTLE_EVICT_AGE);
		return r;
	}
	if (r != TA_OK)
		return charge_failed(ctx, st, user, r);
	if (ch->locks)
		ta_logf(ctx, TA_LOG_WARNING,
		        "locking user=%s tenant=%s for %lld s after %lu failures", TA_Q(user),
		        TA_Q(tenant), (long long)(ch->t.locked_until - ch->now),
		        ctx->cfg->max_failures);
	return TA_OK;
}

/* Record one failure, committed.  *wrote says whether a row was written. */
static int record_failure(ta_ctx *ctx, ta_store *st, const char *user, const char *tenant,
                          int any_user, int *wrote)
{
	struct charge ch;
	int due = 0, r;

	*wrote = 0;
	if ((r = charge_begin(ctx, st, user, tenant, any_user, &ch, &due)) != TA_OK || !due ||
	    (r = charge_write(ctx, st, user, tenant, &ch)) != TA_OK)
		return r;
	if ((r = ta_store_commit(st)) != TA_OK)
		return charge_failed(ctx, st, user, r);
	*wrote = 1;
	return TA_OK;
}

int ta_throttle_fail(ta_ctx *ctx, const char *user, const char *tenant)
{
	ta_store *st = NULL;
	int wrote = 0, r;

	if ((r = ta_ctx_store(ctx, &st)) != TA_OK)
		return r;
	return record_failure(ctx, st, user, tenant, 1, &wrote);
}

unsigned long ta_lockout_secs(unsigned long base, unsigned lockouts)
{
	unsigned shift = lockouts < 16 ? lockouts : 16;
	unsigned long long secs = (unsigned long long)base << shift;

	return secs < TA_LOCKOUT_CAP ? (unsigned long)secs : TA_LOCKOUT_CAP;
}

/*
 * The one place that says what "locked" means: the user's throttle row
 * has a lockout that has not yet run out.  t receives the row.
 */
int ta_throttle_check(ta_ctx *ctx, ta_store *st, const char *user, const char *tenant,
                      struct ta_throttle *t)
{
	int r = ta_store_throttle_get(st, user, tenant, t);

	if (r != TA_OK) {
		ta_logf(ctx, TA_LOG_ERR, "store read failed: %s", ta_store_errmsg(st));
		return r == TA_ERR_CORRUPT ? r : TA_ERR_UNAVAILABLE;
	}
	return t->locked_until > ta_now(ctx) ? TA_ERR_LOCKED : TA_OK;
}

/* Digits only, at most 8: a code a guesser can enumerate. */
static int guessable(const struct ta_check *c)
{
	size_t digits = 0;

	while (digits < c->credential_len && c->credential[digits] >= '0' &&
	       c->credential[digits] <= '9')
		digits++;
	return digits == c->credential_len && digits <= 8;
}

/*
 * Run the backends in configured order until one knows the user; *by
 * receives the one that answered (NULL when none was asked).
 */
static int run_backends_from(ta_ctx *ctx, struct ta_check *c, unsigned first,
                             const struct ta_backend **by)
{
	int r = TA_ERR_NO_CREDENTIAL;

	*by = NULL;
	for (unsigned i = first; i < ctx->nbackends; i++) {
		if (c->credential_len > TA_MAX_CREDENTIAL &&
		    !(ctx->backends[i]->flags & TA_BACKEND_LONG_CREDENTIALS))
			continue; /* a long JWT is no credential of this backend's */
		*by = ctx->backends[i];
		c->last = i + 1 == ctx->nbackends;
		if (!((*by)->flags & TA_BACKEND_STORE)) /* no snapshot held across the network */
			ta_store_snapshot_end(ctx->store);
		r = (*by)->check(ctx, &ctx->backend_state[i], c);
		/* Only "unknown here" and "cannot tell" fall through to the next. */
		if (r != TA_ERR_NO_CREDENTIAL && r != TA_ERR_UNAVAILABLE)
			return r;
		if (c->charge_open) /* committed before any other backend is asked */
			return r;
	}
	return r;
}

static int run_backends(ta_ctx *ctx, struct ta_check *c, const struct ta_backend **by)
{
	return run_backends_from(ctx, c, 0, by);
}

/* How often a charge lost with a failed commit is written again before
 * the attempt is refused as uncountable (each try waits for the lock up
 * to TA_STORE_BUSY_MS). */
#define TA_RECHARGE_TRIES 3

/*
 * Charge again, on its own, an attempt whose commit failed, and answer as
 * for a wrong code.  A lockout another login wrote since the rollback
 * released the lock counts as the charge (a wrong code, committed, would
 * have been refused, not found locked); a busy or failing store is tried
 * again a few times before the attempt is refused as uncountable.
 */
static int recharge(ta_ctx *ctx, ta_store *st, struct ta_check *c)
{
	int r = TA_ERR_UNAVAILABLE, wrote = 0;

	for (unsigned i = 0; i < TA_RECHARGE_TRIES; i++) {
		r = record_failure(ctx, st, c->user, c->tenant, 1, &wrote);
		if (r == TA_ERR_LOCKED || (r == TA_OK && wrote))
			return TA_OK;
		if (r != TA_ERR_UNAVAILABLE && r != TA_ERR_NOMEM)
			break;
	}
	ta_logf(ctx, TA_LOG_ERR, "refusing a code for user=%s: the attempt cannot be counted",
	        TA_Q(c->user));
	return TA_ERR_UNCOUNTED;
}

/*
 * A guess charged and checked in one write transaction, begun by
 * charge_begin: the charge is written first, then the local store is
 * asked inside the same transaction, and a right code spends its counter
 * and lifts the charge (with any earlier streak) before the one commit.
 * A right code's commit so writes every page a wrong code's does, and
 * more: a commit that a file-size limit or a full disk cuts short fails
 * for the right code whenever it fails for the wrong one.  (Until issue
 * 10's last attack round the charge was written only for a wrong code:
 * a new throttle row is two pages, a spent counter one, and a limit
 * between the two let every wrong code go uncounted while the right one
 * logged in.)  The answer is given only once the commit is through: if
 * it fails, the attempt is charged again on its own (recharge) and a right
 * code gets the answer of a wrong one ("unavailable" for either when even
 * that charge cannot be written).  Only then are later backends asked,
 * outside the transaction (no network call under a store lock); the local
 * answers that send a check on ("no credential", "unavailable") do not
 * depend on the code, so they still may after a failed commit.
 */
static int charged_check(ta_ctx *ctx, ta_store *st, struct ta_check *c,
                         const struct charge *ch, const struct ta_backend **by)
{
	int r;

	if (charge_write(ctx, st, c->user, c->tenant, ch) != TA_OK) {
		ta_logf(ctx, TA_LOG_ERR,
		        "refusing a code for user=%s unchecked: the attempt cannot be counted",
		        TA_Q(c->user));
		return TA_ERR_UNCOUNTED;
	}
	c->clear_throttle = 1;
	c->charge_open = 1;
	r = run_backends(ctx, c, by);
	c->charge_open = 0;
	/* A commit that fails: nothing was written, and a right code may have
	 * failed where a wrong one would not (SQLite ends a transaction itself
	 * when a statement runs out of memory or disk): the same way out for
	 * both. */
	if (ta_store_commit(st) != TA_OK) {
		ta_store_rollback(st);
		ta_logf(ctx, TA_LOG_ERR, "cannot commit the check of user=%s: %s", TA_Q(c->user),
		        ta_store_errmsg(st));
		c->cleared = 0;
		c->touch_after = 0;
		if (recharge(ctx, st, c) != TA_OK)
			return TA_ERR_UNCOUNTED;
		if (r == TA_OK)
			r = TA_ERR_REJECTED;
	} else if (r == TA_OK && c->touch_after &&
	           ta_store_token_touch(st, c->out->token_id, ta_now(ctx)) != TA_OK) {
		ta_logf(ctx, TA_LOG_DEBUG, "token %s: last use not recorded: %s", c->out->token_id,
		        ta_store_errmsg(st));
	}
	/* the charge is committed: the remaining backends, as usual, and a
	 * success of theirs lifts it */
	if ((r == TA_ERR_NO_CREDENTIAL || r == TA_ERR_UNAVAILABLE) && ctx->nbackends > 1) {
		c->clear_throttle = 1;
		r = run_backends_from(ctx, c, 1, by);
	}
	return r;
}

/*
 * A setuid host (su, chsh: ta_global_privileged) is not charged inline
 * either: its caller may kill it between the check and the commit, which
 * on the inline path would leave the attempt uncounted.
 *
 * Whether the process runs under a limit that could cut a commit short:
 * a file-size or memory limit (a setuid caller's that restore_limits
 * could not lift, or a host's own).  Then a guess's charge is committed
 * on its own before the code is checked, so an attempt whose charge does
 * not reach the disk is refused unchecked: checked first, a right code
 * whose commit failed would still differ from a wrong one in time, and
 * an HOTP code, which does not move on, could be found that way by
 * uncounted attempts.
 */
static int commit_may_be_cut(void)
{
	static const int which[] = {RLIMIT_FSIZE, RLIMIT_AS, RLIMIT_DATA};
	struct rlimit rl;

	for (size_t i = 0; i < sizeof(which) / sizeof(which[0]); i++)
		if (getrlimit(which[i], &rl) != 0 || rl.rlim_cur != RLIM_INFINITY)
			return 1;
	return 0;
}

static void log_outcome(ta_ctx *ctx, const struct ta_request *req, const struct ta_outcome *o,
                        int r)
{
	const char *svc = req->service ? req->service : "-", *rh = req->rhost ? req->rhost : "-";

	if (r == TA_OK)
		ta_logf(ctx, TA_LOG_INFO,
		        "accepted: service=%s user=%s tenant=%s rhost=%s method=%s%s%s", TA_Q(svc),
		        TA_Q(o->user), TA_Q(o->tenant), TA_Q(rh), o->method, o->token_id[0] ? " id=" : "",
		        o->token_id);
	else
		ta_logf(ctx,
		        ta_err_is_rejection(r) || r == TA_ERR_NO_CREDENTIAL ? TA_LOG_NOTICE
		                                                            : TA_LOG_ERR,
		        "refused: service=%s user=%s tenant=%s rhost=%s reason=%s", TA_Q(svc),
		        o->user[0] ? TA_Q(o->user) : "?", TA_Q(o->tenant), TA_Q(rh), ta_strerror(r));
}

int ta_credential_own_shape(const char *cred, size_t len)
{
	size_t digits = 0;

	if (ta_token_classify(cred, len) == TA_TOKEN_ISSUED)
		return 1;
	while (digits < len && cred[digits] >= '0' && cred[digits] <= '9')
		digits++;
	return digits == len && len >= 6 && len <= 8;
}

/*
 * Lockout check before, failure accounting after the backends.  A code a
 * guesser can enumerate is charged as a failure before it is checked, and
 * the charge is lifted by a success: if the charge cannot be written (a
 * full table, a full disk, a file-size limit the caller set on a setuid
 * host) the code is refused unchecked, so no write failure can buy free
 * guesses or tell a right code from a wrong one.  Tokens (2^256) are
 * counted after the check, keeping a token success write-free.
 */
static int throttled_check_in(ta_ctx *ctx, struct ta_check *c)
{
	struct ta_throttle t = {0, 0, 0};
	struct charge ch = {{0, 0, 0}, 0, 0, 0};
	const struct ta_backend *by = NULL;
	ta_store *st = NULL;
	unsigned flags = ctx->backend_flags;
	/* storeless: no configured backend checks against the store */
	int storeless = !(flags & TA_BACKEND_STORE), any_user = !!(flags & TA_BACKEND_FOREIGN_USERS),
	    charged = 0, wrote = 0, guess = guessable(c), inline_charge;
	int r = open_store_as(ctx, &st, storeless ? TA_LOG_WARNING : TA_LOG_ERR, storeless, 1);

	/* Only a storeless host with no store at all (none, and none could be
	 * made) goes on uncounted; a store that exists but fails is an outage. */
	if (r != TA_OK && !(storeless && r == TA_ERR_NOT_FOUND))
		return r == TA_ERR_NOT_FOUND ? TA_ERR_UNAVAILABLE : r;
	if (r != TA_OK) {
		if (ctx->cfg->max_failures > 0)
			ta_logf(ctx, TA_LOG_WARNING,
			        "no store at %s: failures of remote checks are not counted "
			        "(SECURITY.md)",
			        ctx->cfg->store);
		return run_backends(ctx, c, &by);
	}
	/* a guess whose throttle row cannot be read is neither counted nor checked */
	if ((r = ta_throttle_check(ctx, st, c->user, c->tenant, &t)) != TA_OK)
		return r == TA_ERR_LOCKED || !guess ? r : TA_ERR_UNCOUNTED;
	/* the local store first: the charge stays open for its check */
	inline_charge = guess && ctx->nbackends > 0 && ctx->backends[0] == &ta_backend_local &&
	                !ta_global_privileged() && !commit_may_be_cut();
	if (guess) {
		r = inline_charge ? charge_begin(ctx, st, c->user, c->tenant, any_user, &ch, &charged)
		                  : record_failure(ctx, st, c->user, c->tenant, any_user, &charged);
		if (r == TA_ERR_LOCKED)
			return r;
		if (r != TA_OK) {
			ta_logf(ctx, TA_LOG_ERR,
			        "refusing a code for user=%s unchecked: the attempt cannot be counted",
			        TA_Q(c->user));
			return TA_ERR_UNCOUNTED;
		}
	}
	/* a success lifts the charge and any streak before it */
	c->clear_throttle = charged || t.failures > 0 || t.lockouts > 0;
	r = inline_charge && charged ? charged_check(ctx, st, c, &ch, &by)
	                             : run_backends(ctx, c, &by);
	if (ta_err_is_rejection(r) && !guess)
		(void)record_failure(ctx, st, c->user, c->tenant,
		                     by != NULL && (by->flags & TA_BACKEND_FOREIGN_USERS), &wrote);
	else if (r == TA_OK && c->clear_throttle && !c->cleared)
		ta_store_throttle_clear(st, c->user, c->tenant, NULL);
	return r;
}

/* The reads before the first write share one snapshot (one read lock). */
static int throttled_check(ta_ctx *ctx, struct ta_check *c)
{
	int r = throttled_check_in(ctx, c);

	ta_store_snapshot_end(ctx->store);
	return r;
}

/*
 * One principal, one host name (SECURITY.md, "One principal namespace").
 * With tenant_from_user, "alice" and "alice@T" (T the configured tenant)
 * would both be (alice, T): two host accounts opened by one credential.
 * Only the bare form names a principal of the configured tenant, and a
 * name with more than one '@' names none.
 */
static int canonical_name(ta_ctx *ctx, const char *name, const char *tenant)
{
	const char *at = strchr(name, '@'), *dflt = ctx->cfg->tenant ? ctx->cfg->tenant : "";

	if (!ctx->cfg->tenant_from_user || at == NULL)
		return 1;
	if (strchr(at + 1, '@') != NULL) {
		ta_logf(ctx, TA_LOG_NOTICE, "user=%s: more than one '@' in a name (tenant_from_user)",
		        TA_Q(name));
		return 0;
	}
	if (strcmp(tenant, dflt) == 0) {
		ta_logf(ctx, TA_LOG_NOTICE,
		        "user=%s: the configured tenant is named without '@%s' (tenant_from_user)",
		        TA_Q(name), TA_Q(tenant));
		return 0;
	}
	return 1;
}

int ta_verify(ta_ctx *ctx, const struct ta_request *req, struct ta_outcome *out)
{
	struct ta_outcome local;
	struct ta_check c;
	int r;

	if (out == NULL)
		out = &local;
	memset(out, 0, sizeof(*out));
	out->method = "";
	r = ta_resolve_identity(ctx->cfg, req->user, req->tenant, out->user, out->tenant);
	if (r == TA_OK && req->tenant == NULL && !canonical_name(ctx, req->user, out->tenant))
		r = TA_ERR_INPUT;
	if (r != TA_OK) {
		out->user[0] = '\0';
		goto done;
	}
	/* The input gate: nothing outside the credential grammar goes further,
	 * into a store query, a log line or another protocol's header. */
	if (!ta_credential_ok_for(ctx, req->credential, req->credential_len)) {
		ta_logf(ctx, TA_LOG_NOTICE,
		        "credential refused: empty, longer than %d bytes (%d for a JWT with "
		        "verify=jwt), or not printable ASCII",
		        TA_MAX_CREDENTIAL, TA_MAX_JWT);
		r = TA_ERR_REJECTED;
		goto done;
	}
	memset(&c, 0, sizeof(c));
	/* Another module's password: not ours to check, count or send anywhere.
	 * Checking it even locally would give free, uncounted guesses at
	 * imported tokens to whoever hangs up at our own prompt. */
	if ((req->flags & TA_REQ_STACKED) &&
	    !ta_credential_own_shape(req->credential, req->credential_len)) {
		ta_logf(ctx, TA_LOG_DEBUG,
		        "earlier module's password is not a credential of ours: not checked");
		return TA_ERR_REJECTED;
	}
	c.service = req->service ? req->service : "";
	c.user = out->user;
	c.tenant = out->tenant;
	c.credential = req->credential;
	c.credential_len = req->credential_len;
	c.out = out;
	r = throttled_check(ctx, &c);
done:
	log_outcome(ctx, req, out, r);
	return r;
}

int ta_user_known(ta_ctx *ctx, const char *user, const char *tenant)
{
	char u[TA_MAX_USER + 1], t[TA_MAX_TENANT + 1];
	ta_store *st = NULL;
	int has = 0, r;

	if ((r = ta_resolve_identity(ctx->cfg, user, tenant, u, t)) != TA_OK)
		return r;
	/* A backend may know users we do not: assume it does. */
	if (ctx->backend_flags & TA_BACKEND_FOREIGN_USERS)
		return TA_OK;
	if ((r = ta_ctx_store(ctx, &st)) != TA_OK)
		return r;
	if ((r = ta_store_has_credential(st, u, t, &has)) != TA_OK)
		return r;
	if (has && ctx->cfg->mode == TA_MODE_OTP) {
		struct ta_otp_row row;
		r = ta_store_otp_get(st, u, t, &row);
		ta_wipe(&row, sizeof(row));
		if (r == TA_ERR_NOT_FOUND)
			has = 0;
		else if (r != TA_OK)
			return r;
	}
	return has ? TA_OK : TA_ERR_NO_CREDENTIAL;
}
