/*
 * portal_parse.h - the pure parts of the portal (no store, no PAM, no
 * libmicrohttpd), for unit tests and the fuzzer: the one HTML encoder, the
 * form and cookie parsers, the CSRF token and the trusted-proxy match.
 */
#ifndef TD_PORTAL_PARSE_H
#define TD_PORTAL_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* A growing output buffer; on allocation failure or past cap it sets err
 * and drops what follows (the page is then not sent). */
struct td_buf {
	char *p;
	size_t len, cap, max;
	int err;
};

#define TD_PAGE_MAX (256 * 1024)

void td_buf_init(struct td_buf *b, size_t max);
/* Literal markup, as is. */
void td_buf_put(struct td_buf *b, const char *s);
void td_buf_printf(struct td_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * The one HTML encoder: text or a quoted attribute value.  & < > " ' are
 * written as entities; bytes below 0x20 (but tab) and DEL as U+FFFD;
 * everything else as is.
 */
void td_buf_text(struct td_buf *b, const char *s);
/* Hand the text over (caller frees; NULL after an error) and reset b. */
char *td_buf_take(struct td_buf *b);
void td_buf_free(struct td_buf *b);

/*
 * The value of field name in an application/x-www-form-urlencoded body
 * (the first one; '+' is a space, %XX decoded).  Returns the decoded
 * length, -1 when absent, -2 when malformed (a bad %-escape, a decoded NUL
 * or control byte other than tab, CR and LF) or longer than cap - 1.
 * out is NUL-terminated on success.
 */
long td_form_get(const char *body, size_t len, const char *name, char *out, size_t cap);

/*
 * The value of cookie name in a Cookie header ("a=1; b=2"): its length,
 * -1 when absent, -2 when longer than cap - 1 or when it appears twice
 * (a cookie set by a sibling host cannot shadow ours).
 */
long td_cookie_get(const char *header, const char *name, char *out, size_t cap);

#define TD_CSRF_LEN 64
/* The CSRF token of session sid: hex SHA-256 of a label and the id. */
int td_csrf_token(const char *sid, char out[TD_CSRF_LEN + 1]);
/* 1 when given is sid's CSRF token (constant time in its content). */
int td_csrf_ok(const char *sid, const char *given);

/*
 * Is addr (numeric IPv4 or IPv6) in list, a comma or space separated list
 * of addresses and CIDRs ("127.0.0.1, 10.0.0.0/8, ::1")?  1 yes, 0 no, -1
 * when the list has an entry that does not parse (err names it).
 */
int td_addr_listed(const char *list, const char *addr, char *err, size_t errlen);

#endif
