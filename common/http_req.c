/*
 * http_req.c - strict parsing of the verify service's requests and the
 * answers built from the core's verdicts (SPEC §5).
 */
#include "http_req.h"
#include "admin.h"
#include "crypto.h"
#include "ctx_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

/* ---- the code table --------------------------------------------------------- */

struct code_row {
	int code;
	unsigned status;
	const char *outcome, *message;
};

static const struct code_row codes[] = {
    {TA_HC_OK, 200, "success", "success"},
    {TA_HC_REGISTER_FAILED, 500, "error", "token register to user failed"},
    {TA_HC_BAD_JSON, 400, "bad_request", "body is not a valid JSON object"},
    {TA_HC_BAD_INPUT, 400, "bad_request", "invalid input"},
    {TA_HC_STORE_DAMAGED, 503, "unavailable", "store is damaged or unsafe"},
    {TA_HC_STORE, 503, "unavailable", "store unavailable"},
    {TA_HC_TOO_LARGE, 413, "too_large", "request body too large"},
    {TA_HC_MEDIA_TYPE, 415, "bad_request", "unsupported content type"},
    {TA_HC_NOT_FOUND, 404, "not_found", "no such endpoint"},
    {TA_HC_METHOD, 405, "bad_request", "method not allowed"},
    {TA_HC_RATE, 429, "rate_limited", "too many requests"},
    {TA_HC_INTERNAL, 500, "error", "internal error"},
    {TA_HC_BAD_HTTP, 400, "bad_request",
     "malformed HTTP request (ambiguous length, bad header name or control byte)"},
    {TA_HC_NEED_KEY, 401, "unauthorized", "API key required"},
    {TA_HC_BAD_KEY, 401, "unauthorized", "wrong API key"},
    {TA_HC_NEED_SIG, 401, "unauthorized", "request signature required"},
    {TA_HC_BAD_SIG, 401, "unauthorized", "bad request signature"},
    {TA_HC_STALE, 401, "unauthorized", "request timestamp outside the allowed window"},
    {TA_HC_REPLAY, 401, "unauthorized", "replayed request nonce"},
    {TA_HC_CLIENT_LOCKED, 429, "locked", "client locked after repeated failures"},
    {TA_HC_BAD_CENTOKEN, 401, "unauthorized", "wrong cenToken or admin credential"},
    {TA_HC_FORBIDDEN, 403, "forbidden", "forbidden"},
    {TA_HC_REGISTER_OFF, 403, "forbidden",
     "registration needs a signed request: the service has no sign_key_file"},
    {TA_HC_INVALID, 403, "invalid", "invalid token"},
    {TA_HC_EXPIRED, 403, "expired", "token expired"},
    {TA_HC_REVOKED, 403, "revoked", "token revoked"},
    {TA_HC_LOCKED, 403, "locked", "account locked after repeated failures"},
    {TA_HC_OTP_EXISTS, 409, "exists", "an OTP token already registered to this user"},
};

static const struct code_row *row_of(int code)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].code == code)
			return &codes[i];
	return &codes[11]; /* TA_HC_INTERNAL */
}

unsigned ta_http_status(int code)
{
	return row_of(code)->status;
}

int ta_http_code_of(int err)
{
	switch (err) {
	case TA_OK: return TA_HC_OK;
	case TA_ERR_EXPIRED: return TA_HC_EXPIRED;
	case TA_ERR_REVOKED: return TA_HC_REVOKED;
	case TA_ERR_LOCKED: return TA_HC_LOCKED;
	case TA_ERR_REJECTED:
	case TA_ERR_REPLAY:
	case TA_ERR_TENANT:
	case TA_ERR_NO_CREDENTIAL: return TA_HC_INVALID;
	case TA_ERR_UNAVAILABLE: return TA_HC_STORE;
	case TA_ERR_INSECURE:
	case TA_ERR_CORRUPT: return TA_HC_STORE_DAMAGED;
	case TA_ERR_INPUT: return TA_HC_BAD_INPUT;
	case TA_ERR_EXISTS: return TA_HC_OTP_EXISTS;
	}
	return TA_HC_INTERNAL;
}

void ta_http_answer_clear(struct ta_http_answer *a)
{
	if (a == NULL)
		return;
	ta_wipe_free(a->body);
	a->body = NULL;
}

/* Take ownership of a printed cJSON tree as the answer body. */
static int set_body(struct ta_http_answer *a, cJSON *obj)
{
	char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;

	cJSON_Delete(obj);
	ta_http_answer_clear(a);
	if (text == NULL) {
		a->status = 500;
		a->code = TA_HC_INTERNAL;
		a->outcome = "error";
		return TA_ERR_NOMEM;
	}
	a->body = text;
	return TA_OK;
}

