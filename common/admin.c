/*
 * admin.c - issuing, importing, revoking, listing, OTP enrolment and
 * unlocking.
 */
#include "admin.h"
#include "ctx_int.h"
#include "file.h"
#include "portal.h" /* ta_token_count_active */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

static int fail(ta_ctx *ctx, int r, const char *what)
{
	ta_logf(ctx, TA_LOG_ERR, "%s: %s", what, ta_strerror(r));
	return r;
}

int ta_admin_init(ta_ctx *ctx, unsigned *created)
{
	const uint8_t *k;
	char err[512] = "", buf[TA_STORE_NAME_MAX];
	const char *name = ta_config_store_name(ctx->cfg, buf, sizeof(buf));
	ta_store *st = NULL;
	int r;

	*created = 0;
	r = ta_store_open(name, 1, &st, err, sizeof(err));
	if (r == TA_ERR_EXISTS)
		r = ta_store_open(name, 0, &st, err, sizeof(err));
	else if (r == TA_OK)
		*created |= 1;
	if (r != TA_OK)
		goto out;
	ta_store_close(st);
	if ((r = ta_file_make_parent(ctx->cfg->key_file, err, sizeof(err))) != TA_OK)
		goto out;
	r = ta_key_create(ctx->cfg->key_file, err, sizeof(err));
	if (r == TA_OK) {
		*created |= 2;
	} else if (r == TA_ERR_EXISTS) {
		err[0] = '\0';
		r = ta_ctx_key(ctx, &k); /* an existing key must be usable; it logs why not */
	}
out:
	if (r != TA_OK && err[0])
		ta_logf(ctx, TA_LOG_ERR, "%s", err);
	return r;
}

/*
 * Member names a stored parameter may not have, in any case: every member
 * tokenauthd's answers (/verify, /introspect, /generate, errors) already
 * carry, so that no parameter can shadow or duplicate one of them for a
 * reader that takes the first of two members or folds case.  The one list:
 * the CLI (issue, add) and tokenauthd's /generate both come through here.
 */
static const char *const reserved_params[] = {
    "userAccount", "tenantSpaceId", "expiration_time", "token", "token_id", "ttl",
    "active",      "sub",           "username",        "token_type", "jti", "iat",
    "exp",         "error",         "code",            "message",    "retCode",
};

int ta_token_param_reserved(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof(reserved_params) / sizeof(reserved_params[0]); i++)
		if (strlen(reserved_params[i]) == n && strncasecmp(name, reserved_params[i], n) == 0)
			return 1;
	return 0;
}

static int key_ok(const char *k, size_t n)
{
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)k[i]) && k[i] != '_' && k[i] != '.' && k[i] != '-')
			return 0;
	return !ta_token_param_reserved(k, n);
}

/*
 * Is text what ta_token_params would have written: one JSON object of
 * string members, each name passing key_ok (no reserved one, in any case),
 * no name twice in any case, no raw control character (cJSON writes them
 * escaped, and 'tokenauth list' prints the text), at most TA_MAX_PARAMS
 * bytes?  For rows that did not come through it (store copy).
 */
int ta_token_params_ok(const char *text)
{
	const char *end = NULL;
	cJSON *o;
	int ok = 1;

	if (text == NULL)
		return 1;
	if (strlen(text) > TA_MAX_PARAMS || strstr(text, "\\u0000") != NULL)
		return 0;
	if ((o = cJSON_ParseWithOpts(text, &end, 1)) == NULL || !cJSON_IsObject(o))
		ok = 0;
	for (const cJSON *c = o ? o->child : NULL; ok && c != NULL; c = c->next) {
		ok = c->string != NULL && cJSON_IsString(c) && c->valuestring != NULL &&
		     key_ok(c->string, strlen(c->string));
		for (const cJSON *d = c->next; ok && d != NULL; d = d->next)
			ok = strcasecmp(c->string, d->string) != 0;
	}
	for (const unsigned char *t = (const unsigned char *)text; ok && *t; t++)
		if (*t < 0x20 || *t == 0x7f)
			ok = 0; /* raw: cJSON writes them escaped */
	cJSON_Delete(o);
	return ok;
}

