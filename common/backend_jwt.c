/*
 * backend_jwt.c - OIDC access tokens (JWTs) checked against a JWKS from
 * jwks_file and/or jwks_url, or an HS256 key from jwt_hs256_key_file.
 *
 * The keys of jwks_url are kept in this context's state and in
 * "jwks-cache-<hash of jwks_url>.json" (0600) beside the store, with the time of the last
 * good fetch and of the last attempt, so that short-lived processes (an
 * sshd child per login) share both the keys and the refetch bound:
 * refresh after jwks_refresh, or on an unknown kid, at most once per
 * jwks_min_refresh; a set older than jwks_max_age is not used (fail
 * closed).  The parsing and checking are in jwt.c.
 */
#define _GNU_SOURCE /* mkostemp */
#include "ctx_int.h"
#include "file.h"
#include "crypto.h"
#include "http.h"
#include "jwt.h"
#include "remote_parse.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#define CACHE_NAME    "jwks-cache-0123456789abcdef.json" /* the longest name */
#define CACHE_MAX     (TA_JWKS_MAX_TEXT * 2 + 8192)
#define HS_KEY_MIN    32
#define HS_KEY_MAX    4096

struct ta_jwt_state {
	CURL *h;
	ta_jwks *file_keys; /* jwks_file, read once per context */
	ta_jwks *url_keys;  /* jwks_url, with its times */
	char *url_text;     /* url_keys as fetched, to rewrite the cache with */
	int64_t fetched, attempted;
	uint8_t *hs_key;
	size_t hs_len;
	int loaded, disk_tried;
	char cache_path[PATH_MAX];
};

static void jwt_free(void *state)
{
	struct ta_jwt_state *s = state;

	if (s == NULL)
		return;
	if (s->h != NULL)
		curl_easy_cleanup(s->h);
	ta_jwks_free(s->file_keys);
	ta_jwks_free(s->url_keys);
	free(s->url_text);
	ta_wipe(s->hs_key, s->hs_len);
	free(s->hs_key);
	free(s);
}

static int config_ok(ta_ctx *ctx)
{
	const ta_config *cfg = ctx->cfg;

	if (cfg->jwt_issuer == NULL || cfg->jwt_audience == NULL || cfg->jwt_issuer[0] == '\0' ||
	    cfg->jwt_audience[0] == '\0') {
		ta_logf(ctx, TA_LOG_ERR, "verify=jwt needs jwt_issuer= and jwt_audience=");
		return 0;
	}
	if (cfg->jwks_file == NULL && cfg->jwks_url == NULL && cfg->jwt_hs256_key_file == NULL) {
		ta_logf(ctx, TA_LOG_ERR, "verify=jwt needs jwks_file=, jwks_url= or jwt_hs256_key_file=");
		return 0;
	}
	if (ta_jwt_alg_allowed(cfg->jwt_algorithms, "HS256") != (cfg->jwt_hs256_key_file != NULL)) {
		ta_logf(ctx, TA_LOG_ERR,
		        "jwt: HS256 in jwt_algorithms and jwt_hs256_key_file go together");
		return 0;
	}
	return 1;
}

static int load_hs_key(ta_ctx *ctx, struct ta_jwt_state *s)
{
	char err[512];
	int r = ta_file_read(ctx->cfg->jwt_hs256_key_file, TA_FILE_SECRET, HS_KEY_MAX, &s->hs_key,
	                     &s->hs_len, err, sizeof(err));

	if (r != TA_OK) {
		ta_logf(ctx, TA_LOG_ERR, "jwt: jwt_hs256_key_file unusable: %s", err);
		return TA_ERR_CONFIG;
	}
	while (s->hs_len > 0 && (s->hs_key[s->hs_len - 1] == '\n' || s->hs_key[s->hs_len - 1] == '\r'))
		s->hs_key[--s->hs_len] = '\0';
	if (s->hs_len < HS_KEY_MIN) {
		ta_logf(ctx, TA_LOG_ERR, "jwt: %s holds fewer than %d bytes",
		        ctx->cfg->jwt_hs256_key_file, HS_KEY_MIN);
		return TA_ERR_CONFIG;
	}
	return TA_OK;
}

