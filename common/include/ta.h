/*
 * ta.h - the public face of the tokenauth core.
 *
 * Every front-end (PAM module, SASL plugin, CLI, service) talks to the core
 * only through the functions declared here and in the per-concern headers.
 * The core never prints and never exits: it returns a ta_err and reports
 * through the log callback the front-end supplies.
 */
#ifndef TA_H
#define TA_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* One error space.  0 is success, everything else is negative. */
typedef enum {
	TA_OK = 0,
	TA_ERR_REJECTED = -1,      /* wrong credential */
	TA_ERR_EXPIRED = -2,       /* credential past its expiry */
	TA_ERR_REVOKED = -3,       /* credential revoked */
	TA_ERR_REPLAY = -4,        /* OTP already used */
	TA_ERR_TENANT = -5,        /* credential bound to another user/tenant */
	TA_ERR_LOCKED = -6,        /* too many failures: locked out */
	TA_ERR_NO_CREDENTIAL = -7, /* user has no credential at all */
	TA_ERR_UNAVAILABLE = -8,   /* store/backend unreadable or down */
	TA_ERR_INSECURE = -9,      /* file has unsafe type/owner/mode */
	TA_ERR_CORRUPT = -10,      /* store or file content is malformed */
	TA_ERR_CONFIG = -11,       /* bad configuration */
	TA_ERR_INPUT = -12,        /* bad argument or input */
	TA_ERR_NOMEM = -13,
	TA_ERR_EXISTS = -14,     /* object already exists */
	TA_ERR_NOT_FOUND = -15,  /* object does not exist (admin verbs) */
	TA_ERR_INTERNAL = -16,   /* crypto library or invariant failure */
	TA_ERR_UNSUPPORTED = -17 /* feature not built in */
} ta_err;

/* A short, stable English description of an error; never NULL. */
const char *ta_strerror(int err);

/* True for verdicts that mean "the credential was checked and refused". */
int ta_err_is_rejection(int err);

/* Log levels, matching syslog priorities so front-ends can pass them on. */
enum { TA_LOG_ERR = 3, TA_LOG_WARNING = 4, TA_LOG_NOTICE = 5, TA_LOG_INFO = 6, TA_LOG_DEBUG = 7 };

/*
 * Log callback.  The core formats the message and hands over a complete,
 * NUL-terminated line without a trailing newline.  Messages never contain a
 * credential, secret or key.
 */
typedef void (*ta_log_fn)(void *arg, int level, const char *msg);

#define TA_TOKEN_PREFIX   "tka_"
#define TA_MAX_USER       256  /* bytes in a userAccount */
#define TA_MAX_TENANT     256  /* bytes in a tenantSpaceId */
#define TA_MAX_CREDENTIAL 512  /* bytes in a token or code */
#define TA_MAX_JWT        8192 /* bytes in a credential of the compact-JWS shape (jwt backend) */
#define TA_MAX_PARAMS     4096 /* bytes of bound parameters (JSON) */

#endif