int ta_token_params(const char *const *pairs, size_t n, char **json, char *err, size_t errlen)
{
	cJSON *obj = NULL;
	int r = TA_ERR_NOMEM;

	*json = NULL;
	if (n == 0)
		return TA_OK;
	if ((obj = cJSON_CreateObject()) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(pairs[i], '=');
		char key[65];
		size_t klen = eq ? (size_t)(eq - pairs[i]) : 0;
		if (eq == NULL || !key_ok(pairs[i], klen)) {
			snprintf(
			    err, errlen,
			    "--param '%.64s': expected key=value with a key of letters, digits, "
			    "_ . - that is not a member the service's answers carry (userAccount, "
			    "tenantSpaceId, expiration_time, token, ... in any case)",
			    pairs[i]);
			r = TA_ERR_INPUT;
			goto out;
		}
		memcpy(key, pairs[i], klen);
		key[klen] = '\0';
		if (cJSON_GetObjectItemCaseSensitive(obj, key) != NULL) {
			snprintf(err, errlen, "--param '%s' given twice", key);
			r = TA_ERR_INPUT;
			goto out;
		}
		if (cJSON_AddStringToObject(obj, key, eq + 1) == NULL)
			goto out;
	}
	if ((*json = cJSON_PrintUnformatted(obj)) == NULL)
		goto out;
	r = TA_OK;
	if (strlen(*json) > TA_MAX_PARAMS) {
		snprintf(err, errlen, "parameters exceed %d bytes", TA_MAX_PARAMS);
		free(*json);
		*json = NULL;
		r = TA_ERR_INPUT;
	}
out:
	if (r == TA_ERR_NOMEM)
		snprintf(err, errlen, "out of memory");
	cJSON_Delete(obj);
	return r;
}

static int store_of(ta_ctx *ctx, ta_store **st)
{
	return ta_ctx_store(ctx, st);
}

/* max_active: when not 0, the most live tokens the user may hold in the
 * tenant, counted under the user's lock with the insert (TA_ERR_EXISTS). */
static int insert_token(ta_ctx *ctx, const char *user, const char *tenant, uint64_t ttl,
                        const char *cred, size_t len, int kind, const char *params,
                        const char *label, unsigned max_active, char id[TA_TOKEN_ID_LEN + 1],
                        int64_t *expires)
{
	struct ta_token_row row;
	uint8_t hash[TA_SHA256_LEN];
	ta_store *st = NULL;
	unsigned active = 0;
	int r, full = 0;

	memset(&row, 0, sizeof(row));
	if ((r = ta_resolve_identity(ctx->cfg, user, tenant, row.user, row.tenant)) != TA_OK)
		return fail(ctx, r, "user or tenant name");
	if ((r = store_of(ctx, &st)) != TA_OK)
		return r;
	if ((r = ta_token_hash(cred, len, hash)) != TA_OK || (r = ta_token_new_id(row.id)) != TA_OK)
		return fail(ctx, r, "token");
	row.kind = kind;
	row.created = ta_now(ctx);
	row.expires = ttl ? row.created + (int64_t)ttl : 0;
	row.params = (char *)params;
	if (label != NULL && label[0] != '\0') {
		if (!ta_name_ok(label, TA_MAX_LABEL)) {
			ta_logf(ctx, TA_LOG_ERR, "label: 1 to %d bytes of UTF-8 without controls",
			        TA_MAX_LABEL);
			return TA_ERR_INPUT;
		}
		memcpy(row.label, label, strlen(label) + 1);
	}
	/* Under the user's lock, as a verification or an OTP enrolment of the
	 * user: the trigger that marks the user's throttle row enrolled
	 * (schema 5) runs after any failure being counted for them, never
	 * beside it (helper-50 F2: PostgreSQL left the row capped); and a
	 * limit on live tokens holds for requests side by side. */
	if ((r = ta_store_begin_user(st, row.user, row.tenant)) == TA_OK && max_active > 0 &&
	    (r = ta_token_count_active(ctx, row.user, row.tenant, &active)) == TA_OK &&
	    active >= max_active) {
		full = 1;
		r = TA_ERR_EXISTS;
	}
	if (r == TA_OK && (r = ta_store_token_insert(st, hash, &row)) == TA_OK)
		r = ta_store_commit(st);
	ta_store_rollback(st);
	ta_wipe(hash, sizeof(hash));
	if (full) {
		ta_logf(ctx, TA_LOG_NOTICE, "user=%s tenant=%s holds %u live tokens (at most %u)",
		        TA_Q(row.user), TA_Q(row.tenant), active, max_active);
		return r;
	}
	if (r == TA_ERR_EXISTS) {
		ta_logf(ctx, TA_LOG_ERR, "this token is already in the store");
		return r;
	}
	if (r != TA_OK) {
		ta_logf(ctx, TA_LOG_ERR, "cannot store token: %s", ta_store_errmsg(st));
		return r;
	}
	memcpy(id, row.id, sizeof(row.id));
	*expires = row.expires;
	ta_logf(ctx, TA_LOG_INFO, "token %s stored for user=%s tenant=%s", row.id, TA_Q(row.user),
	        TA_Q(row.tenant));
	return TA_OK;
}