static void set_code(struct ta_http_answer *a, int code)
{
	const struct code_row *r = row_of(code);

	a->code = code;
	a->status = r->status;
	a->outcome = r->outcome;
}

int ta_http_error(struct ta_http_answer *a, int code, enum ta_http_style style, const char *detail)
{
	const struct code_row *r = row_of(code);
	char msg[256];
	cJSON *o = cJSON_CreateObject();

	set_code(a, code);
	if (style == TA_HS_VERIFY && a->status == 403)
		snprintf(msg, sizeof(msg), "Wrong token");
	else
		snprintf(msg, sizeof(msg), "%s%s%s", r->message, detail ? ": " : "",
		         detail ? detail : "");
	if (o == NULL || cJSON_AddNumberToObject(o, "code", code) == NULL ||
	    cJSON_AddStringToObject(o, "message", msg) == NULL)
		goto fail;
	if (style == TA_HS_VALIDATE && cJSON_AddNumberToObject(o, "retCode", code) == NULL)
		goto fail;
	if (style == TA_HS_VERIFY && cJSON_AddStringToObject(o, "error", msg) == NULL)
		goto fail;
	if (style == TA_HS_REGISTER && cJSON_AddNullToObject(o, "object") == NULL)
		goto fail;
	return set_body(a, o);
fail:
	cJSON_Delete(o);
	return set_body(a, NULL);
}

/* ---- strict JSON ------------------------------------------------------------ */

/* Wipe every string (names too) in a tree: request bodies carry tokens. */
static void wipe_strings(cJSON *j)
{
	for (cJSON *c = j; c != NULL; c = c->next) {
		if (c->valuestring != NULL)
			ta_wipe(c->valuestring, strlen(c->valuestring));
		if (c->string != NULL)
			ta_wipe(c->string, strlen(c->string));
		wipe_strings(c->child);
	}
}

static void wipe_delete(cJSON *j)
{
	if (j != NULL)
		wipe_strings(j->child);
	cJSON_Delete(j);
}

/*
 * Parse exactly one JSON object filling the whole body (whitespace around
 * it allowed): no NUL bytes, no "\u0000" (which would cut strings short),
 * at most TA_HTTP_MAX_MEMBERS members, no duplicate names.
 */
static int parse_object(const char *body, size_t len, cJSON **out, const char **why)
{
	const char *end = NULL;
	cJSON *o = NULL;
	size_t n = 0;

	*out = NULL;
	*why = "body is not one JSON object";
	if (body == NULL || len == 0 || len > TA_HTTP_MAX_BODY || memchr(body, '\0', len) != NULL)
		return TA_HC_BAD_JSON;
	for (size_t i = 0; i + 6 <= len; i++)
		if (body[i] == '\\' && body[i + 1] == 'u' && memcmp(body + i + 2, "0000", 4) == 0)
			return *why = "NUL character in a string", TA_HC_BAD_JSON;
	o = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (o == NULL || !cJSON_IsObject(o))
		goto bad;
	while (end != NULL && end < body + len && isspace((unsigned char)*end))
		end++;
	if (end != body + len)
		goto bad;
	for (cJSON *c = o->child; c != NULL; c = c->next) {
		if (++n > TA_HTTP_MAX_MEMBERS)
			goto bad;
		for (cJSON *d = c->next; d != NULL; d = d->next)
			if (strcmp(c->string, d->string) == 0)
				return wipe_delete(o), *why = "duplicate member", TA_HC_BAD_JSON;
	}
	*out = o;
	return TA_OK;
bad:
	wipe_delete(o);
	return TA_HC_BAD_JSON;
}

static int has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/*
 * A string member: TA_OK and *out (borrowed from o), 1 when absent, or
 * TA_HC_BAD_INPUT when it is not a string, is longer than max, or (names)
 * has control characters.
 */
static int get_str(const cJSON *o, const char *name, size_t max, int name_like, const char **out)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);

	*out = NULL;
	if (m == NULL)
		return 1;
	if (!cJSON_IsString(m) || m->valuestring == NULL || strlen(m->valuestring) > max ||
	    (name_like && has_control(m->valuestring)))
		return TA_HC_BAD_INPUT;
	*out = m->valuestring;
	return TA_OK;
}

/* Copy a present string member into buf[max + 1]; required or not. */
static int copy_member(const cJSON *o, const char *name, char *buf, size_t max, int required,
                       int *present)
{
	const char *v = NULL;
	int r = get_str(o, name, max, 1, &v);

	if (present != NULL)
		*present = r == TA_OK;
	if (r == 1)
		return required ? TA_HC_BAD_INPUT : TA_OK;
	if (r != TA_OK)
		return r;
	memcpy(buf, v, strlen(v) + 1);
	return TA_OK;
}

