/*
 * td_parse.c - strict parsing of the verify service's requests (SPEC §5).
 * No context, no store: see td_parse.h.
 */
#include "td_parse.h"

#include "admin.h"
#include "config.h"
#include "crypto.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

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

void td_json_wipe_free(cJSON *j)
{
	if (j != NULL)
		wipe_strings(j->child);
	cJSON_Delete(j);
}

/* Does the body spell "\u0000" anywhere (which would cut strings short)? */
static int has_escaped_nul(const char *body, size_t len)
{
	for (size_t i = 0; i + 6 <= len; i++)
		if (body[i] == '\\' && body[i + 1] == 'u' && memcmp(body + i + 2, "0000", 4) == 0)
			return 1;
	return 0;
}

/* At most TD_MAX_MEMBERS members, no name twice. */
static enum td_code members_ok(const cJSON *o, const char **why)
{
	size_t n = 0;

	for (const cJSON *c = o->child; c != NULL; c = c->next) {
		if (++n > TD_MAX_MEMBERS)
			return TD_BAD_JSON;
		for (const cJSON *d = c->next; d != NULL; d = d->next)
			if (strcmp(c->string, d->string) == 0)
				return *why = "duplicate member", TD_BAD_JSON;
	}
	return TD_OK;
}

/*
 * Parse exactly one JSON object filling the whole body (whitespace around
 * it allowed): no NUL bytes, no "\u0000", at most TD_MAX_MEMBERS members,
 * no duplicate names.  *out is wiped and freed by the caller.
 */
static enum td_code parse_object(const char *body, size_t len, cJSON **out, const char **why)
{
	const char *end = NULL;
	cJSON *o = NULL;
	enum td_code r = TD_BAD_JSON;

	*out = NULL;
	*why = "body is not one JSON object";
	if (body == NULL || len == 0 || len > TD_MAX_BODY || memchr(body, '\0', len) != NULL)
		return TD_BAD_JSON;
	if (has_escaped_nul(body, len))
		return *why = "NUL character in a string", TD_BAD_JSON;
	o = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (o == NULL || !cJSON_IsObject(o))
		goto out;
	while (end != NULL && end < body + len && isspace((unsigned char)*end))
		end++;
	if (end != body + len)
		goto out;
	if ((r = members_ok(o, why)) != TD_OK)
		goto out;
	*out = o;
	o = NULL;
out:
	td_json_wipe_free(o);
	return r;
}

static int has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/*
 * A string member: TD_OK with *out (borrowed from o), or with *out NULL
 * when absent; TD_BAD_INPUT when it is not a string, is longer than max,
 * or (names) has control characters.
 */
static enum td_code get_str(const cJSON *o, const char *name, size_t max, int name_like,
                            const char **out)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);

	*out = NULL;
	if (m == NULL)
		return TD_OK;
	if (!cJSON_IsString(m) || m->valuestring == NULL || strlen(m->valuestring) > max ||
	    (name_like && has_control(m->valuestring)))
		return TD_BAD_INPUT;
	*out = m->valuestring;
	return TD_OK;
}

/* Copy a name-like string member into buf[max + 1]; required or not. */
static enum td_code copy_member(const cJSON *o, const char *name, char *buf, size_t max,
                                int required, int *present)
{
	const char *v = NULL;
	enum td_code r = get_str(o, name, max, 1, &v);

	if (present != NULL)
		*present = r == TD_OK && v != NULL;
	if (r != TD_OK)
		return r;
	if (v == NULL)
		return required ? TD_BAD_INPUT : TD_OK;
	memcpy(buf, v, strlen(v) + 1);
	return TD_OK;
}

/* ---- validate --------------------------------------------------------------- */

void td_triple_clear(struct td_triple *t)
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

enum td_code td_parse_validate(const char *body, size_t len, struct td_triple *t, const char **why)
{
	const char *tok = NULL;
	cJSON *o = NULL;
	enum td_code r;

	memset(t, 0, sizeof(*t));
	if ((r = parse_object(body, len, &o, why)) != TD_OK)
		return r;
	r = TD_BAD_INPUT;
	*why = "userAccount: required string";
	if (copy_member(o, "userAccount", t->user, TA_MAX_USER, 1, NULL) != TD_OK ||
	    t->user[0] == '\0')
		goto out;
	*why = "tenantSpaceId: required string";
	if (copy_member(o, "tenantSpaceId", t->tenant, TA_MAX_TENANT, 1, NULL) != TD_OK)
		goto out;
	*why = "access_token: required string";
	if (get_str(o, "access_token", TA_MAX_JWT, 0, &tok) != TD_OK || tok == NULL ||
	    tok[0] == '\0')
		goto out;
	t->token_len = strlen(tok);
	if ((t->token = malloc(t->token_len + 1)) == NULL)
		goto out;
	memcpy(t->token, tok, t->token_len + 1);
	r = TD_OK;
out:
	td_json_wipe_free(o);
	if (r != TD_OK)
		td_triple_clear(t);
	return r;
}

