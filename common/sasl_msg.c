/*
 * sasl_msg.c - OAUTHBEARER / XOAUTH2 message parser and builder.
 *
 * Pure functions over (pointer, length): no allocation, no SASL types, no
 * strlen on client data.  The grammar is in sasl_msg.h.
 */
#include "jwt.h"
#include "sasl_msg.h"

#include "crypto.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define KVSEP       '\x01'
#define SEEN_AUTH   0x01u
#define SEEN_USER   0x02u
#define SEEN_TENANT 0x04u
#define SEEN_HOST   0x08u
#define SEEN_PORT   0x10u

/* The unread rest of the message. */
struct cur {
	const char *p;
	size_t n;
};

static int take(struct cur *c, char ch)
{
	if (c->n == 0 || *c->p != ch)
		return 0;
	c->p++;
	c->n--;
	return 1;
}

static int is_alpha(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

static int is_b64token_char(unsigned char ch)
{
	return is_alpha(ch) || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
	       ch == '~' || ch == '+' || ch == '/';
}

/* Length of the well-formed UTF-8 sequence at s (n bytes left), 0 if bad. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Valid UTF-8 without control characters: what an identity may hold. */
static int text_ok(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		if (u[i] < 0x20 || u[i] == 0x7f)
			return 0;
		if ((k = utf8_seq(u + i, n - i)) == 0)
			return 0;
		/* C1 controls (U+0080..U+009F, e.g. CSI) have no place in a name
		 * that ends up in logs and terminals */
		if (k == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0)
			return 0;
		i += k;
	}
	return 1;
}

