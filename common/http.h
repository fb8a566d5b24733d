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

/* Reset h (keeping its connections) and set every option of the recipe. */
void ta_http_options(CURL *h, const ta_config *cfg, const char *url, struct ta_http_buf *b);

#endif