/* ---- validate --------------------------------------------------------------- */

void ta_http_triple_clear(struct ta_http_triple *t)
{
	if (t == NULL)
		return;
	if (t->token != NULL) {
		ta_wipe(t->token, t->token_len);
		free(t->token);
	}
	t->token = NULL;
	t->token_len = 0;
}

int ta_http_parse_validate(const char *body, size_t len, struct ta_http_triple *t, const char **why)
{
	const char *tok = NULL;
	cJSON *o = NULL;
	int r;

	memset(t, 0, sizeof(*t));
	if ((r = parse_object(body, len, &o, why)) != TA_OK)
		return r;
	*why = "userAccount: required string";
	if ((r = copy_member(o, "userAccount", t->user, TA_MAX_USER, 1, NULL)) != TA_OK ||
	    t->user[0] == '\0')
		goto bad;
	*why = "tenantSpaceId: required string";
	if ((r = copy_member(o, "tenantSpaceId", t->tenant, TA_MAX_TENANT, 1, NULL)) != TA_OK)
		goto bad;
	*why = "access_token: required string";
	if (get_str(o, "access_token", TA_MAX_CREDENTIAL, 0, &tok) != TA_OK || tok[0] == '\0')
		goto bad;
	t->token_len = strlen(tok);
	if ((t->token = malloc(t->token_len + 1)) == NULL)
		goto bad;
	memcpy(t->token, tok, t->token_len + 1);
	wipe_delete(o);
	return TA_OK;
bad:
	wipe_delete(o);
	ta_http_triple_clear(t);
	return TA_HC_BAD_INPUT;
}

int ta_http_validate(ta_ctx *ctx, const char *body, size_t len, const char *rhost,
                     struct ta_http_answer *a)
{
	struct ta_http_triple t;
	struct ta_outcome out;
	struct ta_request req;
	const char *why = NULL;
	cJSON *o = NULL;
	int r = ta_http_parse_validate(body, len, &t, &why);

	if (r != TA_OK)
		return ta_http_error(a, r, TA_HS_VALIDATE, why);
	memset(&req, 0, sizeof(req));
	req.user = t.user;
	req.tenant = t.tenant;
	req.credential = t.token;
	req.credential_len = t.token_len;
	req.service = "tokenauthd";
	req.rhost = rhost;
	r = ta_verify(ctx, &req, &out);
	ta_http_triple_clear(&t);
	snprintf(a->user, sizeof(a->user), "%s", out.user[0] ? out.user : t.user);
	snprintf(a->tenant, sizeof(a->tenant), "%s", out.user[0] ? out.tenant : t.tenant);
	if (r != TA_OK && !ta_err_is_rejection(r) && r != TA_ERR_NO_CREDENTIAL)
		return ta_http_error(a, ta_http_code_of(r), TA_HS_VALIDATE, NULL);
	set_code(a, ta_http_code_of(r));
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

/* ---- generate --------------------------------------------------------------- */

void ta_http_generate_clear(struct ta_http_generate *g)
{
	if (g == NULL)
		return;
	free(g->params);
	g->params = NULL;
}

static int parse_ttl(const cJSON *m, uint64_t *ttl)
{
	double v;

	if (m == NULL)
		return *ttl = TA_HTTP_DEFAULT_TTL, TA_OK;
	if (!cJSON_IsNumber(m))
		return TA_HC_BAD_INPUT;
	v = m->valuedouble;
	if (!(v >= 1 && v <= (double)TA_HTTP_MAX_TTL) || floor(v) != v)
		return TA_HC_BAD_INPUT;
	*ttl = (uint64_t)v;
	return TA_OK;
}

/*
 * Names a parameter may not have: every member the answers of /generate,
 * /verify, /introspect and the error bodies already carry, so that no
 * stored parameter can shadow or duplicate one of ours (issue 9, defect 8).
 * Compared without regard to case: some JSON readers fold case.
 */
static const struct {
	const char *name, *why;
} reserved[] = {
    {"expiration_time", "parameter 'expiration_time' is reserved (set the lifetime with ttl)"},
    {"token", "parameter 'token' is reserved"},
    {"token_id", "parameter 'token_id' is reserved"},
    {"userAccount", "parameter 'userAccount' is reserved"},
    {"tenantSpaceId", "parameter 'tenantSpaceId' is reserved"},
    {"ttl", "parameter 'ttl' is reserved"},
    {"active", "parameter 'active' is reserved"},
    {"sub", "parameter 'sub' is reserved"},
    {"username", "parameter 'username' is reserved"},
    {"token_type", "parameter 'token_type' is reserved"},
    {"jti", "parameter 'jti' is reserved"},
    {"iat", "parameter 'iat' is reserved"},
    {"exp", "parameter 'exp' is reserved"},
    {"error", "parameter 'error' is reserved"},
    {"code", "parameter 'code' is reserved"},
    {"message", "parameter 'message' is reserved"},
    {"retCode", "parameter 'retCode' is reserved"},
};

/* The reason a member name is reserved, NULL when it is free. */
static const char *reserved_why(const char *name)
{
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcasecmp(name, reserved[i].name) == 0)
			return reserved[i].why;
	return NULL;
}