/* RFC 7628 value: VCHAR / SP / HTAB / CR / LF, and UTF-8 beyond ASCII. */
static int value_ok(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		if ((u[i] < 0x20 && u[i] != '\t' && u[i] != '\r' && u[i] != '\n') || u[i] == 0x7f)
			return 0;
		if ((k = utf8_seq(u + i, n - i)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

static int copy_text(char *dst, size_t cap, const char *s, size_t n, size_t min)
{
	if (n < min || n >= cap || !text_ok(s, n))
		return TA_ERR_INPUT;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return TA_OK;
}

/* saslname (RFC 5801): "=2C" is ",", "=3D" is "="; ends before ",". */
static int parse_saslname(struct cur *c, char *dst, size_t cap)
{
	size_t out = 0;

	while (c->n > 0 && *c->p != ',') {
		char ch = *c->p;

		if (ch == '=') {
			if (c->n < 3 ||
			    (memcmp(c->p, "=2C", 3) != 0 && memcmp(c->p, "=3D", 3) != 0))
				return TA_ERR_INPUT;
			ch = c->p[1] == '2' ? ',' : '=';
			c->p += 2;
			c->n -= 2;
		}
		if (out + 1 >= cap)
			return TA_ERR_INPUT;
		dst[out++] = ch;
		c->p++;
		c->n--;
	}
	dst[out] = '\0';
	return out > 0 && text_ok(dst, out) ? TA_OK : TA_ERR_INPUT;
}

static int parse_gs2_header(struct cur *c, struct ta_sasl_msg *m)
{
	if (c->n >= 2 && c->p[0] == 'F' && c->p[1] == ',') {
		c->p += 2;
		c->n -= 2;
	}
	if (take(c, 'p'))
		return c->n > 0 && *c->p == '=' ? TA_ERR_UNSUPPORTED : TA_ERR_INPUT;
	if (!take(c, 'n') && !take(c, 'y'))
		return TA_ERR_INPUT;
	if (!take(c, ','))
		return TA_ERR_INPUT;
	if (take(c, 'a')) {
		if (!take(c, '=') || parse_saslname(c, m->authzid, sizeof(m->authzid)) != TA_OK)
			return TA_ERR_INPUT;
	}
	return take(c, ',') ? TA_OK : TA_ERR_INPUT;
}

/* The input gate's length rule: 512 bytes, or 8 KiB for a JWT. */
static size_t cap_of(const char *tok, size_t n)
{
	return ta_jws_shape(tok, n) ? TA_MAX_JWT : TA_MAX_CREDENTIAL;
}

/* auth-value = "Bearer" 1*SP b64token, the scheme case-insensitive. */
static int parse_auth(const char *v, size_t n, struct ta_sasl_msg *m)
{
	size_t i = 6, start;

	if (n < 8 || strncasecmp(v, "Bearer", 6) != 0 || v[6] != ' ')
		return TA_ERR_INPUT;
	while (i < n && v[i] == ' ')
		i++;
	start = i;
	while (i < n && is_b64token_char((unsigned char)v[i]))
		i++;
	if (i == start)
		return TA_ERR_INPUT;
	while (i < n && v[i] == '=')
		i++;
	if (i != n || n - start > cap_of(v + start, n - start))
		return TA_ERR_INPUT;
	memcpy(m->token, v + start, n - start);
	m->token[n - start] = '\0';
	m->token_len = n - start;
	return TA_OK;
}

static int parse_port(const char *v, size_t n, unsigned *port)
{
	unsigned long x = 0;

	if (n == 0 || n > 5)
		return TA_ERR_INPUT;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return TA_ERR_INPUT;
		x = x * 10 + (unsigned long)(v[i] - '0');
	}
	if (x == 0 || x > 65535)
		return TA_ERR_INPUT;
	*port = (unsigned)x;
	return TA_OK;
}

static int key_is(const char *k, size_t klen, const char *name)
{
	return klen == strlen(name) && memcmp(k, name, klen) == 0;
}

/* Store one known pair; a known key may appear once. */
static int store_pair(struct ta_sasl_msg *m, const char *k, size_t klen, const char *v, size_t vlen,
                      unsigned *seen)
{
	unsigned bit;
	int r;

	if (key_is(k, klen, "auth"))
		bit = SEEN_AUTH, r = parse_auth(v, vlen, m);
	else if (key_is(k, klen, "user"))
		bit = SEEN_USER, r = copy_text(m->user, sizeof(m->user), v, vlen, 1);
	else if (key_is(k, klen, "tenant"))
		bit = SEEN_TENANT, r = copy_text(m->tenant, sizeof(m->tenant), v, vlen, 0);
	else if (key_is(k, klen, "host"))
		bit = SEEN_HOST, r = copy_text(m->host, sizeof(m->host), v, vlen, 0);
	else if (key_is(k, klen, "port"))
		bit = SEEN_PORT, r = parse_port(v, vlen, &m->port);
	else
		return TA_OK; /* unknown keys are ignored (RFC 7628 §3.1) */
	if (r != TA_OK || (*seen & bit))
		return TA_ERR_INPUT;
	*seen |= bit;
	if (bit == SEEN_TENANT)
		m->has_tenant = 1;
	return TA_OK;
}

/* kvpair = key "=" value kvsep; key = 1*ALPHA. */
static int parse_kvpair(struct cur *c, struct ta_sasl_msg *m, unsigned *seen)
{
	const char *k = c->p, *v;
	size_t klen = 0, vlen = 0;

	while (klen < c->n && is_alpha((unsigned char)k[klen]))
		klen++;
	/* any length: unknown keys are ignored, and keys are never copied */
	if (klen == 0 || klen == c->n || k[klen] != '=')
		return TA_ERR_INPUT;
	v = k + klen + 1;
	c->p = v;
	c->n -= klen + 1;
	while (vlen < c->n && v[vlen] != KVSEP)
		vlen++;
	if (vlen == c->n || !value_ok(v, vlen))
		return TA_ERR_INPUT;
	c->p += vlen + 1;
	c->n -= vlen + 1;
	return store_pair(m, k, klen, v, vlen, seen);
}

static int parse_kvpairs(struct cur *c, struct ta_sasl_msg *m, unsigned *seen)
{
	int r;

	while (c->n > 0 && *c->p != KVSEP)
		if ((r = parse_kvpair(c, m, seen)) != TA_OK)
			return r;
	/* The closing kvsep, and nothing after it. */
	return take(c, KVSEP) && c->n == 0 ? TA_OK : TA_ERR_INPUT;
}

int ta_sasl_parse(ta_sasl_mech mech, const char *in, size_t len, struct ta_sasl_msg *out)
{
	struct cur c = {in, len};
	unsigned seen = 0;
	int r = TA_ERR_INPUT;

	memset(out, 0, sizeof(*out));
	if (in == NULL || len == 0 || len > TA_SASL_MAX_MSG)
		goto out;
	if (mech == TA_SASL_OAUTHBEARER) {
		if ((r = parse_gs2_header(&c, out)) != TA_OK)
			goto out;
		r = take(&c, KVSEP) ? parse_kvpairs(&c, out, &seen) : TA_ERR_INPUT;
	} else if (mech == TA_SASL_XOAUTH2) {
		r = parse_kvpairs(&c, out, &seen);
		if (r == TA_OK && !(seen & SEEN_USER))
			r = TA_ERR_INPUT;
	}
	if (r == TA_OK && !(seen & SEEN_AUTH))
		r = TA_ERR_INPUT;
out:
	if (r != TA_OK)
		ta_sasl_msg_wipe(out);
	return r;
}

int ta_sasl_is_ack(ta_sasl_mech mech, const char *in, size_t len)
{
	if (mech == TA_SASL_OAUTHBEARER)
		return in != NULL && len == 1 && in[0] == KVSEP;
	return mech == TA_SASL_XOAUTH2 && len <= TA_SASL_MAX_MSG;
}

/* ---- building ------------------------------------------------------------ */

struct buf {
	char *p;
	size_t cap, len;
	int bad;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->bad || n > b->cap - b->len) {
		b->bad = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* A string we send as a value: text without controls, within cap. */
static int field_ok(const char *s, size_t cap, int allow_empty)
{
	size_t n = strnlen(s, cap);

	return n < cap && (allow_empty || n > 0) && text_ok(s, n);
}

static void put_pair(struct buf *b, const char *key, const char *value)
{
	puts_(b, key);
	put(b, "=", 1);
	puts_(b, value);
	put(b, "\x01", 1);
}

static void put_saslname(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == ',')
			puts_(b, "=2C");
		else if (*s == '=')
			puts_(b, "=3D");
		else
			put(b, s, 1);
	}
}

static int token_ok(const struct ta_sasl_msg *m)
{
	size_t i = 0;

	if (m->token_len == 0 || m->token_len > cap_of(m->token, m->token_len))
		return 0;
	while (i < m->token_len && is_b64token_char((unsigned char)m->token[i]))
		i++;
	if (i == 0)
		return 0;
	while (i < m->token_len && m->token[i] == '=')
		i++;
	return i == m->token_len;
}

static int build_ok(ta_sasl_mech mech, const struct ta_sasl_msg *m)
{
	if (!token_ok(m) || !field_ok(m->authzid, sizeof(m->authzid), 1) ||
	    !field_ok(m->user, sizeof(m->user), mech == TA_SASL_OAUTHBEARER) ||
	    !field_ok(m->host, sizeof(m->host), 1) || m->port > 65535)
		return 0;
	return !m->has_tenant || field_ok(m->tenant, sizeof(m->tenant), 1);
}

int ta_sasl_build(ta_sasl_mech mech, const struct ta_sasl_msg *m, char *out, size_t cap,
                  size_t *outlen)
{
	struct buf b = {out, cap, 0, 0};
	char port[16];

	*outlen = 0;
	if ((mech != TA_SASL_OAUTHBEARER && mech != TA_SASL_XOAUTH2) || !build_ok(mech, m))
		return TA_ERR_INPUT;
	if (mech == TA_SASL_OAUTHBEARER) {
		puts_(&b, m->authzid[0] ? "n,a=" : "n,");
		put_saslname(&b, m->authzid);
		puts_(&b, ",\x01");
		if (m->host[0])
			put_pair(&b, "host", m->host);
		if (m->port) {
			snprintf(port, sizeof(port), "%u", m->port);
			put_pair(&b, "port", port);
		}
	}
	if (m->user[0])
		put_pair(&b, "user", m->user);
	if (m->has_tenant)
		put_pair(&b, "tenant", m->tenant);
	puts_(&b, "auth=Bearer ");
	put(&b, m->token, m->token_len);
	put(&b, "\x01\x01", 2);
	if (b.bad || b.len > TA_SASL_MAX_MSG) {
		ta_wipe(out, b.len);
		return TA_ERR_INPUT;
	}
	*outlen = b.len;
	return TA_OK;
}

int ta_sasl_scope_ok(const char *s)
{
	size_t n = strnlen(s, TA_SASL_MAX_SCOPE + 1);

	if (n == 0 || n > TA_SASL_MAX_SCOPE || s[0] == ' ' || s[n - 1] == ' ')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == ' ' ? s[i + 1] == ' '
		              : ch < 0x21 || ch == 0x22 || ch == 0x5c || ch > 0x7e)
			return 0;
	}
	return 1;
}