/* ---- generate --------------------------------------------------------------- */

void td_generate_clear(struct td_generate *g)
{
	if (g == NULL)
		return;
	free(g->params);
	g->params = NULL;
}

static enum td_code parse_ttl(const cJSON *m, uint64_t *ttl)
{
	double v;

	if (m == NULL)
		return *ttl = TD_DEFAULT_TTL, TD_OK;
	if (!cJSON_IsNumber(m))
		return TD_BAD_INPUT;
	v = m->valuedouble;
	if (!(v >= 1 && v <= (double)TD_MAX_TTL) || floor(v) != v)
		return TD_BAD_INPUT;
	*ttl = (uint64_t)v;
	return TD_OK;
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

#define PARAM_WHY "parameters: each must be a string with a name of letters, digits, _ . -"

/* "name=value" of one string member, malloc'd into *pair. */
static enum td_code make_pair(const cJSON *c, char **pair)
{
	size_t kl, vl;

	*pair = NULL;
	if (!cJSON_IsString(c) || strchr(c->string, '=') != NULL)
		return TD_BAD_INPUT;
	kl = strlen(c->string);
	vl = strlen(c->valuestring);
	if ((*pair = malloc(kl + vl + 2)) == NULL)
		return TD_BAD_INPUT;
	memcpy(*pair, c->string, kl);
	(*pair)[kl] = '=';
	memcpy(*pair + kl + 1, c->valuestring, vl + 1);
	return TD_OK;
}

/* Every member other than the three known ones becomes a "key=value" pair. */
static enum td_code collect_params(const cJSON *o, char **json, const char **why)
{
	const char *pairs[TD_MAX_MEMBERS] = {NULL}, *rw;
	char *bufs[TD_MAX_MEMBERS], err[160];
	size_t n = 0;
	enum td_code r = TD_BAD_INPUT;

	*why = PARAM_WHY;
	for (const cJSON *c = o->child; c != NULL; c = c->next) {
		if (strcmp(c->string, "userAccount") == 0 ||
		    strcmp(c->string, "tenantSpaceId") == 0 || strcmp(c->string, "ttl") == 0)
			continue;
		if ((rw = reserved_why(c->string)) != NULL) {
			*why = rw; /* "UserAccount", "TTL", "expiration_time", ... */
			goto out;
		}
		*why = PARAM_WHY;
		if (n >= TD_MAX_MEMBERS || make_pair(c, &bufs[n]) != TD_OK)
			goto out;
		pairs[n] = bufs[n];
		n++;
	}
	if (ta_token_params(pairs, n, json, err, sizeof(err)) == TA_OK)
		r = TD_OK;
	else
		*why = "parameters: invalid name or more than 4096 bytes in all";
out:
	for (size_t i = 0; i < n; i++)
		ta_wipe_free(bufs[i]);
	return r;
}

enum td_code td_parse_generate(const char *body, size_t len, struct td_generate *g,
                               const char **why)
{
	cJSON *o = NULL;
	enum td_code r;

	memset(g, 0, sizeof(*g));
	if ((r = parse_object(body, len, &o, why)) != TD_OK)
		return r;
	r = TD_BAD_INPUT;
	*why = "userAccount: required string";
	if (copy_member(o, "userAccount", g->user, TA_MAX_USER, 1, NULL) != TD_OK ||
	    g->user[0] == '\0')
		goto out;
	*why = "tenantSpaceId: must be a string";
	if (copy_member(o, "tenantSpaceId", g->tenant, TA_MAX_TENANT, 0, &g->has_tenant) != TD_OK)
		goto out;
	*why = "ttl: must be a whole number of seconds, 1 to 31622400";
	if (parse_ttl(cJSON_GetObjectItemCaseSensitive(o, "ttl"), &g->ttl) != TD_OK)
		goto out;
	r = collect_params(o, &g->params, why);
out:
	td_json_wipe_free(o);
	if (r != TD_OK)
		td_generate_clear(g);
	return r;
}

/* ---- RFC 7662 form ------------------------------------------------------------ */

long td_form_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i], h, l;
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (n - i < 3 || (h = ta_hexval((unsigned char)s[i + 1])) < 0 ||
			    (l = ta_hexval((unsigned char)s[i + 2])) < 0)
				return -1;
			c = h * 16 + l;
			i += 2;
		}
		if (c == 0 || o + 1 >= cap)
			return -1;
		out[o++] = (char)c;
	}
	if (cap == 0)
		return -1;
	out[o] = '\0';
	return (long)o;
}

