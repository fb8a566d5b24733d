/*
 * td_api.h - the endpoints of the verify service (SPEC §5) and the
 * answers they build, without any HTTP library.
 *
 * server.c hands over what it received (path, a header value, the body);
 * these functions parse it (td_parse.h), run the check through the core's
 * public API and build the JSON answer with its HTTP status and stable
 * numeric code (enum td_code; the table is documented in tokenauthd(8)).
 * They never log a credential and never keep one after they return.
 */
#ifndef TD_API_H
#define TD_API_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ta.h"
#include "td_parse.h"
#include "verify.h"

/* Shape of the error body: which extra member each endpoint family adds. */
enum td_style {
	TD_STYLE_PLAIN = 0,    /* {"code","message"} */
	TD_STYLE_VALIDATE = 1, /* + "retCode" (seed 000 clients read only that) */
	TD_STYLE_VERIFY = 2,   /* + "error" (seed 004) */
	TD_STYLE_REGISTER = 3  /* + "object": null (seed 002) */
};

struct td_answer {
	unsigned status;     /* HTTP status */
	enum td_code code;   /* the body's code */
	char *body;          /* malloc'd JSON text; free with ta_wipe_free() */
	const char *outcome; /* static word for logs and metrics */
	char user[TA_MAX_USER + 1];
	char tenant[TA_MAX_TENANT + 1]; /* for the log line; may be empty */
};

/* Free the body (wiping it: a /generate answer holds a token); keeps the rest. */
void td_answer_clear(struct td_answer *a);

/*
 * Fill a with the error answer for code in the given style: status and
 * message from the table, detail (may be NULL) appended to the message.
 * Returns TD_OK, or TD_INTERNAL when out of memory (a->body NULL, status
 * 500).  A code not in the table answers as TD_INTERNAL does but keeps
 * its number in the body.
 */
enum td_code td_answer_error(struct td_answer *a, enum td_code code, enum td_style style,
                             const char *detail);

/* HTTP status of a code (500 for unknown codes). */
unsigned td_status(enum td_code code);

/*
 * The answer code of a core result: TA_OK -> TD_OK, TA_ERR_EXPIRED ->
 * TD_EXPIRED, rejections -> TD_INVALID, store errors -> TD_STORE /
 * TD_STORE_DAMAGED, ...; anything unexpected -> TD_INTERNAL.  The only
 * place a ta_err becomes a td_code.
 */
enum td_code td_code_of(int err);

/*
 * Each endpoint fills a (which the caller clears) and returns TD_OK, or
 * TD_INTERNAL when not even an error answer could be built (a->body NULL).
 * ctx is the calling thread's context.  rhost names the client in core
 * log lines.
 */

/* Seed 000: POST validate path.  200 {"retCode","message"}; ta_verify with lockout. */
enum td_code td_api_validate(ta_ctx *ctx, const char *body, size_t len, const char *rhost,
                             struct td_answer *a);

/* Seed 004: POST /generate (caller has checked the admin API key). */
enum td_code td_api_generate(ta_ctx *ctx, const char *body, size_t len, struct td_answer *a);

/*
 * Seed 004: GET /verify with the x-api-token value (NULL when absent): 200
 * with the bound parameters, userAccount, tenantSpaceId and
 * expiration_time, or 403 {"error": "Wrong token"}.  A locked user's token
 * is refused like a wrong one (ta_token_lookup applies the lockout).
 */
enum td_code td_api_verify(ta_ctx *ctx, const char *token, struct td_answer *a);

/* RFC 7662: POST /introspect with a form body. */
enum td_code td_api_introspect(ta_ctx *ctx, const char *body, size_t len, struct td_answer *a);

/*
 * Seed 002: PUT /token/registerActiveToken/{admin}.  cfg is the
 * configuration ctx was made from (for the user/tenant split).  The admin
 * proves itself twice: auth_token (header X-Auth-Token) is an access
 * token or code of the admin account, checked by ta_verify with the usual
 * lockout, and the body's cenToken must be hex HMAC-SHA256(key, admin +
 * auth_token) where key is the admin API key (NULL: none, refused).
 * Enrols an OTP secret for the user; answers {code, message, object} with
 * the seed's codes where they fit.
 *
 * Each auth_token authorises one registration (issue 9, defect 5): once
 * the cenToken and the admin credential check out, an access token of the
 * local store is revoked (ta_token_spend) before anything is enrolled
 * (whatever the outcome), and an OTP code is spent by the OTP rules; a
 * credential that only a remote backend vouched for cannot be spent here
 * and is refused (TD_FORBIDDEN).  The caller (server.c) has, by default,
 * also required a SPEC §5 signature, which binds the body and a nonce.
 */
enum td_code td_api_register(ta_ctx *ctx, const ta_config *cfg, const char *path,
                             const char *auth_token, const uint8_t *key, size_t keylen,
                             const char *body, size_t len, const char *rhost, struct td_answer *a);

#endif