/* Every member other than the three known ones becomes a "key=value" pair. */
static int collect_params(const cJSON *o, char **json, const char **why)
{
	const char *pairs[TA_HTTP_MAX_MEMBERS] = {NULL};
	char *bufs[TA_HTTP_MAX_MEMBERS], err[160];
	size_t n = 0;
	int r = TA_HC_BAD_INPUT;

	*why = "parameters: each must be a string with a name of letters, digits, _ . -";
	for (const cJSON *c = o->child; c != NULL; c = c->next) {
		const char *rw = reserved_why(c->string);
		if (strcmp(c->string, "userAccount") == 0 ||
		    strcmp(c->string, "tenantSpaceId") == 0 || strcmp(c->string, "ttl") == 0)
			continue;
		if (rw != NULL) {
			*why = rw; /* "UserAccount", "TTL", "expiration_time", ... */
			goto out;
		}
		*why = "parameters: each must be a string with a name of letters, digits, _ . -";
		if (!cJSON_IsString(c) || strchr(c->string, '=') != NULL ||
		    n >= TA_HTTP_MAX_MEMBERS)
			goto out;
		size_t kl = strlen(c->string), vl = strlen(c->valuestring);
		if ((bufs[n] = malloc(kl + vl + 2)) == NULL)
			goto out;
		memcpy(bufs[n], c->string, kl);
		bufs[n][kl] = '=';
		memcpy(bufs[n] + kl + 1, c->valuestring, vl + 1);
		pairs[n] = bufs[n];
		n++;
	}
	r = ta_token_params(pairs, n, json, err, sizeof(err)) == TA_OK ? TA_OK
	                                                                    : TA_HC_BAD_INPUT;
	if (r != TA_OK)
		*why = "parameters: invalid name or more than 4096 bytes in all";
out:
	for (size_t i = 0; i < n; i++)
		ta_wipe_free(bufs[i]);
	return r;
}

int ta_http_parse_generate(const char *body, size_t len, struct ta_http_generate *g,
                           const char **why)
{
	cJSON *o = NULL;
	int r;

	memset(g, 0, sizeof(*g));
	if ((r = parse_object(body, len, &o, why)) != TA_OK)
		return r;
	*why = "userAccount: required string";
	if ((r = copy_member(o, "userAccount", g->user, TA_MAX_USER, 1, NULL)) != TA_OK ||
	    g->user[0] == '\0')
		goto bad;
	*why = "tenantSpaceId: must be a string";
	if ((r = copy_member(o, "tenantSpaceId", g->tenant, TA_MAX_TENANT, 0, &g->has_tenant)) !=
	    TA_OK)
		goto bad;
	*why = "ttl: must be a whole number of seconds, 1 to 31622400";
	if (parse_ttl(cJSON_GetObjectItemCaseSensitive(o, "ttl"), &g->ttl) != TA_OK)
		goto bad;
	if (collect_params(o, &g->params, why) != TA_OK)
		goto bad;
	wipe_delete(o);
	return TA_OK;
bad:
	wipe_delete(o);
	ta_http_generate_clear(g);
	return TA_HC_BAD_INPUT;
}

int ta_http_generate(ta_ctx *ctx, const char *body, size_t len, struct ta_http_answer *a)
{
	struct ta_http_generate g;
	char token[TA_TOKEN_LEN + 1], id[TA_TOKEN_ID_LEN + 1], *text = NULL;
	const char *why = NULL;
	int64_t expires = 0;
	int r = ta_http_parse_generate(body, len, &g, &why), n;
	size_t cap = TA_TOKEN_LEN + TA_TOKEN_ID_LEN + 96;

	if (r != TA_OK)
		return ta_http_error(a, r, TA_HS_PLAIN, why);
	snprintf(a->user, sizeof(a->user), "%s", g.user);
	snprintf(a->tenant, sizeof(a->tenant), "%s", g.tenant);
	r = ta_token_issue(ctx, g.user, g.has_tenant ? g.tenant : NULL, g.ttl, g.params, token, id,
	             &expires);
	ta_http_generate_clear(&g);
	if (r != TA_OK)
		return ta_http_error(a, ta_http_code_of(r), TA_HS_PLAIN, NULL);
	/* Built by hand so that no unwiped copy of the token is left in cJSON. */
	if ((text = malloc(cap)) != NULL) {
		n = snprintf(text, cap,
		             "{\"token\":\"%s\",\"expiration_time\":%lld,\"token_id\":\"%s\"}",
		             token, (long long)expires, id);
		if (n < 0 || (size_t)n >= cap) {
			ta_wipe_free(text);
			text = NULL;
		}
	}
	ta_wipe(token, sizeof(token));
	ta_http_answer_clear(a);
	set_code(a, TA_HC_OK);
	if ((a->body = text) == NULL)
		return ta_http_error(a, TA_HC_INTERNAL, TA_HS_PLAIN, NULL);
	return TA_OK;
}

