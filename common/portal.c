/*
 * portal.c - the core side of tokenauthd's self-service portal: sessions
 * in the store, the throttle for PAM-checked logins, a user's own tokens
 * and OTP secret.  tokenauthd/portal*.c only translate HTTP to these.
 */
#include "portal.h"

#include "ctx_int.h"
#include "otp.h"

#include <stdlib.h>
#include <string.h>

static int sid_hash(const char *sid, uint8_t hash[TA_SHA256_LEN])
{
	size_t n = sid ? strlen(sid) : 0;

	if (n != TA_SESSION_ID_LEN || strspn(sid, "0123456789abcdef") != n)
		return TA_ERR_NOT_FOUND;
	return ta_sha256(sid, n, hash);
}

int ta_session_new(ta_ctx *ctx, const char *user, const char *tenant, unsigned long idle,
                   unsigned long max, char sid[TA_SESSION_ID_LEN + 1])
{
	uint8_t raw[TA_SESSION_ID_LEN / 2], hash[TA_SHA256_LEN];
	int64_t now = ta_now(ctx);
	ta_store *st = NULL;
	int r;

	sid[0] = '\0';
	if ((r = ta_ctx_store(ctx, &st)) != TA_OK)
		return r;
	if ((r = ta_random(raw, sizeof(raw))) != TA_OK)
		goto out;
	ta_hex(raw, sizeof(raw), sid);
	if ((r = sid_hash(sid, hash)) != TA_OK)
		goto out;
	/* ended sessions go when new ones come: the table stays bounded by use */
	if (ta_store_session_purge(st, now - (int64_t)idle, now - (int64_t)max, NULL) != TA_OK)
		ta_logf(ctx, TA_LOG_WARNING, "cannot purge old sessions: %s", ta_store_errmsg(st));
	r = ta_store_session_put(st, hash, user, tenant, now);
	if (r != TA_OK)
		ta_logf(ctx, TA_LOG_ERR, "cannot store session: %s", ta_store_errmsg(st));
out:
	ta_wipe(raw, sizeof(raw));
	ta_wipe(hash, sizeof(hash));
	if (r != TA_OK)
		ta_wipe(sid, TA_SESSION_ID_LEN + 1);
	return r;
}

int ta_session_check(ta_ctx *ctx, const char *sid, unsigned long idle, unsigned long max,
                     struct ta_session_row *row)
{
	uint8_t hash[TA_SHA256_LEN];
	int64_t now = ta_now(ctx), step = idle / 2 < 60 ? (int64_t)(idle / 2) : 60;
	ta_store *st = NULL;
	int r;

	memset(row, 0, sizeof(*row));
	if ((r = sid_hash(sid, hash)) != TA_OK)
		return r;
	if ((r = ta_ctx_store(ctx, &st)) != TA_OK || (r = ta_store_session_get(st, hash, row)) != TA_OK)
		goto out;
	if (now - row->seen > (int64_t)idle || now - row->created > (int64_t)max) {
		ta_store_session_delete(st, hash);
		r = TA_ERR_EXPIRED;
		goto out;
	}
	if (now - row->seen >= step && ta_store_session_touch(st, hash, now) != TA_OK)
		ta_logf(ctx, TA_LOG_WARNING, "cannot record session use: %s", ta_store_errmsg(st));
out:
	if (r != TA_OK && r != TA_ERR_NOT_FOUND && r != TA_ERR_EXPIRED && st != NULL)
		ta_logf(ctx, TA_LOG_ERR, "session read failed: %s", ta_store_errmsg(st));
	ta_wipe(hash, sizeof(hash));
	return r;
}

int ta_session_end(ta_ctx *ctx, const char *sid)
{
	uint8_t hash[TA_SHA256_LEN];
	ta_store *st = NULL;
	int r;

	if (sid_hash(sid, hash) != TA_OK)
		return TA_OK;
	if ((r = ta_ctx_store(ctx, &st)) == TA_OK)
		r = ta_store_session_delete(st, hash);
	ta_wipe(hash, sizeof(hash));
	return r;
}

int ta_login_locked(ta_ctx *ctx, const char *user, const char *tenant)
{
	struct ta_throttle t;
	ta_store *st = NULL;
	int r;

	if ((r = ta_ctx_store(ctx, &st)) != TA_OK)
		return r;
	return ta_throttle_check(ctx, st, user, tenant, &t);
}

int ta_login_failed(ta_ctx *ctx, const char *user, const char *tenant)
{
	return ta_throttle_fail(ctx, user, tenant);
}

int ta_login_ok(ta_ctx *ctx, const char *user, const char *tenant)
{
	ta_store *st = NULL;
	int r;

	if ((r = ta_ctx_store(ctx, &st)) != TA_OK)
		return r;
	return ta_store_throttle_clear(st, user, tenant, NULL);
}

