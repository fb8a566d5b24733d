/*
 * backend_remote.c - checking a credential against remote verify endpoints
 * over HTTPS (or HTTP to loopback / a Unix socket), SPEC §5.
 *
 * One curl handle per context, reused across checks so long-running hosts
 * keep their connections; curl_global_init runs once per process.  Every
 * attempt is bounded by connect_timeout_ms and timeout_ms, URLs are tried
 * in order, and only an endpoint that answers "yes" or "no" ends the loop.
 */
#include "cache.h"
#include "ctx_int.h"
#include "file.h"
#include "http.h"
#include "remote_parse.h"
#include "sign.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <openssl/ssl.h>

#define KEY_FILE_MAX 4096

struct ta_remote {
	CURL *h;
	curl_socket_t last_fd; /* socket of the last transfer, if curl keeps it */
	int fresh_next;        /* the last answer was not clean: drop the connections */
	char *api_key;         /* x-api-key, NUL-terminated */
	uint8_t *sign_key;     /* HMAC key for signed requests */
	size_t sign_key_len;
	ta_cache *cache;
	int keys_loaded, cache_tried;
};


static void remote_free(void *state)
{
	struct ta_remote *r = state;

	if (r == NULL)
		return;
	if (r->h != NULL)
		curl_easy_cleanup(r->h);
	ta_wipe_free(r->api_key);
	ta_wipe(r->sign_key, r->sign_key_len);
	free(r->sign_key);
	ta_cache_close(r->cache);
	free(r);
}

/*
 * Read a key file (same checks as the store), trailing newlines dropped.
 * On failure *out is NULL: nothing for the caller to free.
 */
static int read_key(ta_ctx *ctx, const char *path, uint8_t **out, size_t *len)
{
	char err[512];
	int r = ta_file_read(path, TA_FILE_SECRET, KEY_FILE_MAX, out, len, err, sizeof(err));

	if (r != TA_OK) {
		ta_logf(ctx, TA_LOG_ERR, "remote: key file unusable: %s", err);
		return TA_ERR_CONFIG;
	}
	while (*len > 0 && ((*out)[*len - 1] == '\n' || (*out)[*len - 1] == '\r'))
		(*out)[--*len] = '\0';
	if (*len == 0) {
		ta_logf(ctx, TA_LOG_ERR, "remote: key file %s is empty", path);
		free(*out); /* nothing secret in it, but the caller must not own it */
		*out = NULL;
		return TA_ERR_CONFIG;
	}
	return TA_OK;
}

static int load_keys(ta_ctx *ctx, struct ta_remote *rm)
{
	const ta_config *cfg = ctx->cfg;
	size_t len = 0;
	int r;

	if (rm->keys_loaded)
		return TA_OK;
	if (cfg->api_key_file != NULL) {
		uint8_t *k = NULL;
		if ((r = read_key(ctx, cfg->api_key_file, &k, &len)) != TA_OK)
			return r;
		if (strlen((char *)k) != len || strpbrk((char *)k, "\r\n") != NULL) {
			ta_logf(ctx, TA_LOG_ERR, "remote: %s must hold one line",
			        cfg->api_key_file);
			ta_wipe(k, len);
			free(k);
			return TA_ERR_CONFIG;
		}
		rm->api_key = (char *)k;
	}
	if (cfg->sign_key_file != NULL &&
	    (r = read_key(ctx, cfg->sign_key_file, &rm->sign_key, &rm->sign_key_len)) != TA_OK)
		return r;
	rm->keys_loaded = 1;
	return TA_OK;
}

static int get_remote(ta_ctx *ctx, void **state, struct ta_remote **out)
{
	struct ta_remote *rm = *state;
	int r;

	if (rm == NULL) {
		if ((r = ta_global_init()) != TA_OK) {
			ta_logf(ctx, TA_LOG_ERR, "remote: libcurl initialisation failed: %s",
			        ta_global_init_error());
			return r;
		}
		if ((rm = calloc(1, sizeof(*rm))) == NULL)
			return TA_ERR_NOMEM;
		rm->last_fd = CURL_SOCKET_BAD;
		if ((rm->h = curl_easy_init()) == NULL) {
			free(rm);
			return TA_ERR_NOMEM;
		}
		*state = rm;
	}
	if ((r = load_keys(ctx, rm)) != TA_OK)
		return r;
	*out = rm;
	return TA_OK;
}

