/*
 * verify.h - the verification context and the one entry point every
 * front-end calls.
 *
 * A ta_ctx binds a configuration (borrowed: it must outlive the context)
 * to a log callback, and opens the store and master key lazily, once.  A
 * context is used by one thread at a time; threaded hosts make one per
 * thread or per session.  No global mutable state exists anywhere in the
 * core.
 */
#ifndef TA_VERIFY_H
#define TA_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ta.h"

typedef struct ta_ctx ta_ctx;

struct ta_request {
	const char *user;       /* PAM user / SASL authcid; required */
	const char *tenant;     /* explicit tenant from the protocol, or NULL */
	const char *credential; /* not NUL-terminated; never logged */
	size_t credential_len;
	const char *service; /* for logs; may be NULL */
	const char *rhost;   /* for logs; may be NULL */
	unsigned flags;      /* TA_REQ_* */
};

/*
 * The credential was not typed for us: it is an earlier PAM module's
 * password (try_first_pass).  Only a credential of our own shape (a tka_
 * token with a valid checksum, or an OTP-length string of digits) is
 * checked as usual; anything else is checked against the local store
 * alone, is never sent to a remote endpoint and never counts as a failure.
 */
#define TA_REQ_STACKED 0x1u

struct ta_outcome {
	char user[TA_MAX_USER + 1];     /* user after tenant splitting */
	char tenant[TA_MAX_TENANT + 1]; /* tenant the check ran against */
	const char *method;             /* "token", "otp" or "" */
	char token_id[16];              /* id of the matched token, or "" */
	int64_t expires;                /* matched token's expiry, 0 = none */
};

/*
 * Process-wide initialisation (libcurl's global state), done once however
 * often it is called.  Hosts with an init hook that runs before threads
 * exist (SASL's plug_init) call it there when the configuration uses a
 * remote backend; otherwise the first remote check does it.  TA_OK, or
 * TA_ERR_UNAVAILABLE when a library could not be initialised.
 */
int ta_global_init(void);

/* Create a context.  cfg is borrowed; log may be NULL (silence). */
int ta_ctx_new(const ta_config *cfg, ta_log_fn log, void *log_arg, ta_ctx **out);

/* Free a context, closing the store and wiping the key.  NULL is fine. */
void ta_ctx_free(ta_ctx *ctx);

/* Pin the clock (Unix seconds) for tests; 0 returns to the real clock. */
void ta_ctx_set_time(ta_ctx *ctx, int64_t now);

/*
 * Check one credential.  Returns TA_OK when it is valid, a rejection
 * (TA_ERR_REJECTED, _EXPIRED, _REVOKED, _REPLAY, _TENANT, _LOCKED),
 * TA_ERR_NO_CREDENTIAL when the user has no credential at all, or an
 * availability/config error.  Logs one line with the outcome; never the
 * credential.  out may be NULL.
 */
int ta_verify(ta_ctx *ctx, const struct ta_request *req, struct ta_outcome *out);

/*
 * Does the user have any credential the configured mode can use?  TA_OK if
 * so (or when a remote backend is configured, which may know the user),
 * TA_ERR_NO_CREDENTIAL if not, or a store error.  Lets PAM's nullok skip
 * the prompt for users who have nothing enrolled.
 */
int ta_user_known(ta_ctx *ctx, const char *user, const char *tenant);

/*
 * Split user/tenant the way ta_verify does (SPEC §2): explicit tenant, then
 * user@tenant when tenant_from_user, then the configured tenant.  Validates
 * lengths and characters (TA_ERR_INPUT).
 */
int ta_resolve_identity(const ta_config *cfg, const char *user, const char *tenant,
                        char ubuf[TA_MAX_USER + 1], char tbuf[TA_MAX_TENANT + 1]);

#endif