struct own {
	const char *tenant, *id;
	int64_t now;
	unsigned active;
	int found;
};

static int own_cb(void *arg, const struct ta_token_row *row)
{
	struct own *o = arg;
	int live = row->revoked == 0 && (row->expires == 0 || row->expires > o->now);

	if (strcmp(row->tenant, o->tenant) != 0 || !live)
		return 0;
	o->active++;
	if (o->id != NULL && strcmp(row->id, o->id) == 0)
		o->found = 1;
	return 0;
}

static int walk_own(ta_ctx *ctx, const char *user, struct own *o)
{
	ta_store *st = NULL;
	int r;

	o->now = ta_now(ctx);
	if ((r = ta_ctx_store(ctx, &st)) != TA_OK)
		return r;
	return ta_store_token_list(st, user, own_cb, o);
}

int ta_token_count_active(ta_ctx *ctx, const char *user, const char *tenant, unsigned *n)
{
	struct own o = {tenant, NULL, 0, 0, 0};
	int r = walk_own(ctx, user, &o);

	*n = o.active;
	return r;
}

int ta_token_revoke_own(ta_ctx *ctx, const char *user, const char *tenant, const char *id)
{
	struct own o = {tenant, id, 0, 0, 0};
	ta_store *st = NULL;
	int r;

	if (id == NULL || !ta_name_ok(id, TA_TOKEN_ID_LEN))
		return TA_ERR_NOT_FOUND;
	if ((r = walk_own(ctx, user, &o)) != TA_OK)
		return r;
	if (!o.found)
		return TA_ERR_NOT_FOUND;
	if ((r = ta_ctx_store(ctx, &st)) != TA_OK)
		return r;
	r = ta_store_token_revoke_id(st, id, ta_now(ctx));
	return r == TA_ERR_REVOKED ? TA_ERR_NOT_FOUND : r;
}

int ta_otp_has(ta_ctx *ctx, const char *user, const char *tenant, int *has)
{
	struct ta_otp_row row;
	ta_store *st = NULL;
	int r;

	*has = 0;
	if ((r = ta_ctx_store(ctx, &st)) != TA_OK)
		return r;
	r = ta_store_otp_get(st, user, tenant, &row);
	ta_wipe(&row, sizeof(row));
	*has = r == TA_OK;
	return r == TA_ERR_NOT_FOUND ? TA_OK : r;
}

/* Under the user's lock: check (and spend) the code, then delete the row. */
static int remove_locked(ta_ctx *ctx, ta_store *st, const char *user, const char *tenant,
                         const char *code)
{
	struct ta_otp_row row;
	uint8_t secret[TA_OTP_SEALED_MAX], aad[TA_MAX_USER + TA_MAX_TENANT + 2];
	size_t slen = 0, aadlen = ta_otp_aad(user, tenant, aad, sizeof(aad));
	const uint8_t *key = NULL;
	uint64_t next = 0;
	int r;

	if ((r = ta_store_otp_get(st, user, tenant, &row)) != TA_OK)
		return r;
	if ((r = ta_ctx_key(ctx, &key)) != TA_OK)
		goto out;
	if ((r = ta_open(key, aad, aadlen, row.sealed, row.sealed_len, secret, &slen)) != TA_OK) {
		r = TA_ERR_CORRUPT;
		goto out;
	}
	r = ta_otp_check(&row.p, secret, slen, code, strlen(code), row.next, ta_now(ctx),
	                 (unsigned)ctx->cfg->otp_window, (unsigned)ctx->cfg->otp_lookahead, &next);
	if (r != TA_OK)
		r = TA_ERR_REJECTED;
	else
		r = ta_store_otp_delete(st, user, tenant);
out:
	ta_wipe(secret, sizeof(secret));
	ta_wipe(&row, sizeof(row));
	return r;
}

int ta_otp_remove_with_code(ta_ctx *ctx, const char *user, const char *tenant, const char *code)
{
	ta_store *st = NULL;
	int r;

	if (code == NULL || !ta_credential_ok(code, strlen(code)))
		return TA_ERR_REJECTED;
	if ((r = ta_login_locked(ctx, user, tenant)) != TA_OK)
		return r;
	if ((r = ta_ctx_store(ctx, &st)) != TA_OK || (r = ta_store_begin_user(st, user, tenant)) != TA_OK)
		return r;
	r = remove_locked(ctx, st, user, tenant, code);
	if (r == TA_OK)
		r = ta_store_commit(st);
	ta_store_rollback(st);
	if (r == TA_ERR_REJECTED)
		ta_login_failed(ctx, user, tenant);
	return r;
}
