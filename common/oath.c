/*
 * oath.c - migrating a pam_oath (oath-toolkit) users file.
 *
 * Line format: TYPE USER PIN HEXSECRET [COUNTER [LASTOTP [TIME]]], where
 * TYPE is HOTP, HOTP/E[/D] or HOTP/T<period>[/D] and TIME is local time as
 * %Y-%m-%dT%H:%M:%SL.  pam_oath records, for HOTP, the counter of the last
 * accepted code; for TOTP, the last code and when it was accepted.  Both
 * become our "next acceptable counter/step", so no code accepted before
 * the migration is accepted again after it.
 */
#define _GNU_SOURCE /* strptime */
#include "admin.h"
#include "oath.h"
#include "ctx_int.h"
#include "file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OATH_FILE_MAX (64UL * 1024 * 1024)
#define MAX_FIELDS    8

static int parse_type(const char *s, struct ta_otp_params *p)
{
	unsigned long long v = 0;
	const char *rest;
	char num[16];

	p->alg = TA_HASH_SHA1;
	p->digits = 6;
	p->period = 0;
	if (strncmp(s, "HOTP", 4) != 0)
		return TA_ERR_INPUT;
	rest = s + 4;
	p->type = TA_OTP_HOTP;
	if (*rest == '\0')
		return TA_OK;
	if (strncmp(rest, "/E", 2) == 0) {
		rest += 2;
	} else if (strncmp(rest, "/T", 2) == 0) {
		size_t n = strcspn(rest + 2, "/");
		if (n == 0 || n >= sizeof(num))
			return TA_ERR_INPUT;
		memcpy(num, rest + 2, n);
		num[n] = '\0';
		if (ta_parse_uint(num, 1, 3600, &v) != TA_OK)
			return TA_ERR_INPUT;
		p->type = TA_OTP_TOTP;
		p->period = (unsigned)v;
		rest += 2 + n;
	} else {
		return TA_ERR_INPUT;
	}
	if (*rest == '\0')
		return TA_OK;
	if (rest[0] != '/' || rest[1] < '6' || rest[1] > '8' || rest[2] != '\0')
		return TA_ERR_INPUT;
	p->digits = (unsigned)(rest[1] - '0');
	return TA_OK;
}

/* Split on blanks into at most max fields; returns the count or -1. */
static int split(char *line, char **f, int max)
{
	int n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			*p++ = '\0';
		if (*p == '\0')
			return n;
		if (n == max)
			return -1;
		f[n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			p++;
	}
}

static int parse_extras(char **f, int n, struct ta_oath_entry *e, char *why, size_t whylen)
{
	unsigned long long v;

	if (n > 4) {
		size_t l = strlen(f[4]);
		if (l == 0 || strspn(f[4], "0123456789") != l)
			return snprintf(why, whylen, "counter '%.24s' is not a number", f[4]),
			       TA_ERR_INPUT;
		/* below the bound, counter + 1 still fits the store's signed column */
		if (ta_parse_uint(f[4], 0, TA_OTP_COUNTER_MAX - 1, &v) != TA_OK)
			return snprintf(why, whylen,
			                "counter %.24s%s is too large (must be below 2^62 = %llu)",
			                f[4], l > 24 ? "..." : "",
			                (unsigned long long)TA_OTP_COUNTER_MAX),
			       TA_ERR_INPUT;
		e->has_counter = 1;
		e->counter = v;
	}
	if (n > 5) {
		size_t l = strlen(f[5]);
		if (l < 6 || l > 8 || strspn(f[5], "0123456789") != l)
			return snprintf(why, whylen, "last code is not 6-8 digits"), TA_ERR_INPUT;
		memcpy(e->last_otp, f[5], l + 1);
		e->has_last = 1;
	}
	if (n > 6) {
		struct tm tm;
		const char *end;
		memset(&tm, 0, sizeof(tm));
		end = strptime(f[6], "%Y-%m-%dT%H:%M:%SL", &tm);
		if (end == NULL || *end != '\0')
			return snprintf(why, whylen, "time '%.32s' is not YYYY-MM-DDTHH:MM:SSL",
			                f[6]),
			       TA_ERR_INPUT;
		tm.tm_isdst = -1;
		e->time = (int64_t)mktime(&tm);
		e->has_time = 1;
	}
	return TA_OK;
}

int ta_oath_parse_line(const char *line, struct ta_oath_entry *e, char *why, size_t whylen)
{
	char buf[1024], *f[MAX_FIELDS];
	size_t len = strlen(line);
	long slen;
	int n, r = TA_ERR_INPUT;

	memset(e, 0, sizeof(*e));
	if (len >= sizeof(buf))
		return snprintf(why, whylen, "line longer than %zu bytes", sizeof(buf) - 1),
		       TA_ERR_INPUT;
	memcpy(buf, line, len + 1);
	if ((n = split(buf, f, MAX_FIELDS)) == 0 || f[0][0] == '#') {
		r = 1;
		goto out;
	}
	if (n < 4 || n > 7) {
		snprintf(why, whylen, "expected 4 to 7 fields, found %d", n < 0 ? MAX_FIELDS : n);
		goto out;
	}
	if (parse_type(f[0], &e->p) != TA_OK) {
		snprintf(why, whylen, "unknown token type '%.32s'", f[0]);
		goto out;
	}
	if (strlen(f[1]) > TA_MAX_USER) {
		snprintf(why, whylen, "user name too long");
		goto out;
	}
	memcpy(e->user, f[1], strlen(f[1]) + 1);
	if (strcmp(f[2], "-") != 0 && strcmp(f[2], "+") != 0) {
		snprintf(why, whylen,
		         "user %s has a PIN, which tokenauth does not keep; enrol anew", e->user);
		goto out;
	}
	slen = ta_unhex(f[3], strlen(f[3]), e->secret, sizeof(e->secret));
	if (slen < TA_OTP_MIN_SECRET) {
		snprintf(why, whylen, "secret is not hex of %d to %d bytes", TA_OTP_MIN_SECRET,
		         TA_OTP_MAX_SECRET);
		goto out;
	}
	e->secret_len = (size_t)slen;
	r = parse_extras(f, n, e, why, whylen);
out:
	ta_wipe(buf, sizeof(buf));
	if (r != TA_OK)
		ta_wipe(e, sizeof(*e));
	return r;
}