static int load_file_keys(ta_ctx *ctx, struct ta_jwt_state *s)
{
	char err[512];
	const char *why = "";
	uint8_t *text = NULL;
	size_t len = 0;
	int r = ta_file_read(ctx->cfg->jwks_file, TA_FILE_PLAIN, TA_JWKS_MAX_TEXT, &text, &len, err,
	                     sizeof(err));

	if (r != TA_OK) {
		ta_logf(ctx, TA_LOG_ERR, "jwt: jwks_file unusable: %s", err);
		return r == TA_ERR_NOT_FOUND ? TA_ERR_UNAVAILABLE : r;
	}
	r = ta_jwks_parse((const char *)text, len, &s->file_keys, &why);
	free(text);
	if (r != TA_OK)
		ta_logf(ctx, TA_LOG_ERR, "jwt: %s: %s", ctx->cfg->jwks_file, why);
	return r == TA_ERR_NOMEM ? r : r != TA_OK ? TA_ERR_UNAVAILABLE : TA_OK;
}

static int get_state(ta_ctx *ctx, void **state, struct ta_jwt_state **out)
{
	struct ta_jwt_state *s = *state;
	char dir[PATH_MAX];
	int r;

	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return TA_ERR_NOMEM;
		/* One file per jwks_url: two configurations sharing a store
		 * folder with different issuers would otherwise overwrite each
		 * other's file at every login, each refetching every time and
		 * neither keeping the jwks_min_refresh bound. */
		uint8_t h[TA_SHA256_LEN] = {0};
		const char *url = ctx->cfg->jwks_url ? ctx->cfg->jwks_url : "";
		ta_config_state_dir(ctx->cfg, dir, sizeof(dir));
		if (ta_sha256(url, strlen(url), h) != TA_OK ||
		    (size_t)snprintf(s->cache_path, sizeof(s->cache_path),
		                     "%.*s/jwks-cache-%02x%02x%02x%02x%02x%02x%02x%02x.json",
		                     (int)(sizeof(dir) - sizeof(CACHE_NAME) - 1), dir, h[0], h[1],
		                     h[2], h[3], h[4], h[5], h[6], h[7]) >= sizeof(s->cache_path))
			s->cache_path[0] = '\0';
		*state = s;
	}
	if (!s->loaded) {
		if (ctx->cfg->jwt_hs256_key_file != NULL && s->hs_key == NULL &&
		    (r = load_hs_key(ctx, s)) != TA_OK)
			return r;
		if (ctx->cfg->jwks_file != NULL && (r = load_file_keys(ctx, s)) != TA_OK)
			return r;
		s->loaded = 1;
	}
	*out = s;
	return TA_OK;
}

/* ---- the on-disk cache ----------------------------------------------------- */

static int json_time(const cJSON *o, const char *key, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e15)
		return -1;
	*out = (int64_t)v->valuedouble;
	return 0;
}

/*
 * {"url": U, "fetched": T, "attempted": T, "jwks": "<the set's text>"};
 * "jwks" is "" when no fetch has succeeded yet: the file then carries
 * only the time of the last (failed) attempt.
 */
static void read_cache(ta_ctx *ctx, struct ta_jwt_state *s)
{
	char err[512];
	const char *why = "";
	uint8_t *text = NULL;
	size_t len = 0;
	cJSON *o = NULL;
	const cJSON *url, *jwks;
	int64_t fetched = 0, attempted = 0;
	ta_jwks *keys = NULL;
	int r = ta_file_read(s->cache_path, TA_FILE_SECRET, CACHE_MAX, &text, &len, err, sizeof(err));

	if (r == TA_ERR_NOT_FOUND)
		return;
	if (r != TA_OK) {
		ta_logf(ctx, TA_LOG_WARNING, "jwt: key cache not used: %s", err);
		return;
	}
	o = cJSON_ParseWithLengthOpts((const char *)text, len + 1, NULL, 1);
	url = cJSON_GetObjectItemCaseSensitive(o, "url");
	jwks = cJSON_GetObjectItemCaseSensitive(o, "jwks");
	if (!cJSON_IsString(url) || !cJSON_IsString(jwks) || json_time(o, "fetched", &fetched) ||
	    json_time(o, "attempted", &attempted)) {
		ta_logf(ctx, TA_LOG_WARNING, "jwt: key cache %s malformed: not used", s->cache_path);
		goto out;
	}
	if (strcmp(url->valuestring, ctx->cfg->jwks_url) != 0)
		goto out; /* another jwks_url's keys */
	/* Times in the future (a clock that was ahead, an edited file) would
	 * keep a set from ever being refreshed or expiring by jwks_max_age,
	 * and an attempt from ever being retried: take them as long ago. */
	if (fetched > ta_now(ctx))
		fetched = 0;
	if (attempted > ta_now(ctx))
		attempted = 0;
	/* the attempt counts even when its fetch failed (jwks_min_refresh) */
	if (attempted > s->attempted)
		s->attempted = attempted;
	if (jwks->valuestring[0] == '\0')
		goto out; /* no good set yet */
	if (ta_jwks_parse(jwks->valuestring, strlen(jwks->valuestring), &keys, &why) != TA_OK) {
		ta_logf(ctx, TA_LOG_WARNING, "jwt: key cache %s: %s: not used", s->cache_path, why);
		goto out;
	}
	ta_jwks_free(s->url_keys);
	s->url_keys = keys;
	s->fetched = fetched;
	free(s->url_text);
	s->url_text = strdup(jwks->valuestring); /* NULL: the next failure writes "" */
out:
	cJSON_Delete(o);
	free(text);
}