int ta_token_issue(ta_ctx *ctx, const char *user, const char *tenant, uint64_t ttl, const char *params,
             char token[TA_TOKEN_LEN + 1], char id[TA_TOKEN_ID_LEN + 1], int64_t *expires)
{
	int r;

	if ((r = ta_token_generate(token)) != TA_OK)
		return fail(ctx, r, "random source");
	r = insert_token(ctx, user, tenant, ttl, token, TA_TOKEN_LEN, TA_TOKEN_KIND_ISSUED, params,
	                 NULL, 0, id, expires);
	if (r != TA_OK)
		ta_wipe(token, TA_TOKEN_LEN + 1);
	return r;
}

int ta_token_issue_label(ta_ctx *ctx, const char *user, const char *tenant, uint64_t ttl,
                         const char *params, const char *label, unsigned max_active,
                         char token[TA_TOKEN_LEN + 1], char id[TA_TOKEN_ID_LEN + 1],
                         int64_t *expires)
{
	int r;

	if ((r = ta_token_generate(token)) != TA_OK)
		return fail(ctx, r, "random source");
	r = insert_token(ctx, user, tenant, ttl, token, TA_TOKEN_LEN, TA_TOKEN_KIND_ISSUED, params,
	                 label, max_active, id, expires);
	if (r != TA_OK)
		ta_wipe(token, TA_TOKEN_LEN + 1);
	return r;
}

int ta_token_import(ta_ctx *ctx, const char *user, const char *tenant, uint64_t ttl, const char *cred,
              size_t len, const char *params, char id[TA_TOKEN_ID_LEN + 1], int64_t *expires)
{
	if (len < TA_IMPORT_MIN_LEN || len > TA_MAX_CREDENTIAL) {
		ta_logf(ctx, TA_LOG_ERR, "imported token must be %d to %d bytes long (got %zu)",
		        TA_IMPORT_MIN_LEN, TA_MAX_CREDENTIAL, len);
		return TA_ERR_INPUT;
	}
	/* the same grammar the input gate applies at every check */
	if (!ta_credential_ok(cred, len)) {
		ta_logf(ctx, TA_LOG_ERR,
		        "imported token contains a space, a control character or a byte "
		        "outside printable ASCII");
		return TA_ERR_INPUT;
	}
	if (ta_token_classify(cred, len) != TA_TOKEN_OPAQUE) {
		ta_logf(ctx, TA_LOG_ERR, "imported token may not start with '%s' (our own prefix)",
		        TA_TOKEN_PREFIX);
		return TA_ERR_INPUT;
	}
	return insert_token(ctx, user, tenant, ttl, cred, len, TA_TOKEN_KIND_IMPORTED, params, NULL,
	                    0, id, expires);
}