/* td_form_decode as a td_code, with the length in *olen. */
static enum td_code form_decode(const char *s, size_t n, char *out, size_t cap, size_t *olen)
{
	long r = td_form_decode(s, n, out, cap);

	if (r < 0)
		return TD_BAD_INPUT;
	*olen = (size_t)r;
	return TD_OK;
}

/* One "key=value" pair of a form body: token is kept, token_type_hint ignored. */
static enum td_code form_pair(const char *p, size_t n, char **token, size_t *tlen, int *hint)
{
	const char *eq = memchr(p, '=', n);
	char key[32], *val = NULL;
	size_t kl, vl;

	if (eq == NULL || (size_t)(eq - p) >= sizeof(key))
		return TD_BAD_INPUT;
	if (form_decode(p, (size_t)(eq - p), key, sizeof(key), &kl) != TD_OK)
		return TD_BAD_INPUT;
	vl = n - (size_t)(eq + 1 - p);
	if (strcmp(key, "token_type_hint") == 0 && !*hint && vl <= 64)
		return *hint = 1, TD_OK;
	if (strcmp(key, "token") != 0 || *token != NULL || vl == 0 || vl > 3 * TA_MAX_JWT)
		return TD_BAD_INPUT;
	if ((val = malloc(vl + 1)) == NULL)
		return TD_INTERNAL;
	if (form_decode(eq + 1, vl, val, vl + 1, tlen) != TD_OK || *tlen == 0 ||
	    *tlen > TA_MAX_JWT) {
		ta_wipe(val, vl + 1);
		free(val);
		return TD_BAD_INPUT;
	}
	*token = val;
	return TD_OK;
}

enum td_code td_parse_form_token(const char *body, size_t len, char **token, size_t *tlen,
                                 const char **why)
{
	const char *p = body, *end = body + len;
	int hint = 0;
	enum td_code r = TD_BAD_INPUT;

	*token = NULL;
	*tlen = 0;
	*why = "expected a form body token=...[&token_type_hint=...]";
	if (body == NULL || len == 0 || len > TD_MAX_BODY)
		return TD_BAD_INPUT;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		size_t n = amp ? (size_t)(amp - p) : (size_t)(end - p);
		if ((r = form_pair(p, n, token, tlen, &hint)) != TD_OK)
			break;
		p += n + (amp ? 1 : 0);
		if (amp != NULL && p == end)
			r = TD_BAD_INPUT; /* trailing '&' */
	}
	if (r == TD_OK && *token == NULL)
		r = TD_BAD_INPUT;
	if (r != TD_OK && *token != NULL) {
		ta_wipe(*token, *tlen);
		free(*token);
		*token = NULL;
	}
	return r;
}

/* ---- registration (seed 002) -------------------------------------------------- */

enum td_code td_parse_path_admin(const char *path, char out[TA_MAX_USER + 1])
{
	const size_t plen = sizeof(TD_REGISTER_PREFIX) - 1;
	char buf[3 * TA_MAX_USER + 1];
	size_t n, olen = 0;

	if (path == NULL || strncmp(path, TD_REGISTER_PREFIX, plen) != 0)
		return TD_NOT_FOUND;
	path += plen;
	n = strlen(path);
	if (n == 0 || strchr(path, '/') != NULL)
		return TD_NOT_FOUND;
	/* '+' is a literal plus in a path, unlike in a form */
	if (n > 3 * TA_MAX_USER || strchr(path, '+') != NULL)
		return TD_BAD_INPUT;
	if (form_decode(path, n, buf, sizeof(buf), &olen) != TD_OK || olen == 0 || olen > TA_MAX_USER ||
	    has_control(buf) || strchr(buf, ' ') != NULL)
		return TD_BAD_INPUT;
	memcpy(out, buf, olen + 1);
	return TD_OK;
}

int td_media_is(const char *content_type, const char *type)
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
static enum td_code parse_token_type(const cJSON *o, const char **why)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "tokenType");

	*why = "tokenType: required, 2 (OTP)";
	if (cJSON_IsNumber(m) && m->valuedouble == 2)
		return TD_OK;
	if (cJSON_IsString(m) && strcmp(m->valuestring, "2") == 0)
		return TD_OK;
	if ((cJSON_IsNumber(m) && m->valuedouble == 1) ||
	    (cJSON_IsString(m) && strcmp(m->valuestring, "1") == 0))
		*why = "tokenType: 1 (SMS) is not supported here, only 2 (OTP)";
	return TD_BAD_INPUT;
}

