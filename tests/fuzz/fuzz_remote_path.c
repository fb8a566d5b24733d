/*
 * fuzz_remote_path.c - the whole remote-verify path against a lying endpoint.
 *
 * ta_verify() runs for real (input gate, backend table, libcurl, the
 * connection cache, the result cache, the response judges) against an
 * HTTP "server" in a thread of this process, on a Unix socket, that sends
 * back whatever bytes the input holds: status line, headers and body, in
 * any shape, truncated, chunked, oversized, followed by left-over bytes or
 * a second, smuggled response.
 *
 * Input:
 *   byte 0  flags: bits 0-1 profile (0 cec, 1 introspection, 2 kudo, 3 cec),
 *           bits 2-3 cache (0/1 none, 2 cache_ttl, 3 offline_grace),
 *           bit 4 keep the connection open after an answer,
 *           bit 5 write each answer in two parts (a delay between); with
 *           bit 4 and an empty answer: a silent endpoint that never closes,
 *           bit 6 two answers: the second check gets the second one,
 *           bit 7 an explicit tenant "acme" in the request
 *   byte 1  bits 0-1 delay in ms between the two parts, bit 2 append
 *           66000 spaces to each answer (past the 64 KiB body cap),
 *           bits 3-7 where to split
 *   byte 2  credential length, then the credential
 *   then    user length, then the user
 *   then    with bit 6: a 2-byte big-endian length and the first answer,
 *           the rest is the second; else the rest is both answers
 *
 * Each input runs two checks on one context (the second may reuse the
 * connection; with a cache, a third follows with the endpoint down) and
 * traps on any broken promise:
 *   - TA_OK only when the answer read for that request, framed the way
 *     HTTP/1.1 frames it, is a 200 whose body says yes for the profile
 *     (cec: integer retCode 0; introspection: "active": true and sub,
 *     username, tenantSpaceId absent or ours; kudo: userAccount ours and
 *     tenantSpaceId absent or ours; a key or name with an escaped NUL in
 *     it is not the one we look for).  The expected answer is computed
 *     from the bytes sent with a strict parser; whatever it cannot decide
 *     is only checked for crashes.  A cached success may answer the second
 *     check, but offline_grace never overrides a clean refusal, and with
 *     the endpoint down no success is served once a refusal followed it.
 *   - a credential outside 0x21..0x7e, or a user that is empty or has a
 *     control byte, is refused before any connection is made;
 *   - every request the server reads is one well-formed request carrying
 *     the credential intact (no header or body injection), and none comes
 *     on a connection where bytes past the last response were left over;
 *   - no log line contains the credential;
 *   - no check takes longer than its timeouts allow.
 */
#define _GNU_SOURCE /* memmem, accept4 */
#include "config.h"
#include "remote_parse.h"
#include "ta.h"
#include "verify.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TIMEOUT_MS         300
#define CONNECT_TIMEOUT_MS 200
/* backend_remote.c makes at most two tries on one URL (a stale kept-alive
 * connection is dropped and the request made again on a fresh one), each
 * bounded by timeout_ms; the rest is slack for ASan, a loaded machine and
 * SQLite's fsyncs.  A silent endpoint holds the connection for HOLD_MS. */
#define CALL_LIMIT_MS (2 * TIMEOUT_MS + 1500)
#define HOLD_MS       5000 /* a silent endpoint: far past any limit above */
#define RESP_CAP      8192 /* bytes of an answer from the input */
#define PAD_LEN       (TA_REMOTE_MAX_BODY + 464)
#define SEND_CAP      (RESP_CAP + PAD_LEN)
#define REQ_CAP       16384
#define MAX_CONNS     8
#define IDLE_MS       30  /* a kept-open connection waits this long for the next request */
#define REQ_WAIT_MS   200 /* and a started request this long for its end */
#define SETTLE_MS     2000

enum { PROF_CEC, PROF_INTROSPECTION, PROF_KUDO };
enum { CACHE_NONE, CACHE_TTL, CACHE_GRACE };
/* What the core may answer for one response: a set of these (P_UNDECIDED:
 * the strict parser could not tell, so anything may happen). */
enum { P_YES = 1, P_REJ = 2, P_UNAV = 4, P_ALL = 7, P_UNDECIDED = 8 | 7 };