/* The times of the last attempt shared with every process: only newer ones count. */
static void read_attempted(ta_ctx *ctx, struct ta_jwt_state *s)
{
	ta_jwks *keys = s->url_keys;
	char *text = s->url_text;
	int64_t fetched = s->fetched;

	s->url_keys = NULL;
	s->url_text = NULL;
	read_cache(ctx, s);
	if (s->url_keys == NULL || s->fetched < fetched) {
		ta_jwks_free(s->url_keys);
		free(s->url_text);
		s->url_keys = keys;
		s->url_text = text;
		s->fetched = fetched;
	} else {
		ta_jwks_free(keys);
		free(text);
	}
}

/* Replace the cache file atomically (a 0600 file renamed into place). */
static void write_cache(ta_ctx *ctx, struct ta_jwt_state *s, const char *jwks_text)
{
	char tmp[PATH_MAX + 16], *text = NULL;
	cJSON *o = cJSON_CreateObject();
	int fd = -1;
	size_t n;

	if (o == NULL || !cJSON_AddStringToObject(o, "url", ctx->cfg->jwks_url) ||
	    !cJSON_AddNumberToObject(o, "fetched", (double)s->fetched) ||
	    !cJSON_AddNumberToObject(o, "attempted", (double)s->attempted) ||
	    !cJSON_AddStringToObject(o, "jwks", jwks_text) ||
	    (text = cJSON_PrintUnformatted(o)) == NULL)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", s->cache_path);
	n = strlen(text);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0 || fchmod(fd, 0600) != 0 ||
	    write(fd, text, n) != (ssize_t)n || fsync(fd) != 0 || rename(tmp, s->cache_path) != 0) {
		ta_logf(ctx, TA_LOG_WARNING, "jwt: cannot write key cache %s: %m", s->cache_path);
		if (fd >= 0)
			unlink(tmp);
	}
out:
	if (fd >= 0)
		close(fd);
	free(text);
	cJSON_Delete(o);
}

/* ---- fetching ---------------------------------------------------------------- */

/* The set's text from jwks_url, or NULL (why logged). */
static char *download(ta_ctx *ctx, struct ta_jwt_state *s)
{
	struct ta_http_buf b = {NULL, 0, 0};
	struct ta_http_opts o;
	long status = 0;
	CURLcode cc;

	if (s->h == NULL) {
		if (ta_global_init() != TA_OK || (s->h = curl_easy_init()) == NULL) {
			ta_logf(ctx, TA_LOG_ERR, "jwt: libcurl initialisation failed: %s",
			        ta_global_init_error());
			return NULL;
		}
	}
	ta_http_options(s->h, ctx->cfg, ctx->cfg->jwks_url, &b, &o);
	TA_HTTP_SET(&o, s->h, CURLOPT_PROTOCOLS_STR, "https");
	TA_HTTP_SET(&o, s->h, CURLOPT_HTTPGET, 1L);
	if (o.code != CURLE_OK) {
		/* never a fetch with a default in place of our option */
		ta_logf(ctx, TA_LOG_ERR, "jwt: fetching jwks_url: libcurl refused %s: %s", o.name,
		        curl_easy_strerror(o.code));
		return NULL;
	}
	cc = curl_easy_perform(s->h);
	curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK || status != 200) {
		ta_logf(ctx, TA_LOG_WARNING, "jwt: fetching jwks_url: %s (HTTP %ld)",
		        cc != CURLE_OK ? (b.overflow || cc == CURLE_FILESIZE_EXCEEDED
		                              ? "response larger than 64 KiB"
		                              : curl_easy_strerror(cc))
		                       : "status not 200",
		        status);
		free(b.data);
		return NULL;
	}
	if (b.data == NULL)
		b.data = strdup("");
	return b.data;
}

