/*
 * td_api.c - the verify service's endpoints: the core's verdicts, through
 * its public API only, turned into answers (SPEC §5).
 */
#include "td_api.h"

#include "admin.h"
#include "crypto.h"
#include "otp.h"
#include "records.h"
#include "token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

/* ---- the code table --------------------------------------------------------- */

struct code_row {
	enum td_code code;
	unsigned status;
	const char *outcome, *message;
};

static const struct code_row internal_row = {TD_INTERNAL, 500, "error", "internal error"};

static const struct code_row codes[] = {
    {TD_OK, 200, "success", "success"},
    {TD_REGISTER_FAILED, 500, "error", "token register to user failed"},
    {TD_BAD_JSON, 400, "bad_request", "body is not a valid JSON object"},
    {TD_BAD_INPUT, 400, "bad_request", "invalid input"},
    {TD_STORE_DAMAGED, 503, "unavailable", "store is damaged or unsafe"},
    {TD_STORE, 503, "unavailable", "store unavailable"},
    {TD_TOO_LARGE, 413, "too_large", "request body too large"},
    {TD_MEDIA_TYPE, 415, "bad_request", "unsupported content type"},
    {TD_NOT_FOUND, 404, "not_found", "no such endpoint"},
    {TD_METHOD, 405, "bad_request", "method not allowed"},
    {TD_RATE, 429, "rate_limited", "too many requests"},
    {TD_INTERNAL, 500, "error", "internal error"},
    {TD_BAD_HTTP, 400, "bad_request",
     "malformed HTTP request (ambiguous length, bad header name or control byte)"},
    {TD_NEED_KEY, 401, "unauthorized", "API key required"},
    {TD_BAD_KEY, 401, "unauthorized", "wrong API key"},
    {TD_NEED_SIG, 401, "unauthorized", "request signature required"},
    {TD_BAD_SIG, 401, "unauthorized", "bad request signature"},
    {TD_STALE, 401, "unauthorized", "request timestamp outside the allowed window"},
    {TD_REPLAY, 401, "unauthorized", "replayed request nonce"},
    {TD_CLIENT_LOCKED, 429, "locked", "client locked after repeated failures"},
    {TD_BAD_CENTOKEN, 401, "unauthorized", "wrong cenToken or admin credential"},
    {TD_FORBIDDEN, 403, "forbidden", "forbidden"},
    {TD_REGISTER_OFF, 403, "forbidden",
     "registration needs a signed request: the service has no sign_key_file"},
    {TD_INVALID, 403, "invalid", "invalid token"},
    {TD_EXPIRED, 403, "expired", "token expired"},
    {TD_REVOKED, 403, "revoked", "token revoked"},
    {TD_LOCKED, 403, "locked", "account locked after repeated failures"},
    {TD_OTP_EXISTS, 409, "exists", "an OTP token already registered to this user"},
};

static const struct code_row *row_of(enum td_code code)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].code == code)
			return &codes[i];
	return &internal_row;
}

unsigned td_status(enum td_code code)
{
	return row_of(code)->status;
}

enum td_code td_code_of(int err)
{
	switch (err) {
	case TA_OK: return TD_OK;
	case TA_ERR_EXPIRED: return TD_EXPIRED;
	case TA_ERR_REVOKED: return TD_REVOKED;
	case TA_ERR_LOCKED: return TD_LOCKED;
	case TA_ERR_REJECTED:
	case TA_ERR_REPLAY:
	case TA_ERR_TENANT:
	case TA_ERR_NO_CREDENTIAL: return TD_INVALID;
	case TA_ERR_UNAVAILABLE: return TD_STORE;
	case TA_ERR_INSECURE:
	case TA_ERR_CORRUPT: return TD_STORE_DAMAGED;
	case TA_ERR_INPUT: return TD_BAD_INPUT;
	case TA_ERR_EXISTS: return TD_OTP_EXISTS;
	}
	return TD_INTERNAL;
}

void td_answer_clear(struct td_answer *a)
{
	if (a == NULL)
		return;
	ta_wipe_free(a->body);
	a->body = NULL;
}