/* A small whole number given as a JSON number or a decimal string; absent is fine. */
static enum td_code get_small_uint(const cJSON *o, const char *name, unsigned min, unsigned max,
                                   unsigned *out)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
	unsigned long long v;

	if (m == NULL)
		return TD_OK;
	if (cJSON_IsNumber(m) && m->valuedouble >= min && m->valuedouble <= max &&
	    floor(m->valuedouble) == m->valuedouble)
		return *out = (unsigned)m->valuedouble, TD_OK;
	if (cJSON_IsString(m) && ta_parse_uint(m->valuestring, min, max, &v) == TA_OK)
		return *out = (unsigned)v, TD_OK;
	return TD_BAD_INPUT;
}

/* otpType and algorithm: optional words (TOTP, SHA1). */
static enum td_code parse_otp_words(const cJSON *o, struct td_register *r, const char **why)
{
	const char *s = NULL;

	*why = "otpType: totp or hotp";
	if (get_str(o, "otpType", 8, 1, &s) != TD_OK)
		return TD_BAD_INPUT;
	if (s != NULL && strcasecmp(s, "hotp") == 0)
		r->p.type = TA_OTP_HOTP;
	else if (s != NULL && strcasecmp(s, "totp") != 0)
		return TD_BAD_INPUT;
	*why = "algorithm: SHA1, SHA256 or SHA512";
	if (get_str(o, "algorithm", 8, 1, &s) != TD_OK)
		return TD_BAD_INPUT;
	if (s != NULL && (r->p.alg = ta_otp_alg_parse(s)) == 0)
		return TD_BAD_INPUT;
	return TD_OK;
}

/* otpType, algorithm, digits, period, secret: all optional (TOTP/SHA1/6/30). */
static enum td_code parse_otp_params(const cJSON *o, struct td_register *r, const char **why)
{
	const char *s = NULL;
	long n;

	r->p.type = TA_OTP_TOTP;
	r->p.alg = TA_HASH_SHA1;
	r->p.digits = 6;
	r->p.period = 30;
	if (parse_otp_words(o, r, why) != TD_OK)
		return TD_BAD_INPUT;
	*why = "digits: 6 to 8; period: 1 to 3600";
	if (get_small_uint(o, "digits", 6, 8, &r->p.digits) != TD_OK ||
	    get_small_uint(o, "period", 1, 3600, &r->p.period) != TD_OK)
		return TD_BAD_INPUT;
	*why = "secret: base32, 10 to 64 bytes";
	if (get_str(o, "secret", 128, 1, &s) != TD_OK)
		return TD_BAD_INPUT;
	if (s == NULL)
		return TD_OK;
	n = ta_base32_decode(s, strlen(s), r->secret, sizeof(r->secret));
	if (n < TA_OTP_MIN_SECRET)
		return ta_wipe(r->secret, sizeof(r->secret)), TD_BAD_INPUT;
	r->secret_len = (size_t)n;
	return TD_OK;
}

/* cenToken: 64 hex characters, kept in lower case. */
static enum td_code parse_centoken(const cJSON *o, char out[65], const char **why)
{
	const char *ct = NULL;

	*why = "cenToken: required, 64 hex characters";
	if (get_str(o, "cenToken", 64, 1, &ct) != TD_OK || ct == NULL || strlen(ct) != 64 ||
	    strspn(ct, "0123456789abcdefABCDEF") != 64)
		return TD_BAD_INPUT;
	for (size_t i = 0; i <= 64; i++)
		out[i] = (char)tolower((unsigned char)ct[i]);
	return TD_OK;
}

enum td_code td_parse_register(const char *body, size_t len, struct td_register *r,
                               const char **why)
{
	cJSON *o = NULL;
	enum td_code rc;

	memset(r, 0, sizeof(*r));
	if ((rc = parse_object(body, len, &o, why)) != TD_OK)
		return rc;
	rc = TD_BAD_INPUT;
	*why = "username: required string";
	if (copy_member(o, "username", r->user, TA_MAX_USER, 1, NULL) != TD_OK || !r->user[0])
		goto out;
	*why = "tenantSpaceId: must be a string";
	if (copy_member(o, "tenantSpaceId", r->tenant, TA_MAX_TENANT, 0, &r->has_tenant) != TD_OK)
		goto out;
	*why = "tokenSn: required string of 1 to 64 bytes";
	if (copy_member(o, "tokenSn", r->token_sn, TD_MAX_SN, 1, NULL) != TD_OK || !r->token_sn[0])
		goto out;
	if (parse_token_type(o, why) != TD_OK || parse_centoken(o, r->centoken, why) != TD_OK)
		goto out;
	rc = parse_otp_params(o, r, why);
out:
	td_json_wipe_free(o);
	if (rc != TD_OK)
		ta_wipe(r, sizeof(*r));
	return rc;
}