/* ---- verify and introspect ---------------------------------------------------- */

/* The stored parameters plus userAccount, tenantSpaceId, expiration_time. */
static cJSON *verify_object(const struct ta_token_row *row)
{
	cJSON *o = row->params ? cJSON_Parse(row->params) : cJSON_CreateObject();

	if (o == NULL || !cJSON_IsObject(o))
		goto fail;
	if (cJSON_AddStringToObject(o, "userAccount", row->user) == NULL ||
	    cJSON_AddStringToObject(o, "tenantSpaceId", row->tenant) == NULL ||
	    cJSON_AddNumberToObject(o, "expiration_time", (double)row->expires) == NULL)
		goto fail;
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

int ta_http_verify(ta_ctx *ctx, const char *token, struct ta_http_answer *a)
{
	struct ta_token_row row;
	size_t len = token ? strlen(token) : 0;
	int r;

	if (len == 0 || len > TA_MAX_CREDENTIAL)
		return ta_http_error(a, TA_HC_INVALID, TA_HS_VERIFY, NULL);
	r = ta_token_lookup(ctx, token, len, &row);
	if (r != TA_OK)
		return ta_http_error(a, ta_http_code_of(r), TA_HS_VERIFY, NULL);
	snprintf(a->user, sizeof(a->user), "%s", row.user);
	snprintf(a->tenant, sizeof(a->tenant), "%s", row.tenant);
	cJSON *o = verify_object(&row);
	free(row.params);
	set_code(a, TA_HC_OK);
	return set_body(a, o);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode one form component of n bytes into out (capacity n + 1). */
static int form_decode(const char *s, size_t n, char *out, size_t *olen)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i], h, l;
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (n - i < 3)
				return TA_HC_BAD_INPUT;
			h = hexval((unsigned char)s[i + 1]);
			l = hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0)
				return TA_HC_BAD_INPUT;
			c = h * 16 + l;
			i += 2;
		}
		if (c == 0)
			return TA_HC_BAD_INPUT;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	*olen = o;
	return TA_OK;
}

/* One "key=value" pair of a form body: token is kept, token_type_hint ignored. */
static int form_pair(const char *p, size_t n, char **token, size_t *tlen, int *hint)
{
	const char *eq = memchr(p, '=', n);
	char key[32], *val = NULL;
	size_t kl, vl;

	if (eq == NULL || (size_t)(eq - p) >= sizeof(key))
		return TA_HC_BAD_INPUT;
	if (form_decode(p, (size_t)(eq - p), key, &kl) != TA_OK)
		return TA_HC_BAD_INPUT;
	vl = n - (size_t)(eq + 1 - p);
	if (strcmp(key, "token_type_hint") == 0 && !*hint && vl <= 64)
		return *hint = 1, TA_OK;
	if (strcmp(key, "token") != 0 || *token != NULL || vl == 0 || vl > 3 * TA_MAX_CREDENTIAL)
		return TA_HC_BAD_INPUT;
	if ((val = malloc(vl + 1)) == NULL)
		return TA_HC_INTERNAL;
	if (form_decode(eq + 1, vl, val, tlen) != TA_OK || *tlen == 0 ||
	    *tlen > TA_MAX_CREDENTIAL) {
		ta_wipe(val, vl + 1);
		free(val);
		return TA_HC_BAD_INPUT;
	}
	*token = val;
	return TA_OK;
}

int ta_http_parse_form_token(const char *body, size_t len, char **token, size_t *tlen,
                             const char **why)
{
	const char *p = body, *end = body + len;
	int hint = 0, r = TA_HC_BAD_INPUT;

	*token = NULL;
	*tlen = 0;
	*why = "expected a form body token=...[&token_type_hint=...]";
	if (body == NULL || len == 0 || len > TA_HTTP_MAX_BODY)
		return TA_HC_BAD_INPUT;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		size_t n = amp ? (size_t)(amp - p) : (size_t)(end - p);
		if ((r = form_pair(p, n, token, tlen, &hint)) != TA_OK)
			break;
		p += n + (amp ? 1 : 0);
		if (amp != NULL && p == end)
			r = TA_HC_BAD_INPUT; /* trailing '&' */
	}
	if (r == TA_OK && *token == NULL)
		r = TA_HC_BAD_INPUT;
	if (r != TA_OK && *token != NULL) {
		ta_wipe(*token, *tlen);
		free(*token);
		*token = NULL;
	}
	return r;
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