struct input {
	int profile, cache, keep_open, split, two, pad;
	const char *tenant; /* explicit tenant or NULL */
	const char *want_tenant;
	unsigned delay_ms, split_sel;
	const uint8_t *cred;
	size_t cred_len;
	char user[256];
	const uint8_t *resp[2];
	size_t resp_len[2];
};

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void violation(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz_remote_path: VIOLATION: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	__builtin_trap();
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the oracle: what HTTP/1.1 says the first response is -------------- */

/*
 * One strict line from pos: bytes HT, 0x20..0x7e, 0x80..0xff, ended by
 * CRLF.  Returns 1 (*eol = index of the CR), 0 when the data ends first,
 * -1 on a bare CR, bare LF or control byte (a lenient parser may read it
 * differently: undecidable).
 */
static int strict_line(const uint8_t *r, size_t n, size_t pos, size_t *eol)
{
	for (size_t i = pos; i < n; i++) {
		uint8_t c = r[i];
		if (c == '\r') {
			if (i + 1 == n)
				return 0;
			if (r[i + 1] != '\n')
				return -1;
			*eol = i;
			return 1;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return -1;
	}
	return 0;
}

static int is_tchar(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

struct head {
	int status, minor;
	size_t body; /* index of the first body byte */
	int cl_count, te_count, other_te, ce;
	unsigned long long cl;
	int cl_bad;
};

/* Trimmed value of a header line [v, e). */
static void trim(const uint8_t *r, size_t *v, size_t *e)
{
	while (*v < *e && (r[*v] == ' ' || r[*v] == '\t'))
		(*v)++;
	while (*e > *v && (r[*e - 1] == ' ' || r[*e - 1] == '\t'))
		(*e)--;
}

static void note_header(const uint8_t *r, size_t s, size_t colon, size_t e, struct head *h)
{
	size_t v = colon + 1, nlen = colon - s;

	trim(r, &v, &e);
	if (nlen == 14 && strncasecmp((const char *)r + s, "Content-Length", 14) == 0) {
		h->cl_count++;
		h->cl = 0;
		if (v == e || e - v > 9)
			h->cl_bad = 1;
		for (size_t i = v; i < e; i++) {
			if (r[i] < '0' || r[i] > '9')
				h->cl_bad = 1;
			else
				h->cl = h->cl * 10 + (unsigned)(r[i] - '0');
		}
	} else if (nlen == 17 && strncasecmp((const char *)r + s, "Transfer-Encoding", 17) == 0) {
		h->te_count++;
		if (!(e - v == 7 && strncasecmp((const char *)r + v, "chunked", 7) == 0))
			h->other_te = 1;
	} else if (nlen == 16 && strncasecmp((const char *)r + s, "Content-Encoding", 16) == 0) {
		h->ce = 1;
	}
}

/*
 * Header lines from pos to the empty line.  Returns 1 (*end = first byte
 * after the empty line), 0 when the data ends first, -1 when undecidable.
 * h may be NULL (chunked trailers).
 */
static int strict_headers(const uint8_t *r, size_t n, size_t pos, struct head *h, size_t *end)
{
	for (;;) {
		size_t eol = 0, colon;
		int k = strict_line(r, n, pos, &eol);
		if (k <= 0)
			return k;
		if (eol == pos) {
			*end = eol + 2;
			return 1;
		}
		for (colon = pos; colon < eol && is_tchar(r[colon]); colon++)
			;
		if (colon == pos || colon == eol || r[colon] != ':')
			return -1; /* obs-fold, space before the colon, bad name */
		if (h != NULL)
			note_header(r, pos, colon, eol, h);
		pos = eol + 2;
	}
}

/*
 * The status line.  Returns 1, 0 (data ends first) or -1 (undecidable);
 * -2 when it cannot be HTTP at all (libcurl refuses HTTP/0.9).
 */
static int status_line(const uint8_t *r, size_t n, struct head *h, size_t *next)
{
	size_t eol = 0;
	int k;

	if (n < 5)
		return strncasecmp((const char *)r, "HTTP/", n) == 0 ? 0 : -2;
	if (strncasecmp((const char *)r, "HTTP/", 5) != 0)
		return -2;
	if (n < 13)
		return memcmp(r, "HTTP/1.", n < 7 ? n : 7) == 0 ? 0 : -1;
	if (memcmp(r, "HTTP/1.", 7) != 0 || (r[7] != '0' && r[7] != '1') || r[8] != ' ')
		return -1;
	for (size_t i = 9; i < 12; i++)
		if (r[i] < '0' || r[i] > '9')
			return -1;
	if (r[12] != ' ' && r[12] != '\r')
		return -1;
	if ((k = strict_line(r, n, 12, &eol)) <= 0)
		return k;
	h->minor = r[7] - '0';
	h->status = (r[9] - '0') * 100 + (r[10] - '0') * 10 + (r[11] - '0');
	*next = eol + 2;
	return 1;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

enum { F_DONE, F_TRUNC, F_MAYBE, F_UNDECIDED };

/*
 * De-chunk into out (cap SEND_CAP).  Returns an F_* value; with F_DONE,
 * *end is the index just past the response.
 */
static int dechunk(const uint8_t *r, size_t n, size_t pos, uint8_t *out, size_t *olen, size_t *end)
{
	*olen = 0;
	for (;;) {
		unsigned long size = 0;
		size_t digits = 0;
		while (pos < n && hexval(r[pos]) >= 0) {
			if (++digits > 8)
				return F_UNDECIDED;
			size = size * 16 + (unsigned long)hexval(r[pos++]);
		}
		if (pos == n || (pos + 1 == n && r[pos] == '\r'))
			return F_TRUNC;
		if (digits == 0 || r[pos] != '\r' || r[pos + 1] != '\n')
			return F_UNDECIDED; /* extensions, spaces, junk */
		pos += 2;
		if (size == 0) {
			int k = strict_headers(r, n, pos, NULL, end);
			return k == 1 ? F_DONE : k == 0 ? F_MAYBE : F_UNDECIDED;
		}
		if (n - pos < size + 2)
			return n - pos < size ? F_TRUNC : F_MAYBE;
		if (r[pos + size] != '\r' || r[pos + size + 1] != '\n')
			return F_UNDECIDED;
		if (*olen + size > SEND_CAP)
			return F_UNDECIDED;
		memcpy(out + *olen, r + pos, size);
		*olen += size;
		pos += size + 2;
	}
}

/* Is there a member named key, and does some member of that name equal want? */
static int key_ok(const cJSON *o, const char *key, const char *want, int required)
{
	int seen = 0;

	for (const cJSON *m = o->child; m != NULL; m = m->next) {
		if (m->string == NULL || strcmp(m->string, key) != 0)
			continue;
		seen = 1;
		if (cJSON_IsString(m) && strcmp(m->valuestring, want) == 0)
			return 1;
	}
	return !seen && !required;
}

static int dup_keys(const cJSON *o)
{
	for (const cJSON *a = o->child; a != NULL; a = a->next)
		for (const cJSON *b = a->next; b != NULL; b = b->next)
			if (a->string && b->string && strcmp(a->string, b->string) == 0)
				return 1;
	return 0;
}

static unsigned judge_cec(const cJSON *o, int dup)
{
	const cJSON *rc = cJSON_GetObjectItemCaseSensitive(o, "retCode");

	for (const cJSON *m = o->child; m != NULL; m = m->next)
		if (m->string && strcmp(m->string, "retCode") == 0 && cJSON_IsNumber(m) &&
		    m->valuedouble == 0.0)
			return P_YES | P_REJ | P_UNAV;
	if (!dup && cJSON_IsNumber(rc) && rc->valuedouble > -9e15 && rc->valuedouble < 9e15 &&
	    rc->valuedouble == (double)(int64_t)rc->valuedouble)
		return P_REJ;
	return P_REJ | P_UNAV;
}

static unsigned judge_introspection(const cJSON *o, int dup, const char *user, const char *tenant)
{
	const cJSON *active = cJSON_GetObjectItemCaseSensitive(o, "active");
	int any_true = 0;

	for (const cJSON *m = o->child; m != NULL; m = m->next)
		if (m->string && strcmp(m->string, "active") == 0 && cJSON_IsTrue(m))
			any_true = 1;
	if (any_true && key_ok(o, "sub", user, 0) && key_ok(o, "username", user, 0) &&
	    key_ok(o, "tenantSpaceId", tenant, 0))
		return P_ALL;
	if (!dup && cJSON_IsBool(active))
		return P_REJ;
	return P_REJ | P_UNAV;
}

/*
 * JSON strings may hold U+0000 ("\u0000"); cJSON decodes it into a C string
 * that then ends early, so "alice\u0000x" would compare equal to "alice".
 * The oracle wants the string the endpoint sent: each escaped NUL becomes
 * U+0001, which keeps every other string as it was and no longer matches.
 */
static void unhide_nul(char *b, size_t n)
{
	int in_string = 0;

	for (size_t i = 0; i < n; i++) {
		if (b[i] == '"') {
			in_string = !in_string;
		} else if (in_string && b[i] == '\\' && i + 1 < n) {
			if (b[i + 1] == 'u' && i + 5 < n && memcmp(b + i + 2, "0000", 4) == 0)
				b[i + 5] = '1';
			i += b[i + 1] == 'u' ? 5 : 1;
		}
	}
}

/* The body of a 200, per profile. */
static unsigned judge_body(const struct input *in, const uint8_t *b, size_t n)
{
	static char copy[SEND_CAP + 1];
	const char *user = in->user, *tenant = in->want_tenant;
	cJSON *o;
	unsigned p = P_REJ | P_UNAV;
	int dup;

	if (n > TA_REMOTE_MAX_BODY || memchr(b, '\0', n) != NULL)
		return P_REJ | P_UNAV;
	memcpy(copy, b, n);
	copy[n] = '\0';
	unhide_nul(copy, n);
	o = cJSON_ParseWithLengthOpts(copy, n + 1, NULL, 1);
	if (o == NULL || !cJSON_IsObject(o))
		goto out;
	dup = dup_keys(o);
	if (in->profile == PROF_CEC)
		p = judge_cec(o, dup);
	else if (in->profile == PROF_INTROSPECTION)
		p = judge_introspection(o, dup, user, tenant);
	else if (key_ok(o, "userAccount", user, 1) && key_ok(o, "tenantSpaceId", tenant, 0))
		p = P_ALL;
out:
	cJSON_Delete(o);
	return p;
}

/*
 * How the body of the first response ends: an F_* value; the body into
 * out, and with F_DONE the index just past the response into *end.
 */
static int frame_body(const uint8_t *r, size_t n, const struct head *h, uint8_t *out, size_t *olen,
                      size_t *end)
{
	size_t avail = n - h->body;

	*olen = 0;
	if (h->cl_count > 1 || h->cl_bad || h->te_count > 1 || h->other_te || h->ce ||
	    (h->te_count && (h->cl_count || h->minor == 0)))
		return F_UNDECIDED;
	if (h->te_count)
		return dechunk(r, n, h->body, out, olen, end);
	if (h->cl_count) {
		if (avail < h->cl)
			return F_TRUNC;
		*olen = (size_t)h->cl;
	} else {
		*olen = avail; /* read until the server closes */
	}
	if (*olen > SEND_CAP)
		return F_UNDECIDED;
	memcpy(out, r + h->body, *olen);
	*end = h->body + *olen;
	return F_DONE;
}

/*
 * Every answer the core may give to a request answered with r.  *left is
 * set when r surely holds bytes past a complete first response.
 */
static unsigned oracle(const struct input *in, const uint8_t *r, size_t n, int *left)
{
	static uint8_t body[SEND_CAP];
	struct head h;
	size_t pos = 0, blen = 0, end = 0;
	int k, f;

	*left = 0;
	memset(&h, 0, sizeof(h));
	k = status_line(r, n, &h, &pos);
	if (k == -2 || k == 0)
		return P_REJ | P_UNAV; /* not HTTP, or nothing complete: no answer */
	if (k < 0 || (h.status >= 100 && h.status < 200))
		return P_UNDECIDED;
	k = strict_headers(r, n, pos, &h, &h.body);
	if (k == 0)
		return P_REJ | P_UNAV; /* the headers never end: no body, no yes */
	f = k < 0 ? F_UNDECIDED : frame_body(r, n, &h, body, &blen, &end);
	/* 204 and 304 have no body whatever the headers say */
	*left = f == F_DONE && end < n && h.status != 204 && h.status != 304;
	if (h.status != 200) {
		/* a final status other than 200 is never a yes */
		if (in->profile == PROF_KUDO && h.status == 403 && f == F_DONE)
			return P_REJ;
		return P_REJ | P_UNAV;
	}
	switch (f) {
	case F_DONE: return judge_body(in, body, blen);
	case F_TRUNC: return P_REJ | P_UNAV;
	case F_MAYBE: return judge_body(in, body, blen) | P_UNAV;
	default: return P_UNDECIDED;
	}
}

/* ---- the lying endpoint --------------------------------------------------- */

struct conn {
	int fd;
	int stale; /* the last answer left bytes past its response */
	size_t len;
	int64_t deadline;
	uint8_t buf[REQ_CAP];
};

static struct server {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int lfd, wake[2];
	/* set by the harness while the server is idle */
	int phase; /* 1, 2: which answer a request gets; 3: none; 0: no request expected */
	int keep_open, silent, profile;
	unsigned delay_ms;
	uint8_t resp[2][SEND_CAP];
	size_t resp_len[2], split[2];
	int left[2];
	char cred[TA_MAX_CREDENTIAL + 1], user[256];
	int check_cred;
	/* reported back */
	unsigned conns, requests;
	char bad[256];
	int quiesce;
	/* server thread only */
	struct conn c[MAX_CONNS];
	int64_t quiesce_until;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static char tmpdir[64], sockpath[128];

static void close_conn(struct conn *c)
{
	close(c->fd);
	c->fd = -1;
	c->len = 0;
	c->stale = 0;
}

static void flag_bad(const char *why)
{
	pthread_mutex_lock(&S.mu);
	if (S.bad[0] == '\0')
		snprintf(S.bad, sizeof(S.bad), "%s", why);
	pthread_mutex_unlock(&S.mu);
}

static int send_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pf = {fd, POLLOUT, 0};
			if (poll(&pf, 1, 100) <= 0)
				return -1;
			continue;
		}
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static const uint8_t *find(const uint8_t *h, size_t hn, const char *needle)
{
	return memmem(h, hn, needle, strlen(needle));
}

static int pct_decode(const uint8_t *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = s[i];
		if (c == '%') {
			if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
				return -1;
			c = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* The credential must arrive intact, in the one place the profile puts it. */
static void check_carried(const uint8_t *req, size_t hlen, const uint8_t *body, size_t blen)
{
	char got[REQ_CAP];

	if (S.profile == PROF_KUDO) {
		const uint8_t *p = find(req, hlen, "\r\nx-api-token: ");
		size_t v, e;
		if (p == NULL || find(p + 2, hlen - (size_t)(p + 2 - req), "\r\nx-api-token:")) {
			flag_bad("kudo request without exactly one x-api-token header");
			return;
		}
		v = (size_t)(p - req) + 15;
		e = (size_t)(find(req + v, hlen - v, "\r\n") - req);
		if (e - v != strlen(S.cred) || memcmp(req + v, S.cred, e - v) != 0)
			flag_bad("x-api-token header is not the credential");
	} else if (S.profile == PROF_INTROSPECTION) {
		if (blen < 6 || memcmp(body, "token=", 6) != 0 ||
		    pct_decode(body + 6, blen - 6, got, sizeof(got)) != 0 ||
		    strcmp(got, S.cred) != 0)
			flag_bad("introspection body is not token=<credential>");
	} else {
		cJSON *o = cJSON_ParseWithLength((const char *)body, blen);
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "access_token");
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(o, "userAccount");
		int ok = cJSON_IsString(t) && strcmp(t->valuestring, S.cred) == 0 &&
		         cJSON_IsString(u) && strcmp(u->valuestring, S.user) == 0;
		cJSON_Delete(o);
		if (!ok)
			flag_bad("cec body does not carry the credential and user intact");
	}
}

/*
 * A request: header lines of visible ASCII, then Content-Length bytes,
 * then nothing (curl never pipelines: more is a smuggled request).
 * Returns 1 when one is complete (*used = its length), 0 when more is needed.
 */
static int request_done(struct conn *c, size_t *used)
{
	const uint8_t *end = find(c->buf, c->len, "\r\n\r\n"), *cl;
	size_t hlen, blen = 0;

	if (end == NULL) {
		if (c->len == sizeof(c->buf))
			flag_bad("request headers never end");
		return c->len == sizeof(c->buf) ? (*used = c->len, 1) : 0;
	}
	hlen = (size_t)(end - c->buf) + 4;
	for (size_t i = 0; i + 2 < hlen; i++) {
		uint8_t b = c->buf[i];
		if (b == '\r' && c->buf[i + 1] == '\n') {
			i++;
			continue;
		}
		if (b < 0x20 || b > 0x7e) {
			flag_bad("request header holds a control or non-ASCII byte");
			break;
		}
	}
	if ((cl = find(c->buf, hlen, "\r\nContent-Length: ")) != NULL) {
		char *e = NULL;
		blen = strtoul((const char *)cl + 18, &e, 10);
	}
	if (c->len < hlen + blen)
		return 0;
	if (c->len > hlen + blen)
		flag_bad("bytes after the request: a second request was smuggled");
	if (S.check_cred)
		check_carried(c->buf, hlen - 2, c->buf + hlen, blen);
	if (c->stale)
		flag_bad("a connection was reused although bytes were left over on it");
	*used = c->len;
	return 1;
}

static void answer(struct conn *c)
{
	int phase, keep;
	unsigned delay;

	pthread_mutex_lock(&S.mu);
	phase = S.phase;
	keep = S.keep_open;
	delay = S.delay_ms;
	S.requests++;
	pthread_mutex_unlock(&S.mu);
	if (phase == 0 || phase == 3) {
		close_conn(c); /* 3: the endpoint is down (an outage, maybe the attacker's) */
		return;
	}
	const uint8_t *r = S.resp[phase - 1];
	size_t n = S.resp_len[phase - 1], k = S.split[phase - 1];
	if (n == 0 && keep && S.silent) {
		c->deadline = now_ms() + HOLD_MS; /* silent: the client must give up by itself */
		c->len = 0;
		return;
	}
	if (k > 0 && k < n) {
		if (send_all(c->fd, r, k) != 0) {
			close_conn(c);
			return;
		}
		usleep(delay * 1000);
		r += k;
		n -= k;
	}
	if (send_all(c->fd, r, n) != 0 || !keep) {
		close_conn(c);
		return;
	}
	c->stale = S.left[phase - 1];
	c->len = 0;
	c->deadline = now_ms() + IDLE_MS;
}

static void readable(struct conn *c)
{
	size_t used = 0;
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);

	if (n <= 0) {
		close_conn(c);
		return;
	}
	if (c->len == 0)
		c->deadline = now_ms() + REQ_WAIT_MS;
	c->len += (size_t)n;
	if (request_done(c, &used))
		answer(c);
}

static void accept_one(void)
{
	int fd = accept4(S.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	pthread_mutex_lock(&S.mu);
	S.conns++;
	pthread_mutex_unlock(&S.mu);
	for (int i = 0; i < MAX_CONNS; i++) {
		if (S.c[i].fd < 0) {
			S.c[i].fd = fd;
			S.c[i].len = 0;
			S.c[i].stale = 0;
			S.c[i].deadline = now_ms() + REQ_WAIT_MS;
			return;
		}
	}
	close(fd);
}

/* Settled: nothing open, nothing waiting to be accepted. */
static void maybe_settle(void)
{
	struct pollfd pf = {S.lfd, POLLIN, 0};
	int open = 0, q;

	pthread_mutex_lock(&S.mu);
	q = S.quiesce;
	pthread_mutex_unlock(&S.mu);
	if (!q)
		return;
	if (S.quiesce_until == 0)
		S.quiesce_until = now_ms() + 100;
	for (int i = 0; i < MAX_CONNS; i++)
		if (S.c[i].fd >= 0 && now_ms() > S.quiesce_until)
			close_conn(&S.c[i]); /* the client kept it open; stop waiting */
		else if (S.c[i].fd >= 0)
			open = 1;
	if (open || poll(&pf, 1, 0) > 0)
		return;
	S.quiesce_until = 0;
	pthread_mutex_lock(&S.mu);
	S.quiesce = 0;
	pthread_cond_broadcast(&S.cv);
	pthread_mutex_unlock(&S.mu);
}

static void *serve(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd pf[MAX_CONNS + 2];
		int idx[MAX_CONNS + 2], np = 2, timeout = 50;
		int64_t now = now_ms();
		pf[0] = (struct pollfd){S.wake[0], POLLIN, 0};
		pf[1] = (struct pollfd){S.lfd, POLLIN, 0};
		for (int i = 0; i < MAX_CONNS; i++) {
			if (S.c[i].fd < 0)
				continue;
			if (S.c[i].deadline <= now) {
				close_conn(&S.c[i]);
				continue;
			}
			if (S.c[i].deadline - now < timeout)
				timeout = (int)(S.c[i].deadline - now);
			idx[np] = i;
			pf[np++] = (struct pollfd){S.c[i].fd, POLLIN, 0};
		}
		if (poll(pf, (nfds_t)np, timeout) < 0 && errno != EINTR)
			abort();
		if (pf[0].revents & POLLIN) {
			char b[64];
			(void)!read(S.wake[0], b, sizeof(b));
		}
		for (int j = 2; j < np; j++)
			if (pf[j].revents & (POLLIN | POLLHUP | POLLERR))
				readable(&S.c[idx[j]]);
		if (pf[1].revents & POLLIN)
			accept_one();
		maybe_settle();
	}
	return NULL;
}

/* ---- setup -------------------------------------------------------------- */

static ta_config *cfgs[3][3];

static void cleanup(void)
{
	static const char *const files[] = {"s",
	                                    "store.db",
	                                    "store.db-wal",
	                                    "store.db-shm",
	                                    "store.db-journal",
	                                    "remote-cache.db",
	                                    "remote-cache.db-wal",
	                                    "remote-cache.db-shm",
	                                    "remote-cache.key"};
	char p[192];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", tmpdir, files[i]);
		unlink(p);
	}
	rmdir(tmpdir);
}

static void set(ta_config *c, const char *k, const char *v)
{
	char err[256];

	if (ta_config_set(c, k, v, err, sizeof(err)) != TA_OK) {
		fprintf(stderr, "fuzz_remote_path: config: %s\n", err);
		abort();
	}
}

static ta_config *make_config(int profile, int cache)
{
	static const char *const names[] = {"cec", "introspection", "kudo"};
	char store[128];
	ta_config *c = ta_config_new();

	if (c == NULL)
		abort();
	snprintf(store, sizeof(store), "%s/store.db", tmpdir);
	set(c, "verify", "remote");
	set(c, "url", "http://localhost/v");
	set(c, "unix_socket", sockpath);
	set(c, "profile", names[profile]);
	set(c, "timeout_ms", "300");
	set(c, "connect_timeout_ms", "200");
	set(c, "max_failures", "0");
	set(c, "store", store);
	set(c, "debug", "yes"); /* every log line goes through the leak check */
	if (cache == CACHE_TTL)
		set(c, "cache_ttl", "60");
	if (cache == CACHE_GRACE)
		set(c, "offline_grace", "1h");
	return c;
}

static void setup(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	pthread_t t;

	signal(SIGPIPE, SIG_IGN);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ta-fuzz-rp-XXXXXX");
	if (mkdtemp(tmpdir) == NULL || chmod(tmpdir, 0700) != 0)
		abort();
	atexit(cleanup);
	snprintf(sockpath, sizeof(sockpath), "%s/s", tmpdir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sockpath);
	S.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (S.lfd < 0 || bind(S.lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(S.lfd, 16) != 0 || pipe(S.wake) != 0)
		abort();
	for (int i = 0; i < MAX_CONNS; i++)
		S.c[i].fd = -1;
	for (int p = 0; p < 3; p++)
		for (int c = 0; c < 3; c++)
			cfgs[p][c] = make_config(p, c);
	if (pthread_create(&t, NULL, serve, NULL) != 0)
		abort();
	pthread_detach(t);
}

/* ---- one input ------------------------------------------------------------ */

/* An oversized answer: each one followed by PAD_LEN spaces. */
static void pad_answers(struct input *in)
{
	static uint8_t padded[2][SEND_CAP];

	for (int i = 0; i < 2; i++) {
		memcpy(padded[i], in->resp[i], in->resp_len[i]);
		memset(padded[i] + in->resp_len[i], ' ', PAD_LEN);
		in->resp[i] = padded[i];
		in->resp_len[i] += PAD_LEN;
	}
}

static int parse_input(const uint8_t *d, size_t n, struct input *in)
{
	static const int caches[] = {CACHE_NONE, CACHE_NONE, CACHE_TTL, CACHE_GRACE};
	size_t p, lu;

	memset(in, 0, sizeof(*in));
	if (n < 4)
		return -1;
	in->profile = (d[0] & 3) == 3 ? PROF_CEC : d[0] & 3;
	in->cache = caches[(d[0] >> 2) & 3];
	in->keep_open = (d[0] >> 4) & 1;
	in->split = (d[0] >> 5) & 1;
	in->two = (d[0] >> 6) & 1;
	in->tenant = (d[0] & 0x80) ? "acme" : NULL;
	in->want_tenant = in->tenant ? in->tenant : "";
	in->delay_ms = d[1] & 3;
	in->pad = (d[1] >> 2) & 1;
	in->split_sel = d[1] >> 3;
	in->cred = d + 3;
	in->cred_len = d[2] < n - 3 ? d[2] : n - 3;
	p = 3 + in->cred_len;
	if (p >= n)
		return -1;
	lu = d[p] < n - p - 1 ? d[p] : n - p - 1;
	memcpy(in->user, d + p + 1, lu);
	in->user[lu] = '\0';
	p += 1 + lu;
	if (in->two && n - p >= 2) {
		size_t l1 = (size_t)d[p] << 8 | d[p + 1];
		p += 2;
		if (l1 > n - p)
			l1 = n - p;
		in->resp[0] = d + p;
		in->resp_len[0] = l1;
		in->resp[1] = d + p + l1;
		in->resp_len[1] = n - p - l1;
	} else {
		in->two = 0;
		in->resp[0] = in->resp[1] = d + p;
		in->resp_len[0] = in->resp_len[1] = n - p;
	}
	for (int i = 0; i < 2; i++)
		if (in->resp_len[i] > RESP_CAP)
			in->resp_len[i] = RESP_CAP;
	if (in->pad)
		pad_answers(in);
	return 0;
}

/*
 * Where to split an answer: strictly before the last byte of the earliest
 * possible end of its first header block, so the end of the first response
 * and whatever follows it always arrive in one write (left-over bytes are
 * then waiting before the next request, never after it).
 */
static size_t split_at(const struct input *in, const uint8_t *r, size_t n)
{
	size_t e = n ? n - 1 : 0;

	if (!in->split)
		return 0;
	for (size_t i = 0; i + 1 < n; i++) {
		if (r[i] == '\n' &&
		    (r[i + 1] == '\n' || (i + 2 < n && r[i + 1] == '\r' && r[i + 2] == '\n'))) {
			e = r[i + 1] == '\n' ? i + 1 : i + 2;
			break;
		}
	}
	if (e < 1)
		return 0;
	return 1 + (size_t)in->split_sel * (e - 1) / 31;
}

static void arm(const struct input *in, int check_cred, const int left[2])
{
	pthread_mutex_lock(&S.mu);
	for (int i = 0; i < 2; i++) {
		memcpy(S.resp[i], in->resp[i], in->resp_len[i]);
		S.resp_len[i] = in->resp_len[i];
		S.split[i] = split_at(in, in->resp[i], in->resp_len[i]);
		/* padding may go out in more than one send: no verdict on reuse then */
		S.left[i] = left[i] && !in->pad;
	}
	S.keep_open = in->keep_open;
	S.silent = in->split; /* with an empty answer: never answer, never close */
	S.delay_ms = in->delay_ms;
	S.profile = in->profile;
	S.check_cred = check_cred;
	memcpy(S.cred, in->cred, in->cred_len);
	S.cred[in->cred_len] = '\0';
	snprintf(S.user, sizeof(S.user), "%s", in->user);
	S.conns = S.requests = 0;
	S.bad[0] = '\0';
	S.phase = 0;
	pthread_mutex_unlock(&S.mu);
}

static void set_phase(int phase)
{
	pthread_mutex_lock(&S.mu);
	S.phase = phase;
	pthread_mutex_unlock(&S.mu);
}

static void settle(void)
{
	struct timespec ts;

	pthread_mutex_lock(&S.mu);
	S.quiesce = 1;
	pthread_mutex_unlock(&S.mu);
	(void)!write(S.wake[1], "q", 1);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += SETTLE_MS / 1000;
	pthread_mutex_lock(&S.mu);
	while (S.quiesce)
		if (pthread_cond_timedwait(&S.cv, &S.mu, &ts) != 0)
			violation("the server did not settle: a connection left open?");
	pthread_mutex_unlock(&S.mu);
}

/* ---- the log leak check --------------------------------------------------- */

static int64_t slowest;
static unsigned long answers, undecided, yes_possible;
static unsigned long verdicts[-TA_ERR_UNSUPPORTED + 2]; /* by -verdict */

static void sanitize(const uint8_t *s, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (s[i] < 0x20 || s[i] == 0x7f) ? '?' : (char)s[i];
	out[n] = '\0';
}

/* Blank every occurrence of s in buf so it cannot explain a match. */
static void mask(char *buf, size_t n, const char *s)
{
	size_t k = strlen(s);
	char *p = buf;

	if (k == 0)
		return;
	while ((p = memmem(p, n - (size_t)(p - buf), s, k)) != NULL)
		memset(p, '\x01', k), p += k;
}

/* The user as the log-field encoder may write it: "..." with '"' and '\\' escaped. */
static void quote(const char *s, char *out)
{
	size_t o = 0;

	out[o++] = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o++] = '"';
	out[o] = '\0';
}

/*
 * A credential in a log line.  Only credentials of 4+ bytes with a byte
 * no fixed log text uses ({}<>|~`\$) are checked, and the user's name is
 * blanked first: otherwise a credential that spells "remote: " or the user
 * would "leak" by coincidence (libFuzzer learns both from this memmem).
 * The name is blanked both as it is and quoted the way log fields are.
 */
static void log_cb(void *arg, int level, const char *msg)
{
	const struct input *in = arg;
	char cred[TA_MAX_CREDENTIAL + 1], user[256], quoted[2 * 256 + 3], buf[2048];
	size_t n = strlen(msg);

	(void)level;
	if (getenv("FUZZ_RP_LOG"))
		fprintf(stderr, "log: %s\n", msg);
	if (in == NULL || in->cred_len < 4 || n >= sizeof(buf))
		return;
	sanitize(in->cred, in->cred_len, cred);
	if (strpbrk(cred, "{}<>|~`\\$") == NULL || strlen(cred) < 4)
		return;
	sanitize((const uint8_t *)in->user, strlen(in->user), user);
	quote(user, quoted);
	if (strstr(user, cred) != NULL || strstr(quoted, cred) != NULL)
		return;
	memcpy(buf, msg, n + 1);
	mask(buf, n, quoted);
	mask(buf, n, user);
	if (memmem(buf, n, cred, strlen(cred)) != NULL)
		violation("the credential is in a log line: %s", msg);
}

/* ---- the checks ------------------------------------------------------------ */

static int cred_in_grammar(const struct input *in)
{
	if (in->cred_len == 0)
		return 0;
	for (size_t i = 0; i < in->cred_len; i++)
		if (in->cred[i] < 0x21 || in->cred[i] > 0x7e)
			return 0;
	return 1;
}

static int user_refused(const struct input *in)
{
	if (in->user[0] == '\0')
		return 1;
	for (const char *p = in->user; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 1;
	return 0;
}

static int timed_verify(ta_ctx *ctx, const struct ta_request *req, int call)
{
	int64_t t0 = now_ms(), dt;
	int r = ta_verify(ctx, req, NULL);

	dt = now_ms() - t0;
	if (dt > slowest)
		slowest = dt;
	if (dt > CALL_LIMIT_MS)
		violation("check %d took %lld ms (limit %d ms): verdict %d", call, (long long)dt,
		          CALL_LIMIT_MS, r);
	return r;
}

static void count(int v)
{
	verdicts[v <= 0 && v >= TA_ERR_UNSUPPORTED ? -v : -TA_ERR_UNSUPPORTED + 1]++;
}

static void report(void)
{
	fprintf(stderr,
	        "fuzz_remote_path: answers %lu (oracle: %lu may say yes, %lu undecided); "
	        "slowest check %lld ms; verdicts:",
	        answers, yes_possible, undecided, (long long)slowest);
	for (int i = 0; i <= -TA_ERR_UNSUPPORTED + 1; i++)
		if (verdicts[i])
			fprintf(stderr, " %s %lu;",
			        i <= -TA_ERR_UNSUPPORTED ? ta_strerror(-i) : "?", verdicts[i]);
	fputc('\n', stderr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static unsigned long serial;
	struct input in;
	struct ta_request req;
	char service[32];
	ta_ctx *ctx = NULL;
	unsigned poss1, poss2;
	int left[2];
	int v1, v2, v3 = TA_ERR_UNAVAILABLE, gated, allow2;

	if (!ready) {
		setup();
		atexit(report);
		ready = 1;
	}
	if (parse_input(data, size, &in) != 0)
		return 0;
	gated = !cred_in_grammar(&in) || user_refused(&in);
	poss1 = oracle(&in, in.resp[0], in.resp_len[0], &left[0]);
	poss2 = oracle(&in, in.resp[1], in.resp_len[1], &left[1]);
	arm(&in, !gated, left);
	/* a service of its own per input: no cached success from another input */
	snprintf(service, sizeof(service), "fz-%lu", ++serial);
	req = (struct ta_request){.user = in.user,
	                          .tenant = in.tenant,
	                          .credential = (const char *)in.cred,
	                          .credential_len = in.cred_len,
	                          .service = service};
	if (ta_ctx_new(cfgs[in.profile][in.cache], log_cb, &in, &ctx) != TA_OK)
		abort();
	set_phase(1);
	v1 = timed_verify(ctx, &req, 1);
	set_phase(2);
	v2 = timed_verify(ctx, &req, 2);
	if (in.cache != CACHE_NONE) {
		set_phase(3);
		v3 = timed_verify(ctx, &req, 3);
	}
	set_phase(0);
	ta_ctx_free(ctx);
	settle();
	count(v1);
	count(v2);
	for (int i = 0; i < 1 + in.two; i++) {
		unsigned p = i ? poss2 : poss1;
		answers++;
		yes_possible += (p & P_YES) != 0;
		undecided += (p & ~(unsigned)P_ALL) != 0;
	}
	if (in.cache != CACHE_NONE)
		count(v3);

	if (getenv("FUZZ_RP_LOG"))
		fprintf(stderr,
		        "input: verdicts %d %d %d, may be 0x%x 0x%x, %u connections, %u requests\n",
		        v1, v2, v3, poss1, poss2, S.conns, S.requests);
	if (S.bad[0] != '\0')
		violation("request on the wire: %s (verdicts %d, %d)", S.bad, v1, v2);
	if (gated && (v1 == TA_OK || v2 == TA_OK || v3 == TA_OK || S.conns != 0))
		violation("credential or user outside the grammar: verdicts %d, %d, %u connections",
		          v1, v2, S.conns);
	if (v1 == TA_OK && !(poss1 & P_YES))
		violation("check 1 accepted an answer that is not a yes (may be 0x%x)", poss1);
	/* a success may be served from the cache; grace never outlives a clean no */
	allow2 =
	    (poss2 & P_YES) ||
	    (v1 == TA_OK && (in.cache == CACHE_TTL || (in.cache == CACHE_GRACE && poss2 != P_REJ)));
	if (v2 == TA_OK && !allow2)
		violation("check 2 accepted an answer that is not a yes (may be 0x%x, check 1 %d, "
		          "cache %d)",
		          poss2, v1, in.cache);
	/* with the endpoint down, only a success not since refused may be served */
	if (v3 == TA_OK && !(v2 == TA_OK || (v1 == TA_OK && !ta_err_is_rejection(v2))))
		violation(
		    "check 3 (endpoint down) served a success after a refusal: verdicts %d, %d", v1,
		    v2);
	return 0;
}