/* Take ownership of a printed cJSON tree as the answer body. */
static enum td_code set_body(struct td_answer *a, cJSON *obj)
{
	char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;

	cJSON_Delete(obj);
	td_answer_clear(a);
	if (text == NULL) {
		a->status = 500;
		a->code = TD_INTERNAL;
		a->outcome = "error";
		return TD_INTERNAL;
	}
	a->body = text;
	return TD_OK;
}

static void set_code(struct td_answer *a, enum td_code code)
{
	const struct code_row *r = row_of(code);

	a->code = code;
	a->status = r->status;
	a->outcome = r->outcome;
}

enum td_code td_answer_error(struct td_answer *a, enum td_code code, enum td_style style,
                             const char *detail)
{
	const struct code_row *r = row_of(code);
	char msg[256];
	cJSON *o = cJSON_CreateObject();

	set_code(a, code);
	if (style == TD_STYLE_VERIFY && a->status == 403)
		snprintf(msg, sizeof(msg), "Wrong token");
	else
		snprintf(msg, sizeof(msg), "%s%s%s", r->message, detail ? ": " : "",
		         detail ? detail : "");
	if (o == NULL || cJSON_AddNumberToObject(o, "code", code) == NULL ||
	    cJSON_AddStringToObject(o, "message", msg) == NULL)
		goto fail;
	if (style == TD_STYLE_VALIDATE && cJSON_AddNumberToObject(o, "retCode", code) == NULL)
		goto fail;
	if (style == TD_STYLE_VERIFY && cJSON_AddStringToObject(o, "error", msg) == NULL)
		goto fail;
	if (style == TD_STYLE_REGISTER && cJSON_AddNullToObject(o, "object") == NULL)
		goto fail;
	return set_body(a, o);
fail:
	cJSON_Delete(o);
	return set_body(a, NULL);
}

/* Copy the names for the log line (user and tenant are never secret). */
static void set_names(struct td_answer *a, const char *user, const char *tenant)
{
	snprintf(a->user, sizeof(a->user), "%s", user);
	snprintf(a->tenant, sizeof(a->tenant), "%s", tenant);
}

/* ---- validate (seed 000) ------------------------------------------------------ */

enum td_code td_api_validate(ta_ctx *ctx, const char *body, size_t len, const char *rhost,
                             struct td_answer *a)
{
	struct td_triple t;
	struct ta_outcome out;
	struct ta_request req;
	const char *why = NULL;
	cJSON *o = NULL;
	enum td_code code = td_parse_validate(body, len, &t, &why);
	int r;

	if (code != TD_OK)
		return td_answer_error(a, code, TD_STYLE_VALIDATE, why);
	memset(&req, 0, sizeof(req));
	req.user = t.user;
	req.tenant = t.tenant;
	req.credential = t.token;
	req.credential_len = t.token_len;
	req.service = "tokenauthd";
	req.rhost = rhost;
	r = ta_verify(ctx, &req, &out);
	td_triple_clear(&t);
	if (out.user[0])
		set_names(a, out.user, out.tenant);
	else
		set_names(a, t.user, t.tenant);
	if (r != TA_OK && !ta_err_is_rejection(r) && r != TA_ERR_NO_CREDENTIAL)
		return td_answer_error(a, td_code_of(r), TD_STYLE_VALIDATE, NULL);
	set_code(a, td_code_of(r));
	a->status = 200; /* seed 000: a verdict is always HTTP 200 */
	if ((o = cJSON_CreateObject()) == NULL ||
	    cJSON_AddNumberToObject(o, "retCode", a->code) == NULL ||
	    cJSON_AddStringToObject(
	        o, "message", r == TA_OK ? "validate success" : row_of(a->code)->message) == NULL) {
		cJSON_Delete(o);
		o = NULL;
	}
	return set_body(a, o);
}

/* ---- generate (seed 004) ------------------------------------------------------ */