static size_t collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct ta_http_buf *b = arg;
	size_t n = size * nmemb;
	char *grown;

	if (n > TA_REMOTE_MAX_BODY - b->len) {
		b->overflow = 1;
		return 0; /* abort the transfer */
	}
	if ((grown = realloc(b->data, b->len + n + 1)) == NULL)
		return 0;
	b->data = grown;
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* An address literal in 127.0.0.0/8 or ::1, or the name localhost. */
static int is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char v6[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (n < 2 || n - 2 >= sizeof(v6) || host[0] != '[' || host[n - 1] != ']')
		return 0;
	memcpy(v6, host + 1, n - 2);
	v6[n - 2] = '\0';
	return inet_pton(AF_INET6, v6, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/*
 * https:// anywhere; http:// only to loopback or through a Unix socket.
 * path receives the URL's path for signing.
 */
static int check_url(ta_ctx *ctx, const char *url, char *path, size_t cap, char *label, size_t lcap)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *p = NULL;
	int r = TA_ERR_CONFIG;

	if (u == NULL)
		return TA_ERR_NOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &p, 0) != CURLUE_OK) {
		ta_logf(ctx, TA_LOG_ERR, "remote: malformed url");
		goto out;
	}
	if (strcmp(scheme, "https") != 0 &&
	    !(strcmp(scheme, "http") == 0 &&
	      (is_loopback(host) || ctx->cfg->unix_socket != NULL))) {
		ta_logf(ctx, TA_LOG_ERR,
		        "remote: refusing %s://%s: plain http only to loopback or a unix_socket",
		        scheme, host);
		goto out;
	}
	snprintf(path, cap, "%s", p);
	snprintf(label, lcap, "%s://%s%s", scheme, host, p); /* no userinfo, no query */
	r = TA_OK;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(p);
	curl_url_cleanup(u);
	return r;
}