int ta_http_introspect(ta_ctx *ctx, const char *body, size_t len, struct ta_http_answer *a)
{
	struct ta_token_row row;
	const char *why = NULL;
	char *tok = NULL;
	size_t tlen = 0;
	cJSON *o = NULL;
	int r = ta_http_parse_form_token(body, len, &tok, &tlen, &why);

	if (r != TA_OK)
		return ta_http_error(a, r, TA_HS_PLAIN, why);
	r = ta_token_lookup(ctx, tok, tlen, &row);
	ta_wipe(tok, tlen);
	free(tok);
	if (r != TA_OK && !ta_err_is_rejection(r))
		return ta_http_error(a, ta_http_code_of(r), TA_HS_PLAIN, NULL);
	set_code(a, ta_http_code_of(r));
	a->status = 200;
	if (r == TA_OK) {
		snprintf(a->user, sizeof(a->user), "%s", row.user);
		snprintf(a->tenant, sizeof(a->tenant), "%s", row.tenant);
		o = introspect_object(&row);
		free(row.params);
	} else if ((o = cJSON_CreateObject()) != NULL &&
	           cJSON_AddFalseToObject(o, "active") == NULL) {
		cJSON_Delete(o);
		o = NULL;
	}
	return set_body(a, o);
}

/* ---- registration (seed 002) -------------------------------------------------- */

int ta_http_path_admin(const char *path, char out[TA_MAX_USER + 1])
{
	const size_t plen = sizeof(TA_HTTP_REGISTER_PREFIX) - 1;
	size_t n, olen = 0;

	if (path == NULL || strncmp(path, TA_HTTP_REGISTER_PREFIX, plen) != 0)
		return TA_HC_NOT_FOUND;
	path += plen;
	n = strlen(path);
	if (n == 0 || strchr(path, '/') != NULL)
		return TA_HC_NOT_FOUND;
	if (n > 3 * TA_MAX_USER)
		return TA_HC_BAD_INPUT;
	char buf[3 * TA_MAX_USER + 1];
	/* '+' is a literal plus in a path, unlike in a form */
	for (size_t i = 0; i < n; i++)
		if (path[i] == '+')
			return TA_HC_BAD_INPUT;
	if (form_decode(path, n, buf, &olen) != TA_OK || olen == 0 || olen > TA_MAX_USER ||
	    has_control(buf) || strchr(buf, ' ') != NULL)
		return TA_HC_BAD_INPUT;
	memcpy(out, buf, olen + 1);
	return TA_OK;
}

int ta_http_media_is(const char *content_type, const char *type)
{
	size_t n = strlen(type);

	if (content_type == NULL)
		return 0;
	while (*content_type == ' ' || *content_type == '\t')
		content_type++;
	if (strncasecmp(content_type, type, n) != 0)
		return 0;
	content_type += n;
	while (*content_type == ' ' || *content_type == '\t')
		content_type++;
	return *content_type == '\0' || *content_type == ';';
}

/* tokenType: 2 (OTP) as a number or a string, as the seed's clients send it. */
static int parse_token_type(const cJSON *o, const char **why)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "tokenType");

	*why = "tokenType: required, 2 (OTP)";
	if (cJSON_IsNumber(m) && m->valuedouble == 2)
		return TA_OK;
	if (cJSON_IsString(m) && strcmp(m->valuestring, "2") == 0)
		return TA_OK;
	if ((cJSON_IsNumber(m) && m->valuedouble == 1) ||
	    (cJSON_IsString(m) && strcmp(m->valuestring, "1") == 0))
		*why = "tokenType: 1 (SMS) is not supported here, only 2 (OTP)";
	return TA_HC_BAD_INPUT;
}

/* A small whole number given as a JSON number or a decimal string. */
static int get_small_uint(const cJSON *o, const char *name, unsigned min, unsigned max,
                          unsigned *out)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
	unsigned long long v;

	if (m == NULL)
		return TA_OK;
	if (cJSON_IsNumber(m) && m->valuedouble >= min && m->valuedouble <= max &&
	    floor(m->valuedouble) == m->valuedouble)
		return *out = (unsigned)m->valuedouble, TA_OK;
	if (cJSON_IsString(m) && ta_parse_uint(m->valuestring, min, max, &v) == TA_OK)
		return *out = (unsigned)v, TA_OK;
	return TA_HC_BAD_INPUT;
}