int ta_sasl_error_json(ta_sasl_mech mech, int unavailable, const char *scope, char *out, size_t cap,
                       size_t *outlen)
{
	struct buf b = {out, cap, 0, 0};

	*outlen = 0;
	if (scope != NULL && scope[0] != '\0' && !ta_sasl_scope_ok(scope))
		return TA_ERR_INPUT;
	if (mech == TA_SASL_OAUTHBEARER)
		puts_(&b, unavailable ? "{\"status\":\"temporarily_unavailable\""
		                      : "{\"status\":\"invalid_token\"");
	else if (mech == TA_SASL_XOAUTH2)
		puts_(&b, unavailable ? "{\"status\":\"503\",\"schemes\":\"bearer\""
		                      : "{\"status\":\"401\",\"schemes\":\"bearer\"");
	else
		return TA_ERR_INPUT;
	if (scope != NULL && scope[0] != '\0') {
		puts_(&b, ",\"scope\":\"");
		puts_(&b, scope);
		put(&b, "\"", 1);
	}
	put(&b, "}", 1);
	if (b.bad)
		return TA_ERR_INPUT;
	*outlen = b.len;
	return TA_OK;
}

void ta_sasl_msg_wipe(struct ta_sasl_msg *m)
{
	if (m != NULL)
		ta_wipe(m, sizeof(*m));
}
