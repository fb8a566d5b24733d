/*
 * http_req.h - the requests and answers of the verify service (SPEC §5),
 * without any HTTP library.
 *
 * tokenauthd hands over what it received (path, a header value, the body);
 * these functions parse strictly, run the check through the core and build
 * the JSON answer with its HTTP status and stable numeric code.  The table
 * of codes is documented in tokenauthd(8).  Parsers never log and never
 * keep a credential after they return: every copy is wiped.
 */
#ifndef TA_HTTP_REQ_H
#define TA_HTTP_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "otp.h"
#include "ta.h"
#include "verify.h"

#define TA_HTTP_MAX_BODY    (16 * 1024) /* bytes of any request body */
#define TA_HTTP_MAX_MEMBERS 64          /* members of a JSON request object */
#define TA_HTTP_MAX_TTL     (366ULL * 86400)
#define TA_HTTP_DEFAULT_TTL 3600ULL /* /generate without "ttl" */
#define TA_HTTP_MAX_SN      64      /* bytes of a tokenSn */

#define TA_HTTP_REGISTER_PREFIX "/token/registerActiveToken/"

/* Stable codes of every answer (tokenauthd(8) "ERROR CODES"). */
enum ta_http_code {
	TA_HC_OK = 0,
	TA_HC_REGISTER_FAILED = 6002, /* seed 002: token register to user failed */
	TA_HC_BAD_JSON = 10001,       /* body is not one strict JSON object */
	TA_HC_BAD_INPUT = 10002,      /* seed 002: missing or invalid field */
	TA_HC_STORE_DAMAGED = 10003,  /* seed 002 "DB protection error" */
	TA_HC_STORE = 10004,          /* seed 002 "DB error": store unavailable */
	TA_HC_TOO_LARGE = 10005,
	TA_HC_MEDIA_TYPE = 10006,
	TA_HC_NOT_FOUND = 10007,
	TA_HC_METHOD = 10008,
	TA_HC_RATE = 10009,
	TA_HC_INTERNAL = 10010,
	TA_HC_BAD_HTTP = 10011, /* framing refused: CL+TE, two lengths, control bytes */
	TA_HC_NEED_KEY = 11001,
	TA_HC_BAD_KEY = 11002,
	TA_HC_NEED_SIG = 11003,
	TA_HC_BAD_SIG = 11004,
	TA_HC_STALE = 11005,
	TA_HC_REPLAY = 11006,
	TA_HC_CLIENT_LOCKED = 11007,
	TA_HC_BAD_CENTOKEN = 11008,
	TA_HC_FORBIDDEN = 11009,
	TA_HC_REGISTER_OFF = 11010, /* registration needs sign_key_file (or the opt-out) */
	TA_HC_INVALID = 20001,      /* credential refused (wrong, unknown, other tenant) */
	TA_HC_EXPIRED = 20002,
	TA_HC_REVOKED = 20003,
	TA_HC_LOCKED = 20004,
	TA_HC_OTP_EXISTS = 29008 /* seed 002: an OTP token already registered */
};

/* Shape of the error body: which extra member each endpoint family adds. */
enum ta_http_style {
	TA_HS_PLAIN = 0,    /* {"code","message"} */
	TA_HS_VALIDATE = 1, /* + "retCode" (seed 000 clients read only that) */
	TA_HS_VERIFY = 2,   /* + "error" (seed 004) */
	TA_HS_REGISTER = 3  /* + "object": null (seed 002) */
};

struct ta_http_answer {
	unsigned status;     /* HTTP status */
	int code;            /* enum ta_http_code */
	char *body;          /* malloc'd JSON text; free with ta_wipe_free() */
	const char *outcome; /* static word for logs and metrics */
	char user[TA_MAX_USER + 1];
	char tenant[TA_MAX_TENANT + 1]; /* for the log line; may be empty */
};

/* Free the body (wiping it: a /generate answer holds a token); keeps the rest. */
void ta_http_answer_clear(struct ta_http_answer *a);

/*
 * Fill a with the error answer for code in the given style: status and
 * message from the table, detail (may be NULL) appended to the message.
 * Returns TA_OK or TA_ERR_NOMEM (a->body NULL, status 500).
 */
int ta_http_error(struct ta_http_answer *a, int code, enum ta_http_style style, const char *detail);

/* HTTP status of a code (500 for unknown codes). */
unsigned ta_http_status(int code);

/* The answer code of a core error (TA_ERR_EXPIRED -> TA_HC_EXPIRED, ...). */
int ta_http_code_of(int err);

/* ---- parsers (the fuzzer's entry points) ---------------------------------- */

/* A seed 000 validate body. token is malloc'd; ta_http_triple_clear wipes it. */
struct ta_http_triple {
	char user[TA_MAX_USER + 1];
	char tenant[TA_MAX_TENANT + 1];
	char *token;
	size_t token_len;
};
void ta_http_triple_clear(struct ta_http_triple *t);