/* The first counter/step we may accept after what pam_oath accepted. */
static uint64_t next_after(const struct ta_oath_entry *e)
{
	uint32_t code = 0, want = (uint32_t)strtoul(e->last_otp, NULL, 10);

	if (e->p.type == TA_OTP_HOTP) {
		if (!e->has_counter)
			return 0;
		if (e->has_last &&
		    ta_otp_code(e->secret, e->secret_len, e->p.alg, e->p.digits, e->counter,
		                &code) == TA_OK &&
		    code == want)
			return e->counter + 1;
		return e->counter;
	}
	if (!e->has_time || e->time < 0)
		return 0;
	uint64_t step = (uint64_t)e->time / e->p.period;
	/* Find the step of the last code near the time it was accepted. */
	for (uint64_t s = step + 10; e->has_last && s + 10 >= step && s > 0; s--)
		if (ta_otp_code(e->secret, e->secret_len, e->p.alg, e->p.digits, s, &code) ==
		        TA_OK &&
		    code == want)
			return s + 1;
	return step + 1;
}

static int import_line(ta_ctx *ctx, ta_store *st, const char *line, const char *tenant, char *why,
                       size_t whylen)
{
	struct ta_oath_entry e;
	char u[TA_MAX_USER + 1], t[TA_MAX_TENANT + 1];
	struct ta_otp_row existing;
	int r = ta_oath_parse_line(line, &e, why, whylen);

	if (r != TA_OK)
		return r;
	if (ta_resolve_identity(ctx->cfg, e.user, tenant, u, t) != TA_OK) {
		snprintf(why, whylen, "user or tenant name not acceptable");
		r = TA_ERR_INPUT;
	} else if ((r = ta_store_otp_get(st, u, t, &existing)) == TA_OK) {
		snprintf(why, whylen, "user %s already has an OTP secret here; not replaced", u);
		r = TA_ERR_EXISTS;
	} else if (r == TA_ERR_NOT_FOUND) {
		struct ta_otp_params p = e.p;
		uint8_t aad[TA_MAX_USER + TA_MAX_TENANT + 2];
		const uint8_t *key = NULL;
		struct ta_otp_row row;
		memset(&row, 0, sizeof(row));
		row.p = p;
		row.next = next_after(&e);
		row.created = ta_now(ctx);
		if ((r = ta_ctx_key(ctx, &key)) == TA_OK &&
		    (r = ta_seal(key, aad, ta_otp_aad(u, t, aad, sizeof(aad)), e.secret,
		                 e.secret_len, row.sealed)) == TA_OK) {
			row.sealed_len = e.secret_len + TA_GCM_NONCE_LEN + TA_GCM_TAG_LEN;
			r = ta_store_otp_put(st, u, t, &row, 0);
		}
		if (r != TA_OK)
			snprintf(why, whylen, "cannot store: %s", ta_strerror(r));
		ta_wipe(&row, sizeof(row));
	}
	ta_wipe(&existing, sizeof(existing));
	ta_wipe(&e, sizeof(e));
	return r;
}

int ta_oath_import(ta_ctx *ctx, const char *path, const char *tenant,
                   void (*report)(void *arg, unsigned lineno, const char *reason), void *arg,
                   unsigned *imported, unsigned *skipped)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[512], *p, *nl;
	unsigned lineno = 0;
	ta_store *st = NULL;
	int r;

	*imported = *skipped = 0;
	if ((r = ta_file_read(path, TA_FILE_PLAIN, OATH_FILE_MAX, &buf, &len, err, sizeof(err))) !=
	    TA_OK) {
		ta_logf(ctx, TA_LOG_ERR, "%s", err);
		return r == TA_ERR_NOMEM ? r : TA_ERR_INPUT; /* a file the admin named */
	}
	if (memchr(buf, '\0', len) != NULL) {
		ta_logf(ctx, TA_LOG_ERR, "%s: contains a NUL byte; not a users file", path);
		r = TA_ERR_INPUT;
		goto out;
	}
	if ((r = ta_ctx_store(ctx, &st)) != TA_OK || (r = ta_store_begin(st)) != TA_OK)
		goto out;
	for (p = (char *)buf; p < (char *)buf + len; p = nl) {
		lineno++;
		if ((nl = memchr(p, '\n', len - (size_t)(p - (char *)buf))) != NULL)
			*nl++ = '\0';
		else
			nl = (char *)buf + len;
		err[0] = '\0';
		r = import_line(ctx, st, p, tenant, err, sizeof(err));
		if (r == TA_OK)
			(*imported)++;
		else if (r != 1) {
			(*skipped)++;
			report(arg, lineno, err);
			if (r == TA_ERR_UNAVAILABLE || r == TA_ERR_NOMEM)
				goto out;
		}
	}
	r = ta_store_commit(st);
	if (r != TA_OK)
		ta_logf(ctx, TA_LOG_ERR, "cannot commit import: %s", ta_store_errmsg(st));
out:
	ta_store_rollback(st);
	ta_wipe(buf, len);
	free(buf);
	return r;
}