int ta_token_lookup(ta_ctx *ctx, const char *cred, size_t len, struct ta_token_row *row)
{
	uint8_t hash[TA_SHA256_LEN];
	ta_store *st = NULL;
	int r;

	memset(row, 0, sizeof(*row));
	if (len == 0 || len > TA_MAX_CREDENTIAL || ta_token_classify(cred, len) == TA_TOKEN_TYPO)
		return TA_ERR_REJECTED;
	if ((r = store_of(ctx, &st)) != TA_OK)
		return r;
	if ((r = ta_token_hash(cred, len, hash)) != TA_OK)
		return r;
	r = ta_store_token_find(st, hash, 1, row);
	ta_wipe(hash, sizeof(hash));
	if (r == TA_ERR_NOT_FOUND)
		return TA_ERR_REJECTED;
	if (r != TA_OK)
		return r == TA_ERR_NOMEM || r == TA_ERR_CORRUPT ? r : TA_ERR_UNAVAILABLE;
	if (row->revoked != 0) {
		r = TA_ERR_REVOKED;
	} else if (row->expires != 0 && row->expires <= ta_now(ctx)) {
		r = TA_ERR_EXPIRED;
	} else {
		struct ta_throttle t; /* a locked account's tokens fail too */
		r = ta_throttle_check(ctx, st, row->user, row->tenant, &t);
	}
	if (r != TA_OK) {
		free(row->params);
		row->params = NULL;
	}
	return r;
}

int ta_token_revoke(ta_ctx *ctx, const char *id)
{
	ta_store *st = NULL;
	int r;

	if ((r = store_of(ctx, &st)) != TA_OK)
		return r;
	r = ta_store_token_revoke_id(st, id, ta_now(ctx));
	if (r == TA_ERR_NOT_FOUND)
		ta_logf(ctx, TA_LOG_ERR, "no token with id '%.32s'", id);
	else if (r == TA_ERR_REVOKED)
		ta_logf(ctx, TA_LOG_NOTICE, "token %.32s was already revoked", id);
	else if (r != TA_OK)
		ta_logf(ctx, TA_LOG_ERR, "cannot revoke: %s", ta_store_errmsg(st));
	else
		ta_logf(ctx, TA_LOG_INFO, "token %s revoked", id);
	return r == TA_ERR_REVOKED ? TA_OK : r;
}

int ta_token_revoke_user(ta_ctx *ctx, const char *user, const char *tenant, unsigned *count)
{
	ta_store *st = NULL;
	int r;

	if ((r = store_of(ctx, &st)) != TA_OK)
		return r;
	r = ta_store_token_revoke_user(st, user, tenant, ta_now(ctx), count);
	if (r != TA_OK)
		ta_logf(ctx, TA_LOG_ERR, "cannot revoke: %s", ta_store_errmsg(st));
	else
		ta_logf(ctx, TA_LOG_INFO, "%u token(s) of user=%s revoked", *count, TA_Q(user));
	return r;
}

int ta_admin_open(ta_ctx *ctx)
{
	ta_store *st = NULL;

	return store_of(ctx, &st);
}

int ta_token_list(ta_ctx *ctx, const char *user,
                   int (*cb)(void *arg, const struct ta_token_row *row), void *arg)
{
	ta_store *st = NULL;
	int r;

	if ((r = store_of(ctx, &st)) != TA_OK)
		return r;
	return ta_store_token_list(st, user, cb, arg);
}

int ta_otp_list(ta_ctx *ctx, const char *user,
                int (*cb)(void *arg, const char *user, const char *tenant,
                          const struct ta_otp_row *row),
                void *arg)
{
	ta_store *st = NULL;
	int r;

	if ((r = store_of(ctx, &st)) != TA_OK)
		return r;
	return ta_store_otp_list(st, user, cb, arg);
}