/* otpType, algorithm, digits, period, secret: all optional (TOTP/SHA1/6/30). */
static int parse_otp_params(const cJSON *o, struct ta_http_register *r, const char **why)
{
	const char *s = NULL;
	long n;

	r->p.type = TA_OTP_TOTP;
	r->p.alg = TA_HASH_SHA1;
	r->p.digits = 6;
	r->p.period = 30;
	*why = "otpType: totp or hotp";
	if (get_str(o, "otpType", 8, 1, &s) == TA_HC_BAD_INPUT)
		return TA_HC_BAD_INPUT;
	if (s != NULL && strcasecmp(s, "hotp") == 0)
		r->p.type = TA_OTP_HOTP;
	else if (s != NULL && strcasecmp(s, "totp") != 0)
		return TA_HC_BAD_INPUT;
	*why = "algorithm: SHA1, SHA256 or SHA512";
	if (get_str(o, "algorithm", 8, 1, &s) == TA_HC_BAD_INPUT)
		return TA_HC_BAD_INPUT;
	if (s != NULL && (r->p.alg = ta_otp_alg_parse(s)) == 0)
		return TA_HC_BAD_INPUT;
	*why = "digits: 6 to 8; period: 1 to 3600";
	if (get_small_uint(o, "digits", 6, 8, &r->p.digits) != TA_OK ||
	    get_small_uint(o, "period", 1, 3600, &r->p.period) != TA_OK)
		return TA_HC_BAD_INPUT;
	*why = "secret: base32, 10 to 64 bytes";
	if (get_str(o, "secret", 128, 1, &s) == TA_HC_BAD_INPUT)
		return TA_HC_BAD_INPUT;
	if (s == NULL)
		return TA_OK;
	n = ta_base32_decode(s, strlen(s), r->secret, sizeof(r->secret));
	if (n < TA_OTP_MIN_SECRET)
		return ta_wipe(r->secret, sizeof(r->secret)), TA_HC_BAD_INPUT;
	r->secret_len = (size_t)n;
	return TA_OK;
}

int ta_http_parse_register(const char *body, size_t len, struct ta_http_register *r,
                           const char **why)
{
	const char *ct = NULL;
	cJSON *o = NULL;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = parse_object(body, len, &o, why)) != TA_OK)
		return rc;
	rc = TA_HC_BAD_INPUT;
	*why = "username: required string";
	if (copy_member(o, "username", r->user, TA_MAX_USER, 1, NULL) != TA_OK || !r->user[0])
		goto out;
	*why = "tenantSpaceId: must be a string";
	if (copy_member(o, "tenantSpaceId", r->tenant, TA_MAX_TENANT, 0, &r->has_tenant) != TA_OK)
		goto out;
	*why = "tokenSn: required string of 1 to 64 bytes";
	if (copy_member(o, "tokenSn", r->token_sn, TA_HTTP_MAX_SN, 1, NULL) != TA_OK ||
	    !r->token_sn[0])
		goto out;
	if (parse_token_type(o, why) != TA_OK)
		goto out;
	*why = "cenToken: required, 64 hex characters";
	if (get_str(o, "cenToken", 64, 1, &ct) != TA_OK || strlen(ct) != 64 ||
	    strspn(ct, "0123456789abcdefABCDEF") != 64)
		goto out;
	for (size_t i = 0; i <= 64; i++)
		r->centoken[i] = (char)tolower((unsigned char)ct[i]);
	rc = parse_otp_params(o, r, why);
