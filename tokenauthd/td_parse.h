/*
 * td_parse.h - strict parsers of the verify service's requests (SPEC §5),
 * and the stable codes of its answers.
 *
 * Pure functions: no context, no store, no HTTP library, no logging.  They
 * take what tokenauthd received (a body, a path, a header value) and
 * either fill a request structure or return a td_code naming what is
 * wrong.  No credential is kept after they return except in the output
 * structures, whose clear functions wipe it; every other copy is wiped.
 * The fuzzer (tests/fuzz/fuzz_tokenauthd.c) and the unit tests
 * (tests/tokenauthd/test_parse.c) call them directly.
 */
#ifndef TD_PARSE_H
#define TD_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "otp.h"
#include "ta.h"

#define TD_MAX_BODY    (16 * 1024) /* bytes of any request body */
#define TD_MAX_MEMBERS 64          /* members of a JSON request object */
#define TD_MAX_TTL     (366ULL * 86400)
#define TD_DEFAULT_TTL 3600ULL /* /generate without "ttl" */
#define TD_MAX_SN      64      /* bytes of a tokenSn */

#define TD_REGISTER_PREFIX "/token/registerActiveToken/"

/*
 * Stable codes of every answer (tokenauthd(8) "ERROR CODES").  The one
 * return space of tokenauthd's parsers and endpoints: a core ta_err is
 * turned into one of these by td_code_of() (td_api.h), never passed on.
 */
enum td_code {
	TD_OK = 0,
	TD_REGISTER_FAILED = 6002, /* seed 002: token register to user failed */
	TD_BAD_JSON = 10001,       /* body is not one strict JSON object */
	TD_BAD_INPUT = 10002,      /* seed 002: missing or invalid field */
	TD_STORE_DAMAGED = 10003,  /* seed 002 "DB protection error" */
	TD_STORE = 10004,          /* seed 002 "DB error": store unavailable */
	TD_TOO_LARGE = 10005,
	TD_MEDIA_TYPE = 10006,
	TD_NOT_FOUND = 10007,
	TD_METHOD = 10008,
	TD_RATE = 10009,
	TD_INTERNAL = 10010,
	TD_BAD_HTTP = 10011, /* framing refused: CL+TE, two lengths, control bytes */
	TD_NEED_KEY = 11001,
	TD_BAD_KEY = 11002,
	TD_NEED_SIG = 11003,
	TD_BAD_SIG = 11004,
	TD_STALE = 11005,
	TD_REPLAY = 11006,
	TD_CLIENT_LOCKED = 11007,
	TD_BAD_CENTOKEN = 11008,
	TD_FORBIDDEN = 11009,
	TD_REGISTER_OFF = 11010, /* registration needs sign_key_file (or the opt-out) */
	TD_INVALID = 20001,      /* credential refused (wrong, unknown, other tenant) */
	TD_EXPIRED = 20002,
	TD_REVOKED = 20003,
	TD_LOCKED = 20004,
	TD_OTP_EXISTS = 29008 /* seed 002: an OTP token already registered */
};

/* A seed 000 validate body.  token is malloc'd; td_triple_clear wipes it. */
struct td_triple {
	char user[TA_MAX_USER + 1];
	char tenant[TA_MAX_TENANT + 1];
	char *token;
	size_t token_len;
};
/* Wipe and free the token; NULL is fine. */
void td_triple_clear(struct td_triple *t);

/* A /generate body.  params is a JSON object text (malloc'd) or NULL. */
struct td_generate {
	char user[TA_MAX_USER + 1];
	char tenant[TA_MAX_TENANT + 1];
	int has_tenant;
	uint64_t ttl; /* 1..TD_MAX_TTL; TD_DEFAULT_TTL when absent */
	char *params;
};
/* Free params; NULL is fine. */
void td_generate_clear(struct td_generate *g);

/*
 * A seed 002 registration body; secret_len 0 means "generate one".
 * Holds a secret and the cenToken: wipe the whole structure after use.
 */
struct td_register {
	char user[TA_MAX_USER + 1];
	char tenant[TA_MAX_TENANT + 1];
	int has_tenant;
	char token_sn[TD_MAX_SN + 1];
	char centoken[65]; /* lower-case hex */
	struct ta_otp_params p;
	uint8_t secret[TA_OTP_MAX_SECRET];
	size_t secret_len;
};

/*
 * Each body parser takes len bytes of body (not NUL-terminated, at most
 * TD_MAX_BODY) and returns TD_OK, or TD_BAD_JSON / TD_BAD_INPUT with a
 * static reason in *why (naming the field).  On failure nothing needs
 * clearing.  The JSON must be exactly one object filling the body: no NUL
 * byte, no "\u0000", at most TD_MAX_MEMBERS members, no duplicate names.
 * Names (user, tenant) refuse control bytes.
 */
enum td_code td_parse_validate(const char *body, size_t len, struct td_triple *t, const char **why);
/*
 * Members other than userAccount, tenantSpaceId and ttl become bound
 * parameters (strings only); a name the answers use ("token", "exp",
 * "UserAccount", ...: compared without regard to case) is refused.
 */
enum td_code td_parse_generate(const char *body, size_t len, struct td_generate *g,
                               const char **why);
enum td_code td_parse_register(const char *body, size_t len, struct td_register *r,
                               const char **why);

/*
 * Decode one application/x-www-form-urlencoded component of n bytes into
 * out (cap bytes, NUL-ended): '+' is a space, %XX the byte XX.  Returns
 * the length, or -1 on a bad escape, a NUL byte (raw or %00) or no room.
 * The one form decoder of the service (introspection, registration paths,
 * the portal's forms).
 */
long td_form_decode(const char *s, size_t n, char *out, size_t cap);

/*
 * RFC 7662 form body ("token=...&token_type_hint=..."): the token,
 * percent-decoded, into a malloc'd buffer (*token, *tlen bytes; wipe and
 * free it).  Unknown keys are refused, as are duplicates, empty or
 * trailing pairs, %00 and bad escapes: TD_BAD_INPUT with *why, or
 * TD_INTERNAL when out of memory.
 */
enum td_code td_parse_form_token(const char *body, size_t len, char **token, size_t *tlen,
                                 const char **why);

/*
 * The admin name of TD_REGISTER_PREFIX "{admin}" (path as received,
 * percent-encoded; '+' is refused), decoded into out.  TD_OK, or
 * TD_NOT_FOUND when the path has another shape (no name, a further '/'),
 * TD_BAD_INPUT when the name is invalid (too long, control byte, space,
 * %00, bad escape).
 */
enum td_code td_parse_path_admin(const char *path, char out[TA_MAX_USER + 1]);

/*
 * Is a Content-Type header value the given media type (case-insensitive,
 * parameters such as "; charset=utf-8" allowed)?  1 or 0; NULL never
 * matches.
 */
int td_media_is(const char *content_type, const char *type);

/* Wipe every string of a cJSON tree (names too), then free it; NULL is fine. */
struct cJSON;
void td_json_wipe_free(struct cJSON *j);

#endif