static int check_params(ta_ctx *ctx, const struct ta_otp_params *p)
{
	if ((p->type != TA_OTP_HOTP && p->type != TA_OTP_TOTP) || ta_hash_len(p->alg) == 0 ||
	    p->digits < 6 || p->digits > 8 ||
	    (p->type == TA_OTP_TOTP && (p->period < 1 || p->period > 3600))) {
		ta_logf(ctx, TA_LOG_ERR, "OTP parameters out of range (digits 6-8, period 1-3600)");
		return TA_ERR_INPUT;
	}
	return TA_OK;
}

/* Seal and store one secret; the caller holds a transaction if it wants one. */
static int put_secret(ta_ctx *ctx, ta_store *st, const char *user, const char *tenant,
                      const struct ta_otp_params *p, const uint8_t *secret, size_t len,
                      uint64_t next, int replace)
{
	struct ta_otp_row row;
	uint8_t aad[TA_MAX_USER + TA_MAX_TENANT + 2];
	const uint8_t *key = NULL;
	size_t aadlen = ta_otp_aad(user, tenant, aad, sizeof(aad));
	int r;

	if ((r = ta_ctx_key(ctx, &key)) != TA_OK)
		return r;
	memset(&row, 0, sizeof(row));
	row.p = *p;
	row.next = next;
	row.created = ta_now(ctx);
	if ((r = ta_seal(key, aad, aadlen, secret, len, row.sealed)) != TA_OK)
		goto out;
	row.sealed_len = len + TA_GCM_NONCE_LEN + TA_GCM_TAG_LEN;
	r = ta_store_otp_put(st, user, tenant, &row, replace);
	if (r == TA_ERR_EXISTS)
		ta_logf(
		    ctx, TA_LOG_ERR,
		    "user=%s tenant=%s already has an OTP secret (remove it first, or replace it)",
		    TA_Q(user), TA_Q(tenant));
	else if (r != TA_OK)
		ta_logf(ctx, TA_LOG_ERR, "cannot store OTP secret: %s", ta_store_errmsg(st));
out:
	ta_wipe(&row, sizeof(row));
	return r;
}

int ta_otp_enroll(ta_ctx *ctx, const char *user, const char *tenant, const struct ta_otp_params *p,
                  const uint8_t *secret, size_t secret_len, uint64_t next, int replace,
                  uint8_t secret_out[TA_OTP_MAX_SECRET], size_t *secret_out_len)
{
	char u[TA_MAX_USER + 1], t[TA_MAX_TENANT + 1];
	ta_store *st = NULL;
	int r;

	if ((r = ta_resolve_identity(ctx->cfg, user, tenant, u, t)) != TA_OK)
		return fail(ctx, r, "user or tenant name");
	if ((r = check_params(ctx, p)) != TA_OK)
		return r;
	if (next > TA_OTP_COUNTER_MAX) {
		ta_logf(ctx, TA_LOG_ERR, "OTP counter %llu is too large (at most 2^62 = %llu)",
		        (unsigned long long)next, (unsigned long long)TA_OTP_COUNTER_MAX);
		return TA_ERR_INPUT;
	}
	if (secret == NULL) {
		secret_len = p->alg == TA_HASH_SHA1 ? 20 : ta_hash_len(p->alg);
		if ((r = ta_random(secret_out, secret_len)) != TA_OK)
			return fail(ctx, r, "random source");
	} else {
		if (secret_len < TA_OTP_MIN_SECRET || secret_len > TA_OTP_MAX_SECRET) {
			ta_logf(ctx, TA_LOG_ERR, "OTP secret must be %d to %d bytes (got %zu)",
			        TA_OTP_MIN_SECRET, TA_OTP_MAX_SECRET, secret_len);
			return TA_ERR_INPUT;
		}
		memcpy(secret_out, secret, secret_len);
	}
	*secret_out_len = secret_len;
	/* Under the user's lock, as a verification of the user: no code of
	 * the old secret is spent between the read of its step and the write
	 * that replaces it, nor after that write on the new row. */
	if ((r = store_of(ctx, &st)) == TA_OK && (r = ta_store_begin_user(st, u, t)) != TA_OK)
		ta_logf(ctx, TA_LOG_ERR, "cannot start a write transaction: %s",
		        ta_store_errmsg(st));
	if (r == TA_OK && replace) {
		/* A replaced TOTP secret keeps its last step: no code accepted
		 * before the replacement can be accepted again after it. */
		struct ta_otp_row old;
		if (ta_store_otp_get(st, u, t, &old) == TA_OK && old.p.type == TA_OTP_TOTP &&
		    p->type == TA_OTP_TOTP && old.p.period == p->period && old.next > next)
			next = old.next;
		ta_wipe(&old, sizeof(old));
	}
	if (r == TA_OK)
		r = put_secret(ctx, st, u, t, p, secret_out, secret_len, next, replace);
	if (r == TA_OK && (r = ta_store_commit(st)) != TA_OK)
		ta_logf(ctx, TA_LOG_ERR, "cannot store OTP secret: %s", ta_store_errmsg(st));
	ta_store_rollback(st);
	if (r != TA_OK) {
		ta_wipe(secret_out, TA_OTP_MAX_SECRET);
		return r;
	}
	ta_logf(ctx, TA_LOG_INFO, "OTP secret enrolled for user=%s tenant=%s", TA_Q(u), TA_Q(t));
	return TA_OK;
}