/* A /generate body.  params is a JSON object text (malloc'd) or NULL. */
struct ta_http_generate {
	char user[TA_MAX_USER + 1];
	char tenant[TA_MAX_TENANT + 1];
	int has_tenant;
	uint64_t ttl;
	char *params;
};
void ta_http_generate_clear(struct ta_http_generate *g);

/* A seed 002 registration body; secret_len 0 means "generate one". */
struct ta_http_register {
	char user[TA_MAX_USER + 1];
	char tenant[TA_MAX_TENANT + 1];
	int has_tenant;
	char token_sn[TA_HTTP_MAX_SN + 1];
	char centoken[65];
	struct ta_otp_params p;
	uint8_t secret[TA_OTP_MAX_SECRET];
	size_t secret_len;
};

/*
 * Each parser takes len bytes of body (not NUL-terminated, at most
 * TA_HTTP_MAX_BODY) and returns TA_OK, or a TA_HC_BAD_JSON /
 * TA_HC_BAD_INPUT code with a static reason in *why (naming the field).
 * On failure nothing needs clearing.
 */
int ta_http_parse_validate(const char *body, size_t len, struct ta_http_triple *t,
                           const char **why);
int ta_http_parse_generate(const char *body, size_t len, struct ta_http_generate *g,
                           const char **why);
int ta_http_parse_register(const char *body, size_t len, struct ta_http_register *r,
                           const char **why);

/*
 * RFC 7662 form body ("token=...&token_type_hint=..."): the token,
 * percent-decoded, into a malloc'd buffer (wipe it).  Unknown keys are
 * refused, as are duplicates and bad escapes.
 */
int ta_http_parse_form_token(const char *body, size_t len, char **token, size_t *tlen,
                             const char **why);

/*
 * The admin name of "/token/registerActiveToken/{admin}" (path as received,
 * percent-encoded), decoded into out.  TA_OK, or TA_HC_NOT_FOUND when the
 * path has another shape, TA_HC_BAD_INPUT when the name is invalid.
 */
int ta_http_path_admin(const char *path, char out[TA_MAX_USER + 1]);

/*
 * Is a Content-Type header value the given media type (case-insensitive,
 * parameters such as "; charset=utf-8" allowed)?  NULL never matches.
 */
int ta_http_media_is(const char *content_type, const char *type);

/* ---- endpoints ------------------------------------------------------------ */

/*
 * Each fills a (which the caller clears) and returns TA_OK, or
 * TA_ERR_NOMEM when not even an error answer could be built.  ctx is the
 * calling thread's context.  rhost names the client in core log lines.
 */

/* Seed 000: POST validate path.  200 {"retCode","message"}; ta_verify with lockout. */
int ta_http_validate(ta_ctx *ctx, const char *body, size_t len, const char *rhost,
                     struct ta_http_answer *a);

/* Seed 004: POST /generate (caller has checked the admin API key). */
int ta_http_generate(ta_ctx *ctx, const char *body, size_t len, struct ta_http_answer *a);

/*
 * Seed 004: GET /verify with the x-api-token value (NULL when absent): 200
 * with the bound parameters, userAccount, tenantSpaceId and
 * expiration_time, or 403 {"error": "Wrong token"}.  A locked user's token
 * is refused like a wrong one.
 */
int ta_http_verify(ta_ctx *ctx, const char *token, struct ta_http_answer *a);

/* RFC 7662: POST /introspect with a form body. */
int ta_http_introspect(ta_ctx *ctx, const char *body, size_t len, struct ta_http_answer *a);

/*
 * Seed 002: PUT /token/registerActiveToken/{admin}.  The admin proves
 * itself twice: auth_token (header X-Auth-Token) is an access token or code
 * of the admin account, checked by ta_verify with the usual lockout, and
 * the body's cenToken must be hex HMAC-SHA256(key, admin + auth_token)
 * where key is the admin API key.  Enrols an OTP secret for the user;
 * answers {code, message, object} with the seed's codes where they fit.
 *
 * Each auth_token authorises one registration (issue 9, defect 5): once
 * the cenToken and the admin credential check out, an access token of the
 * local store is revoked before anything is enrolled (whatever the
 * outcome), and an OTP code is spent by the OTP rules; a credential that
 * only a remote backend vouched for cannot be spent here and is refused
 * (TA_HC_FORBIDDEN).  The caller (tokenauthd) has, by default, also
 * required a SPEC §5 signature, which binds the body and a nonce.
 */
int ta_http_register(ta_ctx *ctx, const char *path, const char *auth_token, const uint8_t *key,
                     size_t keylen, const char *body, size_t len, const char *rhost,
                     struct ta_http_answer *a);

#endif