out:
	wipe_delete(o);
	if (rc != TA_OK)
		ta_wipe(r, sizeof(*r));
	return rc;
}

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
static int admin_ok(ta_ctx *ctx, const char *admin, const char *auth, const char *rhost,
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

/*
 * Spend the admin credential that authorised this registration, so that a
 * captured request cannot be sent again with another body: an access token
 * is revoked, an OTP code is already spent by ta_verify.  TA_OK, or an
 * answer code when the credential cannot be spent (store down, remote).
 */
static int spend_admin_credential(ta_ctx *ctx, const struct ta_outcome *out)
{
	ta_store *st = NULL;
	int r;

	if (out->method != NULL && strcmp(out->method, "otp") == 0)
		return TA_HC_OK;
	if (out->method == NULL || strcmp(out->method, "token") != 0 || out->token_id[0] == '\0')
		return TA_HC_FORBIDDEN;
	if ((r = ta_ctx_store(ctx, &st)) != TA_OK)
		return ta_http_code_of(r);
	/* One UPDATE ... WHERE revoked=0: of two racing requests only one wins. */
	r = ta_store_token_revoke_id(st, out->token_id, ta_now(ctx));
	if (r == TA_ERR_REVOKED)
		return TA_HC_BAD_CENTOKEN;
	return r == TA_OK ? TA_HC_OK : TA_HC_STORE;
}

static cJSON *register_object(const struct ta_http_register *r, const char *tenant,
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
	wipe_delete(o);
	return NULL;
}

/* Answer with a secret inside: print, then wipe the tree's copy. */
static int set_secret_body(struct ta_http_answer *a, cJSON *o)
{
	char *text = o ? cJSON_PrintUnformatted(o) : NULL;

	wipe_delete(o);
	ta_http_answer_clear(a);
	if (text == NULL)
		return ta_http_error(a, TA_HC_INTERNAL, TA_HS_REGISTER, NULL);
	a->body = text;
	return TA_OK;
}

static int register_enrol(ta_ctx *ctx, struct ta_http_register *r, struct ta_http_answer *a)
{
	char u[TA_MAX_USER + 1], t[TA_MAX_TENANT + 1];
	uint8_t out[TA_OTP_MAX_SECRET];
	size_t olen = 0;
	int rc, generated = r->secret_len == 0;

	rc = ta_resolve_identity(ctx->cfg, r->user, r->has_tenant ? r->tenant : NULL, u, t);
	if (rc != TA_OK)
		return ta_http_error(a, TA_HC_BAD_INPUT, TA_HS_REGISTER,
		                     "username or tenantSpaceId");
	snprintf(a->user, sizeof(a->user), "%s", u);
	snprintf(a->tenant, sizeof(a->tenant), "%s", t);
	rc = ta_otp_enroll(ctx, u, t, &r->p, generated ? NULL : r->secret, r->secret_len, 0, 0, out,
	                   &olen);
	if (rc == TA_ERR_EXISTS)
		return ta_http_error(a, TA_HC_OTP_EXISTS, TA_HS_REGISTER, NULL);
	if (rc == TA_ERR_UNAVAILABLE || rc == TA_ERR_CORRUPT || rc == TA_ERR_INSECURE)
		return ta_http_error(a, ta_http_code_of(rc), TA_HS_REGISTER, NULL);
	if (rc != TA_OK)
		return ta_http_error(a, TA_HC_REGISTER_FAILED, TA_HS_REGISTER, NULL);
	set_code(a, TA_HC_OK);
	rc = set_secret_body(a, register_object(r, t, out, olen, generated));
	ta_wipe(out, sizeof(out));
	return rc;
}

int ta_http_register(ta_ctx *ctx, const char *path, const char *auth_token, const uint8_t *key,
                     size_t keylen, const char *body, size_t len, const char *rhost,
                     struct ta_http_answer *a)
{
	struct ta_http_register r;
	struct ta_outcome out;
	char admin[TA_MAX_USER + 1];
	const char *why = NULL;
	int rc;

	if ((rc = ta_http_path_admin(path, admin)) != TA_OK)
		return ta_http_error(a, rc, TA_HS_REGISTER,
		                     rc == TA_HC_BAD_INPUT ? "admin name" : NULL);
	snprintf(a->user, sizeof(a->user), "%s", admin);
	if ((rc = ta_http_parse_register(body, len, &r, &why)) != TA_OK)
		return ta_http_error(a, rc, TA_HS_REGISTER, why);
	if (auth_token == NULL || auth_token[0] == '\0' || strlen(auth_token) > TA_MAX_CREDENTIAL ||
	    key == NULL || !centoken_ok(key, keylen, admin, auth_token, r.centoken)) {
		rc = ta_http_error(a, TA_HC_BAD_CENTOKEN, TA_HS_REGISTER, NULL);
		goto out;
	}
	rc = admin_ok(ctx, admin, auth_token, rhost, &out);
	if (rc != TA_OK) {
		rc = ta_http_error(
		    a,
		    rc == TA_ERR_LOCKED                                     ? TA_HC_LOCKED
		    : ta_err_is_rejection(rc) || rc == TA_ERR_NO_CREDENTIAL ? TA_HC_BAD_CENTOKEN
		                                                            : ta_http_code_of(rc),
		    TA_HS_REGISTER,
		    rc == TA_ERR_REVOKED ? "the authToken was revoked or already used "
		                           "for a registration"
		                         : NULL);
		goto out;
	}
	/* Spent before anything is enrolled: a failed enrolment spends it too. */
	if ((rc = spend_admin_credential(ctx, &out)) != TA_HC_OK) {
		rc = ta_http_error(
		    a, rc, TA_HS_REGISTER,
		    rc == TA_HC_FORBIDDEN
		        ? "the authToken must be a local access token or OTP code "
		          "(it is spent by the registration)"
		    : rc == TA_HC_BAD_CENTOKEN
		        ? "the authToken was revoked or already used for a registration"
		        : NULL);
		goto out;
	}
	rc = register_enrol(ctx, &r, a);
out:
	ta_wipe(&r, sizeof(r));
	return rc;
}
