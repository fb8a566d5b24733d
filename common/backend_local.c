/*
 * backend_local.c - checks against the embedded store: access tokens
 * (issued and imported) and HOTP/TOTP codes.
 */
#include "ctx_int.h"
#include "otp.h"
#include "token.h"

#include <string.h>

static int all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return n > 0;
}

/* Same work whether the user exists or not: one hash, one lookup. */
static int no_match(ta_store *st, struct ta_check *c)
{
	int has = 0, r = ta_store_has_credential(st, c->user, c->tenant, &has);

	if (r != TA_OK)
		return r == TA_ERR_CORRUPT ? r : TA_ERR_UNAVAILABLE;
	return has ? TA_ERR_REJECTED : TA_ERR_NO_CREDENTIAL;
}

static int check_token(ta_ctx *ctx, ta_store *st, struct ta_check *c)
{
	uint8_t hash[TA_SHA256_LEN];
	struct ta_token_row row;
	ta_token_class cls = ta_token_classify(c->credential, c->credential_len);
	int r;

	if ((r = ta_token_hash(c->credential, c->credential_len, hash)) != TA_OK)
		return r;
	/* A typo in one of our tokens is caught by its checksum: no lookup. */
	r = cls == TA_TOKEN_TYPO ? TA_ERR_NOT_FOUND : ta_store_token_find(st, hash, 0, &row);
	ta_wipe(hash, sizeof(hash));
	if (r == TA_ERR_NOT_FOUND)
		return no_match(st, c);
	if (r != TA_OK)
		return r == TA_ERR_CORRUPT ? r : TA_ERR_UNAVAILABLE;
	c->out->method = "token";
	memcpy(c->out->token_id, row.id, sizeof(row.id));
	c->out->expires = row.expires;
	if (strcmp(row.user, c->user) != 0 || strcmp(row.tenant, c->tenant) != 0)
		return TA_ERR_TENANT;
	if (row.revoked != 0)
		return TA_ERR_REVOKED;
	if (row.expires != 0 && row.expires <= ta_now(ctx))
		return TA_ERR_EXPIRED;
	/* Coarse last use: a write only when the stored one is an hour old, so
	 * repeated checks stay read-only; a failed write never fails a login,
	 * so none goes in a charge's transaction (see charged_check). */
	if (row.last_used > ta_now(ctx) - TA_LAST_USED_STEP)
		return TA_OK;
	if (c->charge_open)
		c->touch_after = 1;
	else if (ta_store_token_touch(st, row.id, ta_now(ctx)) != TA_OK)
		ta_logf(ctx, TA_LOG_DEBUG, "token %s: last use not recorded: %s", row.id,
		        ta_store_errmsg(st));
	return TA_OK;
}

/* Decrypt, check and advance inside one write transaction of the user's. */
static int check_otp_locked(ta_ctx *ctx, ta_store *st, struct ta_check *c)
{
	struct ta_otp_row row;
	uint8_t secret[TA_OTP_SEALED_MAX], aad[TA_MAX_USER + TA_MAX_TENANT + 2];
	size_t slen = 0, aadlen;
	const uint8_t *key = NULL;
	uint64_t next = 0;
	int r;

	/* No OTP secret: in mode=otp that is "no credential", whatever tokens exist. */
	if ((r = ta_store_otp_get(st, c->user, c->tenant, &row)) != TA_OK)
		return r == TA_ERR_NOT_FOUND ? TA_ERR_NO_CREDENTIAL : r;
	if ((r = ta_ctx_key(ctx, &key)) != TA_OK)
		return TA_ERR_UNAVAILABLE;
	aadlen = ta_otp_aad(c->user, c->tenant, aad, sizeof(aad));
	r = ta_open(key, aad, aadlen, row.sealed, row.sealed_len, secret, &slen);
	if (r != TA_OK) {
		ta_logf(ctx, TA_LOG_ERR,
		        "OTP secret of user=%s tenant=%s does not decrypt: wrong master key or "
		        "damaged store",
		        TA_Q(c->user), TA_Q(c->tenant));
		r = TA_ERR_CORRUPT;
		goto out;
	}
	c->out->method = "otp";
	r = ta_otp_check(&row.p, secret, slen, c->credential, c->credential_len, row.next,
	                 ta_now(ctx), (unsigned)ctx->cfg->otp_window,
	                 (unsigned)ctx->cfg->otp_lookahead, &next);
	/* A right code that cannot be spent (another login took it, or the
	 * write failed) is refused exactly like a wrong code: an answer that
	 * differed would tell a guesser the code was right. */
	if (r == TA_OK && (r = ta_store_otp_advance(st, c->user, c->tenant, next)) != TA_OK) {
		if (r != TA_ERR_REPLAY)
			ta_logf(ctx, TA_LOG_ERR, "cannot spend the OTP code of user=%s: %s",
			        TA_Q(c->user), ta_store_errmsg(st));
		r = TA_ERR_REJECTED;
	}
	/* the charge goes in the transaction that spends the code: one write */
	if (r == TA_OK && c->clear_throttle &&
	    ta_store_throttle_clear(st, c->user, c->tenant, NULL) == TA_OK)
		c->cleared = 1;
out:
	ta_wipe(secret, sizeof(secret));
	ta_wipe(&row, sizeof(row));
	return r;
}

static int check_otp(ta_ctx *ctx, ta_store *st, struct ta_check *c)
{
	int r;

	if (c->charge_open) /* inside the charge's transaction: the caller commits */
		return check_otp_locked(ctx, st, c);
	if (ta_store_begin_user(st, c->user, c->tenant) != TA_OK) {
		ta_logf(ctx, TA_LOG_ERR, "store busy or read-only: %s", ta_store_errmsg(st));
		return TA_ERR_UNCOUNTED; /* a code left unchecked: never skippable */
	}
	r = check_otp_locked(ctx, st, c);
	if (r == TA_OK && ta_store_commit(st) != TA_OK) {
		/* only a right code gets here: answer as for a wrong one */
		ta_logf(ctx, TA_LOG_ERR, "cannot commit OTP counter: %s", ta_store_errmsg(st));
		r = TA_ERR_REJECTED;
	}
	if (r != TA_OK)
		c->cleared = 0; /* rolled back with the rest */
	ta_store_rollback(st);
	return r;
}

/* Decide token or OTP (SPEC §2 "Which check runs"). */
static int local_check(ta_ctx *ctx, void **state, struct ta_check *c)
{
	ta_store *st = NULL;
	struct ta_otp_row row;
	int r, otp = 0;

	(void)state; /* the store is the context's */

	if ((r = ta_ctx_store(ctx, &st)) != TA_OK)
		return r == TA_ERR_NOT_FOUND ? TA_ERR_UNAVAILABLE : r;
	if (ctx->cfg->mode == TA_MODE_OTP)
		return check_otp(ctx, st, c);
	if (ctx->cfg->mode == TA_MODE_ANY && all_digits(c->credential, c->credential_len)) {
		r = ta_store_otp_get(st, c->user, c->tenant, &row);
		if (r != TA_OK && r != TA_ERR_NOT_FOUND)
			return r == TA_ERR_CORRUPT ? r : TA_ERR_UNAVAILABLE;
		otp = r == TA_OK && row.p.digits == c->credential_len;
		ta_wipe(&row, sizeof(row));
	}
	return otp ? check_otp(ctx, st, c) : check_token(ctx, st, c);
}

const struct ta_backend ta_backend_local = {
    .name = "local",
    .flags = TA_BACKEND_STORE,
    .check = local_check,
    .free_state = NULL,
};
