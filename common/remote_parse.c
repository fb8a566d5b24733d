/*
 * remote_parse.c - the three remote profiles' wire formats (SPEC §5).
 */
#include "remote_parse.h"
#include "config_int.h"
#include "crypto.h"
#include "ta.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* application/x-www-form-urlencoded value */
static char *form_escape(const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(n * 3 + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

static char *cec_body(const char *user, const char *tenant, const char *cred, size_t credlen)
{
	cJSON *o = cJSON_CreateObject();
	char *tok = malloc(credlen + 1), *out = NULL;

	if (o == NULL || tok == NULL)
		goto done;
	memcpy(tok, cred, credlen);
	tok[credlen] = '\0';
	if (cJSON_AddStringToObject(o, "access_token", tok) &&
	    cJSON_AddStringToObject(o, "tenantSpaceId", tenant) &&
	    cJSON_AddStringToObject(o, "userAccount", user))
		out = cJSON_PrintUnformatted(o);
	/* cJSON keeps a copy of the token: wipe it before freeing the tree */
	cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "access_token");
	if (t != NULL && cJSON_IsString(t))
		ta_wipe(t->valuestring, strlen(t->valuestring));
done:
	if (tok != NULL)
		ta_wipe(tok, credlen);
	free(tok);
	cJSON_Delete(o);
	return out;
}

char *ta_remote_body(unsigned long profile, const char *user, const char *tenant, const char *cred,
                     size_t credlen)
{
	if (profile == TA_PROFILE_CEC)
		return cec_body(user, tenant, cred, credlen);
	if (profile == TA_PROFILE_INTROSPECTION) {
		char *esc = form_escape(cred, credlen), *out;
		size_t n;
		if (esc == NULL)
			return NULL;
		n = strlen(esc) + 7;
		if ((out = malloc(n)) != NULL) {
			memcpy(out, "token=", 6);
			memcpy(out + 6, esc, n - 6);
		}
		ta_wipe(esc, strlen(esc));
		free(esc);
		return out;
	}
	return strdup("");
}

/* A JSON integer that fits int64 exactly, or -1 on anything else. */
static int json_int(const cJSON *v, int64_t *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return -1;
	d = v->valuedouble;
	if (!isfinite(d) || d != floor(d) || d < -9007199254740992.0 || d > 9007199254740992.0)
		return -1;
	*out = (int64_t)d;
	return 0;
}

/* Does any key occur twice?  Such a response is ambiguous: refuse it. */
static int has_duplicate_keys(const cJSON *o)
{
	for (const cJSON *a = o->child; a != NULL; a = a->next)
		for (const cJSON *b = a->next; b != NULL; b = b->next)
			if (a->string && b->string && strcmp(a->string, b->string) == 0)
				return 1;
	return 0;
}

/* When the response names a user or tenant, it must be ours. */
static int same_or_absent(const cJSON *o, const char *key, const char *want)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (v == NULL)
		return 1;
	return cJSON_IsString(v) && strcmp(v->valuestring, want) == 0;
}

static int judge_cec(const cJSON *o, const char **why)
{
	int64_t rc;

	if (json_int(cJSON_GetObjectItemCaseSensitive(o, "retCode"), &rc) != 0) {
		*why = "response has no integer retCode";
		return TA_ERR_UNAVAILABLE;
	}
	*why = rc == 0 ? "retCode 0" : "retCode not 0";
	return rc == 0 ? TA_OK : TA_ERR_REJECTED;
}

/*
 * RFC 7662 answers.  `sub` and `username` are optional there, but an
 * active answer that names nobody says the token is good, not whose it is:
 * taken as a yes it let any user's valid token log in as anyone.  Like a
 * kudo 200 without userAccount, it is no verdict about this user
 * (unavailable, not yes); the names it does give must all be ours.
 */
