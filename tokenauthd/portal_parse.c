/*
 * portal_parse.c - the portal's pure parsers and its one HTML encoder.
 */
#include "portal_parse.h"
#include "td_parse.h"

#include "crypto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void td_buf_init(struct td_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

static void put_n(struct td_buf *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->len + n + 1 > b->max) {
		b->err = 1;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->err = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void td_buf_put(struct td_buf *b, const char *s)
{
	put_n(b, s, strlen(s));
}

void td_buf_printf(struct td_buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		b->err = 1;
	else
		put_n(b, tmp, (size_t)n);
}

void td_buf_text(struct td_buf *b, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '&': td_buf_put(b, "&amp;"); break;
		case '<': td_buf_put(b, "&lt;"); break;
		case '>': td_buf_put(b, "&gt;"); break;
		case '"': td_buf_put(b, "&quot;"); break;
		case '\'': td_buf_put(b, "&#39;"); break;
		default:
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				td_buf_put(b, "\xef\xbf\xbd");
			else
				put_n(b, s, 1);
		}
	}
}

char *td_buf_take(struct td_buf *b)
{
	char *p = b->err ? NULL : b->p;

	if (b->err)
		td_buf_free(b);
	else if (p == NULL)
		p = strdup("");
	memset(b, 0, sizeof(*b));
	return p;
}

void td_buf_free(struct td_buf *b)
{
	if (b->p != NULL) {
		ta_wipe(b->p, b->cap);
		free(b->p);
	}
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Decode one form value of n bytes into out (cap bytes): the service's
 * form decoding, then no control character but tab, CR and LF. */
static long form_decode(const char *s, size_t n, char *out, size_t cap)
{
	long r = td_form_decode(s, n, out, cap);

	if (r < 0)
		return -2;
	for (long i = 0; i < r; i++) {
		unsigned char c = (unsigned char)out[i];
		if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
			return -2;
	}
	return r;
}

long td_form_get(const char *body, size_t len, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name), i = 0;

	if (cap == 0)
		return -2;
	while (body != NULL && i < len) {
		const char *amp = memchr(body + i, '&', len - i);
		size_t end = amp ? (size_t)(amp - body) : len;
		const char *eq = memchr(body + i, '=', end - i);
		size_t klen = eq ? (size_t)(eq - body) - i : end - i;
		if (klen == nlen && memcmp(body + i, name, nlen) == 0) {
			size_t v = eq ? (size_t)(eq - body) + 1 : end;
			return form_decode(body + v, end - v, out, cap);
		}
		i = end + 1;
	}
	return -1;
}

long td_cookie_get(const char *header, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	long found = -1;
	const char *p = header;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, ';');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		if (n > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=') {
			size_t v = n - nlen - 1;
			while (v > 0 && (p[nlen + v] == ' ' || p[nlen + v] == '\t'))
				v--;
			if (found >= 0 || v + 1 > cap)
				return -2;
			memcpy(out, p + nlen + 1, v);
			out[v] = '\0';
			found = (long)v;
		}
		p = end ? end + 1 : NULL;
	}
	return found;
}

int td_csrf_token(const char *sid, char out[TD_CSRF_LEN + 1])
{
	static const char label[] = "tokenauth portal csrf v1:";
	uint8_t buf[256], h[TA_SHA256_LEN];
	size_t n = strlen(sid);
	int r;

	out[0] = '\0';
	if (n + sizeof(label) > sizeof(buf))
		return -1;
	memcpy(buf, label, sizeof(label) - 1);
	memcpy(buf + sizeof(label) - 1, sid, n);
	r = ta_sha256(buf, sizeof(label) - 1 + n, h);
	ta_wipe(buf, sizeof(buf));
	if (r != 0)
		return -1;
	ta_hex(h, sizeof(h), out);
	ta_wipe(h, sizeof(h));
	return 0;
}

int td_csrf_ok(const char *sid, const char *given)
{
	char want[TD_CSRF_LEN + 1];
	int ok;

	if (sid == NULL || given == NULL || strlen(given) != TD_CSRF_LEN ||
	    td_csrf_token(sid, want) != 0)
		return 0;
	ok = ta_ct_eq(want, given, TD_CSRF_LEN);
	ta_wipe(want, sizeof(want));
	return ok;
}

static int prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full) != 0)
		return 0;
	return rest == 0 || ((a[full] ^ b[full]) & (0xff << (8 - rest))) == 0;
}

/* Parse "addr[/bits]" into family, bytes, bits. */
static int parse_net(const char *s, int *fam, uint8_t net[16], unsigned *bits)
{
	char tmp[64], *slash;
	unsigned long v;
	char *end;

	if (strlen(s) >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, strlen(s) + 1);
	if ((slash = strchr(tmp, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, tmp, net) == 1)
		*fam = AF_INET, *bits = 32;
	else if (inet_pton(AF_INET6, tmp, net) == 1)
		*fam = AF_INET6, *bits = 128;
	else
		return -1;
	if (slash != NULL) {
		errno = 0;
		v = strtoul(slash, &end, 10);
		if (errno != 0 || end == slash || *end != '\0' || v > *bits)
			return -1;
		*bits = (unsigned)v;
	}
	return 0;
}

int td_addr_listed(const char *list, const char *addr, char *err, size_t errlen)
{
	uint8_t a[16], net[16];
	unsigned abits, bits;
	int afam = 0, fam, hit = 0;
	const char *p = list;

	if (addr == NULL || parse_net(addr, &afam, a, &abits) != 0 || strchr(addr, '/') != NULL)
		afam = 0; /* an unknown peer matches nothing, but the list is still checked */
	while (p != NULL && *p != '\0') {
		char item[64];
		size_t n;
		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (n == 0)
			break;
		if (n >= sizeof(item) || (memcpy(item, p, n), item[n] = '\0',
		                          parse_net(item, &fam, net, &bits) != 0)) {
			snprintf(err, errlen, "portal_trusted_proxies: %.*s: not an address or CIDR",
			         (int)(n > 63 ? 63 : n), p);
			return -1;
		}
		if (afam == fam && prefix_match(a, net, bits))
			hit = 1;
		p += n;
	}
	return hit;
}