int ta_otp_remove(ta_ctx *ctx, const char *user, const char *tenant)
{
	char u[TA_MAX_USER + 1], t[TA_MAX_TENANT + 1];
	ta_store *st = NULL;
	int r;

	if ((r = ta_resolve_identity(ctx->cfg, user, tenant, u, t)) != TA_OK)
		return fail(ctx, r, "user or tenant name");
	if ((r = store_of(ctx, &st)) != TA_OK)
		return r;
	r = ta_store_otp_delete(st, u, t);
	if (r == TA_ERR_NOT_FOUND)
		ta_logf(ctx, TA_LOG_ERR, "user=%s tenant=%s has no OTP secret", TA_Q(u), TA_Q(t));
	else if (r != TA_OK)
		ta_logf(ctx, TA_LOG_ERR, "cannot remove: %s", ta_store_errmsg(st));
	return r;
}

int ta_throttle_unlock(ta_ctx *ctx, const char *user, const char *tenant, unsigned *count)
{
	ta_store *st = NULL;
	int r;

	if ((r = store_of(ctx, &st)) != TA_OK)
		return r;
	/* Serialised with the user's failure counting (every tenant: with
	 * everyone's), so an unlock is never overwritten by a count read
	 * before it. */
	r = tenant != NULL ? ta_store_begin_user(st, user, tenant) : ta_store_begin(st);
	if (r == TA_OK && (r = ta_store_throttle_clear(st, user, tenant, count)) == TA_OK)
		r = ta_store_commit(st);
	ta_store_rollback(st);
	if (r != TA_OK)
		ta_logf(ctx, TA_LOG_ERR, "cannot unlock: %s", ta_store_errmsg(st));
	return r;
}

int ta_token_spend(ta_ctx *ctx, const char *id)
{
	ta_store *st = NULL;
	int r;

	if ((r = store_of(ctx, &st)) != TA_OK)
		return r;
	/* One UPDATE ... WHERE revoked=0: the store says who won. */
	r = ta_store_token_revoke_id(st, id, ta_now(ctx));
	if (r != TA_OK && r != TA_ERR_REVOKED && r != TA_ERR_NOT_FOUND)
		ta_logf(ctx, TA_LOG_ERR, "cannot revoke: %s", ta_store_errmsg(st));
	return r;
}