/* {"token","expiration_time","token_id"}, built by hand: no unwiped copy in cJSON. */
static char *generate_body(const char *token, int64_t expires, const char *id)
{
	size_t cap = TA_TOKEN_LEN + TA_TOKEN_ID_LEN + 96;
	char *text = malloc(cap);
	int n;

	if (text == NULL)
		return NULL;
	n = snprintf(text, cap, "{\"token\":\"%s\",\"expiration_time\":%lld,\"token_id\":\"%s\"}",
	             token, (long long)expires, id);
	if (n < 0 || (size_t)n >= cap) {
		ta_wipe_free(text);
		return NULL;
	}
	return text;
}

enum td_code td_api_generate(ta_ctx *ctx, const char *body, size_t len, struct td_answer *a)
{
	struct td_generate g;
	char token[TA_TOKEN_LEN + 1], id[TA_TOKEN_ID_LEN + 1], *text = NULL;
	const char *why = NULL;
	int64_t expires = 0;
	enum td_code code = td_parse_generate(body, len, &g, &why);
	int r;

	if (code != TD_OK)
		return td_answer_error(a, code, TD_STYLE_PLAIN, why);
	set_names(a, g.user, g.tenant);
	r = ta_token_issue(ctx, g.user, g.has_tenant ? g.tenant : NULL, g.ttl, g.params, token, id,
	                   &expires);
	td_generate_clear(&g);
	if (r != TA_OK)
		return td_answer_error(a, td_code_of(r), TD_STYLE_PLAIN, NULL);
	text = generate_body(token, expires, id);
	ta_wipe(token, sizeof(token));
	td_answer_clear(a);
	set_code(a, TD_OK);
	if ((a->body = text) == NULL)
		return td_answer_error(a, TD_INTERNAL, TD_STYLE_PLAIN, NULL);
	return TD_OK;
}

/* ---- verify and introspect ---------------------------------------------------- */

/*
 * Drop every stored member that could be read as one of ours or as another
 * stored one: a reserved name in any case (a row written before the core
 * refused them, or planted in a store that was copied in), or a name that
 * occurs twice.  A reader that takes the first of two "expiration_time"
 * or "userAccount" members must see ours.
 */
static void drop_shadowing_params(cJSON *o)
{
	cJSON *c = o->child;

	while (c != NULL) {
		cJSON *next = c->next;
		int drop = c->string == NULL || ta_token_param_reserved(c->string, strlen(c->string));
		for (cJSON *d = o->child; !drop && d != NULL; d = d->next)
			drop = d != c && d->string != NULL && strcasecmp(d->string, c->string) == 0;
		if (drop)
			cJSON_Delete(cJSON_DetachItemViaPointer(o, c));
		c = next;
	}
}

