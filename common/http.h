/*
 * http.h - the one libcurl recipe of the core's HTTPS clients (the remote
 * backend and the jwt backend's JWKS fetch): TLS verification on, TLS 1.2
 * at least, no redirects, no proxy from the environment, every transfer
 * bounded by connect_timeout_ms and timeout_ms, bodies capped at
 * TA_REMOTE_MAX_BODY.  For core files only.
 */
#ifndef TA_HTTP_H
#define TA_HTTP_H

#include <stddef.h>

#include <curl/curl.h>

#include "config.h"

struct ta_http_buf {
	char *data; /* NUL-terminated; the caller frees */
	size_t len;
	int overflow; /* the body passed the cap: the transfer was aborted */
};

/*
 * The first option libcurl refused, if any (ta_http_need): an option of
 * the recipe that does not take (an older libcurl, a TLS library without
 * key pinning) must stop the transfer, never leave a default in its place.
 */
struct ta_http_opts {
	CURLcode code;
	const char *name;
};

static inline void ta_http_need(struct ta_http_opts *o, CURLcode code, const char *name)
{
	if (code != CURLE_OK && o->code == CURLE_OK) {
		o->code = code;
		o->name = name;
	}
}

/* curl_easy_setopt, its type checks kept, its refusal remembered in o. */
#define TA_HTTP_SET(o, h, opt, val) ta_http_need((o), curl_easy_setopt((h), opt, val), #opt)

/*
 * Reset h (keeping its connections) and set every option of the recipe.
 * o names the first one libcurl refused (o->code != CURLE_OK): then the
 * caller, after its own options, must not perform the transfer.
 */
void ta_http_options(CURL *h, const ta_config *cfg, const char *url, struct ta_http_buf *b,
                     struct ta_http_opts *o);

#endif