/* curl keeps copies of header lines: wipe them before freeing. */
static void free_headers(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p != NULL; p = p->next)
		ta_wipe(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

/*
 * The header encoder: a field value is visible ASCII and inner spaces
 * (RFC 9110 field-value without obs-text), never empty, never starting or
 * ending with a space; the name is letters, digits and '-'.  Anything else
 * is refused, never escaped: a header value has no escape syntax.
 */
static int header_ok(const char *name, const char *value)
{
	size_t n = strlen(value);

	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-'))
			return 0;
	if (name[0] == '\0' || n == 0 || value[0] == ' ' || value[n - 1] == ' ')
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)value[i] < 0x20 || (unsigned char)value[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * Append "Name: value" to the list; NULL on failure or when the encoder
 * refuses the value (the list is left as it was, for the caller to free).
 */
static struct curl_slist *add_header(struct curl_slist *l, const char *name, const char *value)
{
	char line[KEY_FILE_MAX + 64];
	struct curl_slist *n;

	if (!header_ok(name, value) ||
	    snprintf(line, sizeof(line), "%s: %s", name, value) >= (int)sizeof(line))
		return NULL;
	n = curl_slist_append(l, line);
	ta_wipe(line, sizeof(line));
	return n;
}

static struct curl_slist *build_headers(ta_ctx *ctx, struct ta_remote *rm, const char *method,
                                        const char *path, const char *body,
                                        const struct ta_check *c)
{
	struct curl_slist *l = NULL, *n;
	unsigned long prof = ctx->cfg->profile;

	l = curl_slist_append(NULL, "Accept: application/json");
	l = l ? curl_slist_append(l, "Expect:") : NULL;
	if (l && prof == TA_PROFILE_CEC)
		l = curl_slist_append(l, "Content-Type: application/json");
	else if (l && prof == TA_PROFILE_INTROSPECTION)
		l = curl_slist_append(l, "Content-Type: application/x-www-form-urlencoded");
	if (l && rm->api_key && (n = add_header(l, "x-api-key", rm->api_key)) == NULL)
		goto fail;
	if (l && prof == TA_PROFILE_KUDO) {
		char tok[TA_MAX_CREDENTIAL + 1];
		memcpy(tok, c->credential, c->credential_len);
		tok[c->credential_len] = '\0';
		n = add_header(l, "x-api-token", tok);
		ta_wipe(tok, sizeof(tok));
		if (n == NULL)
			goto fail;
	}
	if (l && rm->sign_key) {
		char nonce[TA_NONCE_HEX + 1], sig[TA_SIG_HEX + 1], ts[24];
		int64_t now = ta_now(ctx);
		snprintf(ts, sizeof(ts), "%lld", (long long)now);
		if (ta_sign_nonce(nonce) != TA_OK ||
		    ta_sign(rm->sign_key, rm->sign_key_len, now, nonce, method, path, body,
		            strlen(body), sig) != TA_OK ||
		    (n = add_header(l, TA_HDR_TIMESTAMP, ts)) == NULL ||
		    (n = add_header(l, TA_HDR_NONCE, nonce)) == NULL ||
		    (n = add_header(l, TA_HDR_SIGNATURE, sig)) == NULL)
			goto fail;
	}
	return l;
fail:
	free_headers(l);
	return NULL;
}

static void set_tls(struct ta_http_opts *o, CURL *h, const ta_config *cfg)
{
	TA_HTTP_SET(o, h, CURLOPT_SSL_VERIFYPEER, 1L);
	TA_HTTP_SET(o, h, CURLOPT_SSL_VERIFYHOST, 2L);
	TA_HTTP_SET(o, h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (cfg->ca_file)
		TA_HTTP_SET(o, h, CURLOPT_CAINFO, cfg->ca_file);
	if (cfg->ca_path)
		TA_HTTP_SET(o, h, CURLOPT_CAPATH, cfg->ca_path);
	if (cfg->client_cert)
		TA_HTTP_SET(o, h, CURLOPT_SSLCERT, cfg->client_cert);
	if (cfg->client_key)
		TA_HTTP_SET(o, h, CURLOPT_SSLKEY, cfg->client_key);
	if (cfg->pinned_pubkey)
		TA_HTTP_SET(o, h, CURLOPT_PINNEDPUBLICKEY, cfg->pinned_pubkey);
}

/*
 * A kept-alive connection must be silent between our requests: a byte
 * already waiting is an answer to no request of ours (a smuggled or
 * left-over response), and reading it as the verdict of the next check is
 * how a login-as-anyone worked.  Before each attempt the socket of the
 * last transfer is peeked; if anything waits there, or the last answer was
 * not a clean yes or no, the handle and every connection it keeps are
 * dropped and the attempt starts on a new one.
 */
static int renew_if_desynced(ta_ctx *ctx, struct ta_remote *rm)
{
	char byte;
	int waiting = rm->last_fd != CURL_SOCKET_BAD &&
	              recv(rm->last_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;

	if (waiting)
		ta_logf(
		    ctx, TA_LOG_WARNING,
		    "remote: bytes no request asked for wait on a kept-alive connection; closed");
	if (!waiting && !rm->fresh_next)
		return TA_OK;
	curl_easy_cleanup(rm->h);
	rm->last_fd = CURL_SOCKET_BAD;
	rm->fresh_next = 0;
	return (rm->h = curl_easy_init()) != NULL ? TA_OK : TA_ERR_NOMEM;
}

/*
 * After a transfer: remember its socket for the next peek, and whether the
 * connection is fit to carry the next check.  Only a clean yes or no is,
 * and only when the answer was framed by a Content-Length that was read to
 * the end: bytes that came in the same read as a bodiless or chunked
 * answer are dropped silently by libcurl (7.88) without closing, so a
 * second, smuggled answer could sit behind them.
 */
static void note_framing(struct ta_remote *rm, CURLcode cc, int verdict)
{
	curl_off_t cl = -1, got = -1;

	if (curl_easy_getinfo(rm->h, CURLINFO_ACTIVESOCKET, &rm->last_fd) != CURLE_OK)
		rm->last_fd = CURL_SOCKET_BAD;
	if (verdict != TA_OK && !ta_err_is_rejection(verdict))
		rm->fresh_next = 1;
	if (cc != CURLE_OK)
		return;
	curl_easy_getinfo(rm->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
	curl_easy_getinfo(rm->h, CURLINFO_SIZE_DOWNLOAD_T, &got);
	if (cl <= 0 || got != cl)
		rm->fresh_next = 1;
}

/*
 * Never hand our TLS secrets to a key log, whoever opened it (libcurl
 * installs its SSLKEYLOGFILE callback before calling this).
 */
static CURLcode no_keylog(CURL *h, void *sslctx, void *arg)
{
	(void)h;
	(void)arg;
	SSL_CTX_set_keylog_callback((SSL_CTX *)sslctx, NULL);
	return CURLE_OK;
}

void ta_http_options(CURL *h, const ta_config *cfg, const char *url, struct ta_http_buf *b,
                     struct ta_http_opts *o)
{
	curl_easy_reset(h); /* keeps the connection cache */
	o->code = CURLE_OK;
	o->name = "";
	TA_HTTP_SET(o, h, CURLOPT_SSL_CTX_FUNCTION, no_keylog);
	TA_HTTP_SET(o, h, CURLOPT_URL, url);
	TA_HTTP_SET(o, h, CURLOPT_NOSIGNAL, 1L);
	TA_HTTP_SET(o, h, CURLOPT_PROTOCOLS_STR, "http,https");
	TA_HTTP_SET(o, h, CURLOPT_FOLLOWLOCATION, 0L);
	TA_HTTP_SET(o, h, CURLOPT_PROXY, ""); /* never from the environment */
	TA_HTTP_SET(o, h, CURLOPT_NOPROXY, "*");
	TA_HTTP_SET(o, h, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
	TA_HTTP_SET(o, h, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
	TA_HTTP_SET(o, h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)TA_REMOTE_MAX_BODY);
	TA_HTTP_SET(o, h, CURLOPT_USERAGENT, "tokenauth/1");
	TA_HTTP_SET(o, h, CURLOPT_WRITEFUNCTION, collect);
	TA_HTTP_SET(o, h, CURLOPT_WRITEDATA, b);
	set_tls(o, h, cfg);
}

/* One request to one URL; returns a verdict or TA_ERR_UNAVAILABLE. */
static int attempt(ta_ctx *ctx, struct ta_remote *rm, const char *url, const char *path,
                   const char *label, const struct ta_check *c, int64_t *expires)
{
	const ta_config *cfg = ctx->cfg;
	const char *method = cfg->profile == TA_PROFILE_KUDO ? "GET" : "POST", *why = "";
	struct ta_http_buf b = {NULL, 0, 0};
	struct curl_slist *hdrs = NULL;
	struct ta_http_opts o;
	char *body =
	    ta_remote_body(cfg->profile, c->user, c->tenant, c->credential, c->credential_len);
	long status = 0;
	CURLcode cc;
	int r = TA_ERR_NOMEM;

	if (body == NULL)
		goto out;
	if ((hdrs = build_headers(ctx, rm, method, path, body, c)) == NULL) {
		/* the credential is gated in ta_verify; a key file could still hold
		 * bytes no header may carry */
		ta_logf(ctx, TA_LOG_ERR, "remote: %s: a header value is not printable ASCII",
		        label);
		r = TA_ERR_CONFIG;
		goto out;
	}
	if ((r = renew_if_desynced(ctx, rm)) != TA_OK)
		goto out;
	ta_http_options(rm->h, cfg, url, &b, &o);
	if (cfg->unix_socket)
		TA_HTTP_SET(&o, rm->h, CURLOPT_UNIX_SOCKET_PATH, cfg->unix_socket);
	TA_HTTP_SET(&o, rm->h, CURLOPT_HTTPHEADER, hdrs);
	if (cfg->profile == TA_PROFILE_KUDO) {
		TA_HTTP_SET(&o, rm->h, CURLOPT_HTTPGET, 1L);
	} else {
		TA_HTTP_SET(&o, rm->h, CURLOPT_POSTFIELDS, body);
		TA_HTTP_SET(&o, rm->h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (o.code != CURLE_OK) {
		/* never a transfer with a default in place of our option */
		ta_logf(ctx, TA_LOG_ERR, "remote: %s: libcurl refused %s: %s", label, o.name,
		        curl_easy_strerror(o.code));
		r = TA_ERR_CONFIG;
		rm->fresh_next = 1;
		goto out;
	}
	cc = curl_easy_perform(rm->h);
	curl_easy_getinfo(rm->h, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK) {
		r = TA_ERR_UNAVAILABLE;
		why = b.overflow || cc == CURLE_FILESIZE_EXCEEDED ? "response larger than 64 KiB"
		                                                  : curl_easy_strerror(cc);
	} else {
		r = ta_remote_judge(cfg->profile, status, b.data ? b.data : "", b.len, c->user,
		                    c->tenant, expires, &why);
	}
	note_framing(rm, cc, r);
	ta_logf(ctx, r == TA_ERR_UNAVAILABLE ? TA_LOG_WARNING : TA_LOG_DEBUG,
	        "remote: %s: HTTP %ld: %s", label, status, why);
out:
	curl_easy_setopt(rm->h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(rm->h, CURLOPT_POSTFIELDS, NULL);
	free_headers(hdrs);
	if (body != NULL) {
		ta_wipe(body, strlen(body));
		free(body);
	}
	free(b.data);
	return r;
}

/* OTP codes are never cached: a cached code could be replayed. */
static int cacheable(const ta_ctx *ctx, const struct ta_check *c)
{
	size_t digits = 0;

	if (ctx->cfg->cache_ttl == 0 && ctx->cfg->offline_grace == 0)
		return 0;
	while (digits < c->credential_len && c->credential[digits] >= '0' &&
	       c->credential[digits] <= '9')
		digits++;
	return !(digits == c->credential_len && digits <= 8);
}

static ta_cache *cache_of(ta_ctx *ctx, struct ta_remote *rm)
{
	char dir[PATH_MAX], err[512];

	if (rm->cache != NULL || rm->cache_tried)
		return rm->cache;
	rm->cache_tried = 1;
	ta_config_state_dir(ctx->cfg, dir, sizeof(dir));
	if (ta_cache_open(dir, &rm->cache, err, sizeof(err)) != TA_OK)
		ta_logf(ctx, TA_LOG_WARNING, "remote: cache disabled: %s", err);
	return rm->cache;
}

/* Every URL in order until one answers yes or no. */
static int try_urls(ta_ctx *ctx, struct ta_remote *rm, const struct ta_check *c, int64_t *expires)
{
	const char *p = ctx->cfg->url;
	char url[4200], path[4200], label[4200];
	int r = TA_ERR_UNAVAILABLE;

	while (p != NULL && *p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (n >= sizeof(url))
			return TA_ERR_CONFIG;
		memcpy(url, p, n);
		url[n] = '\0';
		p = comma ? comma + 1 : NULL;
		if ((r = check_url(ctx, url, path, sizeof(path), label, sizeof(label))) != TA_OK)
			return r;
		r = attempt(ctx, rm, url, path, label, c, expires);
		if (r != TA_ERR_UNAVAILABLE)
			return r;
	}
	return r;
}

static int remote_check(ta_ctx *ctx, void **state, struct ta_check *c)
{
	const ta_config *cfg = ctx->cfg;
	struct ta_remote *rm = NULL;
	uint8_t key[TA_CACHE_KEY_LEN];
	ta_cache *cache = NULL;
	int64_t expires = 0, now = ta_now(ctx);
	int r, have_key = 0;

	if (cfg->url == NULL) {
		ta_logf(ctx, TA_LOG_ERR, "verify=remote needs url=");
		return TA_ERR_CONFIG;
	}
	if ((r = get_remote(ctx, state, &rm)) != TA_OK)
		return r;
	c->out->method = "remote";
	if (cacheable(ctx, c) && (cache = cache_of(ctx, rm)) != NULL)
		have_key = ta_cache_key(cache, c->service, c->tenant, c->user, c->credential,
		                        c->credential_len, key) == TA_OK;
	if (have_key && cfg->cache_ttl > 0 &&
	    ta_cache_get(cache, key, now, cfg->cache_ttl) == TA_OK) {
		ta_logf(ctx, TA_LOG_DEBUG, "remote: cache hit for user=%s", TA_Q(c->user));
		r = TA_OK;
		goto out;
	}
	r = try_urls(ctx, rm, c, &expires);
	if (r == TA_OK && have_key)
		ta_cache_put(cache, key, now, expires);
	/* Revocation wins: a refusal removes what an earlier success left, so an
	 * outage afterwards cannot bring the credential back through grace. */
	if (ta_err_is_rejection(r) && have_key && ta_cache_del(cache, key) != TA_OK)
		ta_logf(ctx, TA_LOG_ERR, "remote: cannot drop a refused credential from the cache");
	c->out->expires = expires;
	if (r != TA_ERR_UNAVAILABLE)
		goto out;
	if (have_key && cfg->offline_grace > 0 &&
	    ta_cache_get(cache, key, now, cfg->offline_grace) == TA_OK) {
		ta_logf(
		    ctx, TA_LOG_WARNING,
		    "remote: every endpoint unavailable; user=%s served from cache (offline_grace)",
		    TA_Q(c->user));
		r = TA_OK;
		goto out;
	}
	ta_logf(ctx, TA_LOG_ERR, "remote: every endpoint unavailable for user=%s", TA_Q(c->user));
out:
	ta_wipe(key, sizeof(key));
	return r;
}

const struct ta_backend ta_backend_remote = {
    .name = "remote",
    .flags = TA_BACKEND_FOREIGN_USERS | TA_BACKEND_NETWORK,
    .check = remote_check,
    .free_state = remote_free,
};