static int judge_introspection(const cJSON *o, const char *user, const char *tenant,
                               const char **why)
{
	const cJSON *active = cJSON_GetObjectItemCaseSensitive(o, "active");

	if (!cJSON_IsBool(active)) {
		*why = "response has no boolean 'active'";
		return TA_ERR_UNAVAILABLE;
	}
	if (!cJSON_IsTrue(active)) {
		*why = "token inactive";
		return TA_ERR_REJECTED;
	}
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "sub")) &&
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "username"))) {
		*why = "active answer names no sub or username";
		return TA_ERR_UNAVAILABLE;
	}
	if (!same_or_absent(o, "sub", user) || !same_or_absent(o, "username", user) ||
	    !same_or_absent(o, "tenantSpaceId", tenant)) {
		*why = "token belongs to another user or tenant";
		return TA_ERR_TENANT;
	}
	*why = "active";
	return TA_OK;
}

/*
 * Seed 004 answers a good token with its parameters.  A 200 that does not
 * name our user is no verdict about this token (a health check, a
 * proxy's page, an answer to some other request): unavailable, not yes.
 * With a tenant configured, the answer must name that tenant too.
 */
static int judge_kudo(const cJSON *o, const char *user, const char *tenant, const char **why)
{
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(o, "userAccount"),
	            *t = cJSON_GetObjectItemCaseSensitive(o, "tenantSpaceId");

	if (!cJSON_IsString(u) || (tenant[0] != '\0' && !cJSON_IsString(t))) {
		*why = "response names no userAccount (or no tenantSpaceId)";
		return TA_ERR_UNAVAILABLE;
	}
	if (!same_or_absent(o, "userAccount", user) ||
	    !same_or_absent(o, "tenantSpaceId", tenant)) {
		*why = "token bound to another user or tenant";
		return TA_ERR_TENANT;
	}
	*why = "token parameters match";
	return TA_OK;
}

static int64_t expiry_of(const cJSON *o, unsigned long profile)
{
	int64_t e = 0;
	const char *key = profile == TA_PROFILE_INTROSPECTION ? "exp" : "expiration_time";

	if (json_int(cJSON_GetObjectItemCaseSensitive(o, key), &e) != 0 || e < 0)
		return 0;
	return e;
}

int ta_remote_judge(unsigned long profile, long status, const char *body, size_t len,
                    const char *user, const char *tenant, int64_t *expires, const char **why)
{
	cJSON *o = NULL;
	int r = TA_ERR_UNAVAILABLE;

	*expires = 0;
	if (profile == TA_PROFILE_KUDO && status == 403) {
		*why = "HTTP 403";
		return TA_ERR_REJECTED;
	}
	/* a rate limit is no outage: whoever floods the endpoint (logins
	 * through this host, or its neighbours on one address) could make it
	 * answer 429 at will, and "unavailable" may be skipped by the stack */
	if (status == 429) {
		*why = "HTTP 429 (rate limited)";
		return TA_ERR_INTERNAL;
	}
	if (status != 200) {
		*why = "HTTP status not 200";
		return TA_ERR_UNAVAILABLE;
	}
	if (len > TA_REMOTE_MAX_BODY) {
		*why = "response too large";
		return TA_ERR_UNAVAILABLE;
	}
	/* body[len] is a NUL the parser needs; an embedded NUL is refused, and
	 * so is an escaped one: cJSON would decode "alice\u0000@evil" to a C
	 * string that compares equal to "alice". */
	if (memchr(body, '\0', len) != NULL || strstr(body, "\\u0000") != NULL) {
		*why = "response contains a NUL byte";
		return TA_ERR_UNAVAILABLE;
	}
	o = cJSON_ParseWithLengthOpts(body, len + 1, NULL, 1);
	if (o == NULL || !cJSON_IsObject(o)) {
		*why = "response is not a JSON object";
		goto out;
	}
	if (has_duplicate_keys(o)) {
		*why = "response has duplicate keys";
		goto out;
	}
	if (profile == TA_PROFILE_CEC)
		r = judge_cec(o, why);
	else if (profile == TA_PROFILE_INTROSPECTION)
		r = judge_introspection(o, user, tenant, why);
	else
		r = judge_kudo(o, user, tenant, why);
	if (r == TA_OK)
		*expires = expiry_of(o, profile);
out:
	cJSON_Delete(o);
	return r;
}