/*
 * One fetch, if the bound allows (at most once per jwks_min_refresh,
 * counted across processes through the cache file).  A failure keeps the
 * last good set.
 */
static void fetch(ta_ctx *ctx, struct ta_jwt_state *s, int64_t now)
{
	const char *why = "";
	ta_jwks *keys = NULL;
	char *text;

	read_attempted(ctx, s);
	if (s->attempted != 0 && now - s->attempted < (int64_t)ctx->cfg->jwks_min_refresh &&
	    now >= s->attempted)
		return;
	s->attempted = now;
	text = download(ctx, s);
	if (text != NULL && ta_jwks_parse(text, strlen(text), &keys, &why) != TA_OK) {
		ta_logf(ctx, TA_LOG_WARNING, "jwt: jwks_url answered a bad key set: %s", why);
		keys = NULL;
	}
	if (keys != NULL) {
		ta_jwks_free(s->url_keys);
		s->url_keys = keys;
		s->fetched = now;
		write_cache(ctx, s, text);
		free(s->url_text);
		s->url_text = text;
		text = NULL;
		ta_logf(ctx, TA_LOG_DEBUG, "jwt: fetched %zu keys from jwks_url", ta_jwks_count(keys));
	} else {
		/* A failed attempt is recorded too, so that every process (an sshd
		 * child per login) waits jwks_min_refresh before the next one:
		 * otherwise each login with an unknown kid, while the endpoint
		 * fails or hangs, costs a fetch and up to timeout_ms. */
		if (s->url_keys == NULL || s->url_text != NULL) /* never drop a good set */
			write_cache(ctx, s, s->url_text != NULL ? s->url_text : "");
		if (s->url_keys != NULL)
			ta_logf(ctx, TA_LOG_WARNING, "jwt: keeping the key set fetched %lld s ago",
			        (long long)(now - s->fetched));
	}
	free(text);
}

/* Keys of jwks_url younger than jwks_max_age, or NULL. */
static const ta_jwks *url_keys(ta_ctx *ctx, struct ta_jwt_state *s, int64_t now)
{
	/* a fetch time ahead of the clock (it stepped back) is no age at all */
	if (s->url_keys == NULL || now < s->fetched ||
	    now - s->fetched > (int64_t)ctx->cfg->jwks_max_age)
		return NULL;
	return s->url_keys;
}

static void refresh_if_due(ta_ctx *ctx, struct ta_jwt_state *s, int64_t now)
{
	if (ctx->cfg->jwks_url == NULL)
		return;
	if (!s->disk_tried) {
		s->disk_tried = 1;
		read_cache(ctx, s);
	}
	if (s->url_keys == NULL || now < s->fetched ||
	    now - s->fetched >= (int64_t)ctx->cfg->jwks_refresh)
		fetch(ctx, s, now);
}

/* ---- the check ----------------------------------------------------------------- */

static int verify_sig(ta_ctx *ctx, struct ta_jwt_state *s, const ta_jwt *t, int64_t now,
                      const char **why)
{
	const ta_jwks *sets[2];
	int r;

	refresh_if_due(ctx, s, now);
	sets[0] = s->file_keys;
	sets[1] = url_keys(ctx, s, now);
	r = ta_jwt_verify_sig(t, sets, 2, s->hs_key, s->hs_len, why);
	if (r == TA_ERR_NOT_FOUND && ctx->cfg->jwks_url != NULL) {
		/* an unknown kid: perhaps a rotation; one bounded refetch */
		fetch(ctx, s, now);
		sets[1] = url_keys(ctx, s, now);
		r = ta_jwt_verify_sig(t, sets, 2, s->hs_key, s->hs_len, why);
	}
	if (r == TA_ERR_NOT_FOUND && ctx->cfg->jwks_url != NULL && sets[1] == NULL) {
		ta_logf(ctx, TA_LOG_ERR, "jwt: no key set from jwks_url younger than jwks_max_age");
		/* no libcurl to fetch with: the module cannot run, not an outage */
		return ta_global_init() == TA_ERR_CONFIG ? TA_ERR_CONFIG : TA_ERR_UNAVAILABLE;
	}
	return r == TA_ERR_NOT_FOUND ? TA_ERR_REJECTED : r;
}

/*
 * Everything but the user: parse, signature, claims.  *out receives the
 * parsed token on TA_OK (the caller frees it).
 */