/* The stored parameters plus userAccount, tenantSpaceId, expiration_time. */
static cJSON *verify_object(const struct ta_token_row *row)
{
	cJSON *o = row->params ? cJSON_Parse(row->params) : cJSON_CreateObject();

	if (o == NULL || !cJSON_IsObject(o))
		goto fail;
	drop_shadowing_params(o);
	if (cJSON_AddStringToObject(o, "userAccount", row->user) == NULL ||
	    cJSON_AddStringToObject(o, "tenantSpaceId", row->tenant) == NULL ||
	    cJSON_AddNumberToObject(o, "expiration_time", (double)row->expires) == NULL)
		goto fail;
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

enum td_code td_api_verify(ta_ctx *ctx, const char *token, struct td_answer *a)
{
	struct ta_token_row row;
	size_t len = token ? strlen(token) : 0;
	cJSON *o = NULL;
	int r;

	if (len == 0 || len > TA_MAX_CREDENTIAL)
		return td_answer_error(a, TD_INVALID, TD_STYLE_VERIFY, NULL);
	/* ta_token_lookup refuses a locked-out owner's token (TA_ERR_LOCKED) */
	r = ta_token_lookup(ctx, token, len, &row);
	if (r != TA_OK)
		return td_answer_error(a, td_code_of(r), TD_STYLE_VERIFY, NULL);
	set_names(a, row.user, row.tenant);
	o = verify_object(&row);
	free(row.params);
	set_code(a, TD_OK);
	return set_body(a, o);
}

/* RFC 7662 §2.2: an inactive token gets {"active": false} and nothing else. */
static cJSON *introspect_object(const struct ta_token_row *row)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || cJSON_AddTrueToObject(o, "active") == NULL ||
	    cJSON_AddStringToObject(o, "sub", row->user) == NULL ||
	    cJSON_AddStringToObject(o, "username", row->user) == NULL ||
	    cJSON_AddStringToObject(o, "tenantSpaceId", row->tenant) == NULL ||
	    cJSON_AddStringToObject(o, "token_type", "access_token") == NULL ||
	    cJSON_AddStringToObject(o, "jti", row->id) == NULL ||
	    cJSON_AddNumberToObject(o, "iat", (double)row->created) == NULL ||
	    (row->expires != 0 &&
	     cJSON_AddNumberToObject(o, "exp", (double)row->expires) == NULL)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *inactive_object(void)
{
	cJSON *o = cJSON_CreateObject();

	if (o != NULL && cJSON_AddFalseToObject(o, "active") == NULL) {
		cJSON_Delete(o);
		o = NULL;
	}
	return o;
}

/*
 * A JWT, when verify= names the jwt backend: its claims as RFC 7662 says,
 * or {"active": false}.  TA_ERR_NO_CREDENTIAL: not a JWT, or no jwt
 * backend; the caller looks the token up in the store.
 */
static int introspect_jwt(ta_ctx *ctx, const char *tok, size_t len, struct td_answer *a,
                          enum td_code *code)
{
	char *json = NULL;
	int r = ta_jwt_introspect(ctx, tok, len, &json);

	if (r == TA_ERR_NO_CREDENTIAL)
		return r;
	if (r != TA_OK && !ta_err_is_rejection(r)) {
		*code = td_answer_error(a, td_code_of(r), TD_STYLE_PLAIN, NULL);
		return r;
	}
	set_code(a, td_code_of(r));
	a->status = 200;
	if (r == TA_OK) {
		cJSON *o = cJSON_Parse(json), *u = cJSON_GetObjectItemCaseSensitive(o, "username");
		if (cJSON_IsString(u))
			set_names(a, u->valuestring, "");
		free(json);
		*code = set_body(a, o);
	} else {
		*code = set_body(a, inactive_object());
	}
	return r;
}

enum td_code td_api_introspect(ta_ctx *ctx, const char *body, size_t len, struct td_answer *a)
{
	struct ta_token_row row;
	const char *why = NULL;
	char *tok = NULL;
	size_t tlen = 0;
	cJSON *o = NULL;
	enum td_code code = td_parse_form_token(body, len, &tok, &tlen, &why);
	int r;

	if (code != TD_OK)
		return td_answer_error(a, code, TD_STYLE_PLAIN, why);
	if (introspect_jwt(ctx, tok, tlen, a, &code) != TA_ERR_NO_CREDENTIAL) {
		ta_wipe(tok, tlen);
		free(tok);
		return code;
	}
	r = tlen <= TA_MAX_CREDENTIAL ? ta_token_lookup(ctx, tok, tlen, &row) : TA_ERR_REJECTED;
	ta_wipe(tok, tlen);
	free(tok);
	if (r != TA_OK && !ta_err_is_rejection(r))
		return td_answer_error(a, td_code_of(r), TD_STYLE_PLAIN, NULL);
	set_code(a, td_code_of(r));
	a->status = 200;
	if (r == TA_OK) {
		set_names(a, row.user, row.tenant);
		o = introspect_object(&row);
		free(row.params);
	} else {
		o = inactive_object();
	}
	return set_body(a, o);
}

/* ---- registration (seed 002) -------------------------------------------------- */

/* cenToken == hex HMAC-SHA256(key, admin + auth_token), in constant time. */
static int centoken_ok(const uint8_t *key, size_t keylen, const char *admin, const char *auth,
                       const char *centoken)
{
	size_t al = strlen(admin), tl = strlen(auth), maclen = 0;
	uint8_t *msg = malloc(al + tl + 1), mac[64];
	char hex[129];
	int ok = 0;

	if (msg == NULL)
		return 0;
	memcpy(msg, admin, al);
	memcpy(msg + al, auth, tl);
	if (ta_hmac(TA_HASH_SHA256, key, keylen, msg, al + tl, mac, &maclen) == TA_OK) {
		ta_hex(mac, maclen, hex);
		ok = ta_ct_eq(hex, centoken, 64);
	}
	ta_wipe(msg, al + tl);
	free(msg);
	ta_wipe(mac, sizeof(mac));
	ta_wipe(hex, sizeof(hex));
	return ok;
}

/* The admin's own credential, through ta_verify: same lockout as a login. */
static int admin_verify(ta_ctx *ctx, const char *admin, const char *auth, const char *rhost,
                        struct ta_outcome *out)
{
	struct ta_request req;

	memset(&req, 0, sizeof(req));
	memset(out, 0, sizeof(*out));
	req.user = admin;
	req.credential = auth;
	req.credential_len = strlen(auth);
	req.service = "tokenauthd-admin";
	req.rhost = rhost;
	return ta_verify(ctx, &req, out);
}

/* The answer code of a refused admin credential. */
static enum td_code admin_refusal(int err)
{
	if (err == TA_ERR_LOCKED)
		return TD_LOCKED;
	if (ta_err_is_rejection(err) || err == TA_ERR_NO_CREDENTIAL)
		return TD_BAD_CENTOKEN;
	return td_code_of(err);
}

/*
 * Spend the admin credential that authorised this registration, so that a
 * captured request cannot be sent again with another body: an access token
 * is revoked, an OTP code is already spent by ta_verify.  TD_OK, or the
 * answer code when the credential cannot be spent (store down, remote,
 * already spent by a racing request).
 */
static enum td_code spend_admin_credential(ta_ctx *ctx, const struct ta_outcome *out)
{
	int r;

	if (out->method != NULL && strcmp(out->method, "otp") == 0)
		return TD_OK;
	if (out->method == NULL || strcmp(out->method, "token") != 0 || out->token_id[0] == '\0')
		return TD_FORBIDDEN;
	/* One UPDATE ... WHERE revoked=0: of two racing requests only one wins. */
	r = ta_token_spend(ctx, out->token_id);
	if (r == TA_OK)
		return TD_OK;
	if (r == TA_ERR_REVOKED)
		return TD_BAD_CENTOKEN;
	if (r == TA_ERR_CORRUPT || r == TA_ERR_INSECURE)
		return TD_STORE_DAMAGED; /* the store would not open */
	return TD_STORE;
}

/* The detail of a registration refused after the cenToken checked out. */
static const char *spend_detail(enum td_code code)
{
	if (code == TD_FORBIDDEN)
		return "the authToken must be a local access token or OTP code "
		       "(it is spent by the registration)";
	if (code == TD_BAD_CENTOKEN)
		return "the authToken was revoked or already used for a registration";
	return NULL;
}

static cJSON *register_object(const struct td_register *r, const char *tenant,
                              const uint8_t *secret, size_t slen, int generated)
{
	char uri[512];
	cJSON *o = cJSON_CreateObject(), *obj = NULL;

	if (o == NULL || cJSON_AddNumberToObject(o, "code", 0) == NULL ||
	    cJSON_AddStringToObject(o, "message", "Success") == NULL ||
	    (obj = cJSON_AddObjectToObject(o, "object")) == NULL ||
	    cJSON_AddStringToObject(obj, "username", r->user) == NULL ||
	    cJSON_AddStringToObject(obj, "tenantSpaceId", tenant) == NULL ||
	    cJSON_AddStringToObject(obj, "tokenSn", r->token_sn) == NULL ||
	    cJSON_AddStringToObject(obj, "otpType", r->p.type == TA_OTP_HOTP ? "hotp" : "totp") ==
	        NULL)
		goto fail;
	/* The Key URI (with the secret) only when we made the secret: shown once. */
	if (generated) {
		if (ta_otp_uri(&r->p, secret, slen, "tokenauth", r->user, 0, uri, sizeof(uri)) !=
		        TA_OK ||
		    cJSON_AddStringToObject(obj, "otpauth", uri) == NULL)
			goto fail;
	}
	ta_wipe(uri, sizeof(uri));
	return o;
fail:
	ta_wipe(uri, sizeof(uri));
	td_json_wipe_free(o);
	return NULL;
}

/* Answer with a secret inside: print, then wipe the tree's copy. */
static enum td_code set_secret_body(struct td_answer *a, cJSON *o)
{
	char *text = o ? cJSON_PrintUnformatted(o) : NULL;

	td_json_wipe_free(o);
	td_answer_clear(a);
	if (text == NULL)
		return td_answer_error(a, TD_INTERNAL, TD_STYLE_REGISTER, NULL);
	a->body = text;
	return TD_OK;
}

static enum td_code register_enrol(ta_ctx *ctx, const ta_config *cfg, struct td_register *r,
                                   struct td_answer *a)
{
	char u[TA_MAX_USER + 1], t[TA_MAX_TENANT + 1];
	uint8_t out[TA_OTP_MAX_SECRET];
	size_t olen = 0;
	int rc, generated = r->secret_len == 0;
	enum td_code code;

	rc = ta_resolve_identity(cfg, r->user, r->has_tenant ? r->tenant : NULL, u, t);
	if (rc != TA_OK)
		return td_answer_error(a, TD_BAD_INPUT, TD_STYLE_REGISTER,
		                       "username or tenantSpaceId");
	set_names(a, u, t);
	rc = ta_otp_enroll(ctx, u, t, &r->p, generated ? NULL : r->secret, r->secret_len, 0, 0, out,
	                   &olen);
	if (rc == TA_ERR_EXISTS)
		return td_answer_error(a, TD_OTP_EXISTS, TD_STYLE_REGISTER, NULL);
	if (rc == TA_ERR_UNAVAILABLE || rc == TA_ERR_CORRUPT || rc == TA_ERR_INSECURE)
		return td_answer_error(a, td_code_of(rc), TD_STYLE_REGISTER, NULL);
	if (rc != TA_OK)
		return td_answer_error(a, TD_REGISTER_FAILED, TD_STYLE_REGISTER, NULL);
	set_code(a, TD_OK);
	code = set_secret_body(a, register_object(r, t, out, olen, generated));
	ta_wipe(out, sizeof(out));
	return code;
}

enum td_code td_api_register(ta_ctx *ctx, const ta_config *cfg, const char *path,
                             const char *auth_token, const uint8_t *key, size_t keylen,
                             const char *body, size_t len, const char *rhost, struct td_answer *a)
{
	struct td_register r;
	struct ta_outcome out;
	char admin[TA_MAX_USER + 1];
	const char *why = NULL;
	enum td_code code;
	int rc;

	if ((code = td_parse_path_admin(path, admin)) != TD_OK)
		return td_answer_error(a, code, TD_STYLE_REGISTER,
		                       code == TD_BAD_INPUT ? "admin name" : NULL);
	snprintf(a->user, sizeof(a->user), "%s", admin);
	if ((code = td_parse_register(body, len, &r, &why)) != TD_OK)
		return td_answer_error(a, code, TD_STYLE_REGISTER, why);
	if (auth_token == NULL || auth_token[0] == '\0' || strlen(auth_token) > TA_MAX_CREDENTIAL ||
	    key == NULL || !centoken_ok(key, keylen, admin, auth_token, r.centoken)) {
		code = td_answer_error(a, TD_BAD_CENTOKEN, TD_STYLE_REGISTER, NULL);
		goto out;
	}
	if ((rc = admin_verify(ctx, admin, auth_token, rhost, &out)) != TA_OK) {
		code =
		    td_answer_error(a, admin_refusal(rc), TD_STYLE_REGISTER,
		                    rc == TA_ERR_REVOKED ? "the authToken was revoked or already "
		                                           "used for a registration"
		                                         : NULL);
		goto out;
	}
	/* Spent before anything is enrolled: a failed enrolment spends it too. */
	if ((code = spend_admin_credential(ctx, &out)) != TD_OK) {
		code = td_answer_error(a, code, TD_STYLE_REGISTER, spend_detail(code));
		goto out;
	}
	code = register_enrol(ctx, cfg, &r, a);
out:
	ta_wipe(&r, sizeof(r));
	return code;
}