static int validate(ta_ctx *ctx, void **state, const char *tok, size_t len, const char *user,
                    const char *tenant, ta_jwt **out, int64_t *exp)
{
	const ta_config *cfg = ctx->cfg;
	struct ta_jwt_rules rules = {cfg->jwt_issuer,       cfg->jwt_audience,
	                             cfg->jwt_user_claim,   cfg->jwt_tenant_claim,
	                             cfg->jwt_required_scope, cfg->jwt_typ,
	                             (int64_t)cfg->jwt_leeway};
	struct ta_jwt_state *s = NULL;
	const char *why = "";
	ta_jwt *t = NULL;
	int64_t now = ta_now(ctx);
	int r;

	*out = NULL;
	if (!config_ok(ctx))
		return TA_ERR_CONFIG;
	if ((r = get_state(ctx, state, &s)) != TA_OK)
		return r;
	if ((r = ta_jwt_parse(tok, len, &t, &why)) != TA_OK)
		goto out;
	if (!ta_jwt_alg_allowed(cfg->jwt_algorithms, ta_jwt_alg(t))) {
		why = "alg not in jwt_algorithms";
		r = TA_ERR_REJECTED;
		goto out;
	}
	if ((r = verify_sig(ctx, s, t, now, &why)) != TA_OK)
		goto out;
	r = ta_jwt_check_claims(t, &rules, user, tenant, now, exp, &why);
out:
	if (r != TA_OK && r != TA_ERR_UNAVAILABLE)
		ta_logf(ctx, TA_LOG_NOTICE, "jwt: token refused for user=%s: %s%s%s",
		        user ? TA_Q(user) : "-", why, t && ta_jwt_kid(t) ? " kid=" : "",
		        t && ta_jwt_kid(t) ? TA_Q(ta_jwt_kid(t)) : "");
	if (r == TA_OK) {
		*out = t;
		t = NULL;
	}
	ta_jwt_free(t);
	return r;
}

static int jwt_check(ta_ctx *ctx, void **state, struct ta_check *c)
{
	ta_jwt *t = NULL;
	int64_t exp = 0;
	int r;

	if (!ta_jws_shape(c->credential, c->credential_len)) {
		/* not a JWT: the next backend's, or a wrong credential */
		if (c->last)
			ta_logf(ctx, TA_LOG_NOTICE, "jwt: credential for user=%s is not a JWT",
			        TA_Q(c->user));
		return c->last ? TA_ERR_REJECTED : TA_ERR_NO_CREDENTIAL;
	}
	c->out->method = "jwt";
	/* Without jwt_tenant_claim a token names no tenant: it is good for the
	 * configured tenant only.  Else, with tenant_from_user, acme's alice
	 * would log in as alice@globex, alice@anything with one token. */
	if (ctx->cfg->jwt_tenant_claim == NULL &&
	    strcmp(c->tenant, ctx->cfg->tenant ? ctx->cfg->tenant : "") != 0) {
		ta_logf(ctx, TA_LOG_NOTICE,
		        "jwt: token refused for user=%s tenant=%s: no jwt_tenant_claim, and the "
		        "tenant is not the configured one",
		        TA_Q(c->user), TA_Q(c->tenant));
		return TA_ERR_TENANT;
	}
	r = validate(ctx, state, c->credential, c->credential_len, c->user, c->tenant, &t, &exp);
	if (r == TA_OK)
		c->out->expires = exp;
	ta_jwt_free(t);
	return r;
}

int ta_jwt_introspect(ta_ctx *ctx, const char *tok, size_t len, char **json)
{
	ta_jwt *t = NULL;
	int64_t exp = 0;
	int r;

	*json = NULL;
	for (unsigned i = 0; i < ctx->nbackends; i++) {
		if (ctx->backends[i] != &ta_backend_jwt)
			continue;
		if (len > TA_MAX_JWT || !ta_jws_shape(tok, len))
			return TA_ERR_NO_CREDENTIAL;
		r = validate(ctx, &ctx->backend_state[i], tok, len, NULL, NULL, &t, &exp);
		if (r == TA_OK && (*json = ta_jwt_introspection(t, ctx->cfg->jwt_user_claim)) == NULL)
			r = TA_ERR_NOMEM;
		ta_jwt_free(t);
		return r;
	}
	return TA_ERR_NO_CREDENTIAL;
}

const struct ta_backend ta_backend_jwt = {
    .name = "jwt",
    .flags = TA_BACKEND_FOREIGN_USERS | TA_BACKEND_NETWORK | TA_BACKEND_LONG_CREDENTIALS,
    .check = jwt_check,
    .free_state = jwt_free,
};
