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

#include <sys/types.h>

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
 * password (try_first_pass).  Only a credential of our own shape
 * (ta_credential_own_shape) is checked as usual; anything else is refused
 * (TA_ERR_REJECTED) without any backend seeing it, without counting as a
 * failure, and with a debug line only.
 */
#define TA_REQ_STACKED 0x1u

/*
 * Our own credential shapes: an issued tka_ token with a valid checksum,
 * or 6 to 8 digits (an OTP code).  1 when cred has one of them.
 */
int ta_credential_own_shape(const char *cred, size_t len);

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
 * remote backend; otherwise the first remote check does it.  TA_OK;
 * TA_ERR_CONFIG when libcurl cannot be loaded (common/lazy.h);
 * TA_ERR_UNAVAILABLE when it could not be initialised.
 */
int ta_global_init(void);
/* Why ta_global_init failed ("" when it did not). */
const char *ta_global_init_error(void);
/* A setuid/setgid process (AT_SECURE, or real and effective ids apart):
 * its caller may signal it, set its limits and fill its descriptor table
 * (global.c), so an outage it sees may be the caller's doing. */
int ta_global_privileged(void);
/*
 * Remove every PG* variable from the environment, so that libpq takes the
 * PostgreSQL store's connection from the DSN file alone.  For programs'
 * main() while single-threaded (unsetenv is not thread-safe); plugins in
 * privileged hosts get this, and more, from the load-time scrub.
 */
void ta_global_scrub_pg(void);
/*
 * ta_global_init when a backend configured in cfg needs it (verify=
 * names a network backend), and libpq loaded when the store is
 * PostgreSQL, else nothing: TA_OK.  For hosts that must not initialise
 * libcurl needlessly (a setuid program loading the SASL plugin), and so
 * that a host that chroots after loading the plugin (Postfix smtpd,
 * slapd -r) has its libraries from the system, not from the jail.
 */
int ta_global_init_for(const ta_config *cfg);

/*
 * The calling process's id, as getpid(), without a system call after the
 * first: it is kept in a page the kernel zeroes in a forked child
 * (MADV_WIPEONFORK, Linux 4.14), so a child always asks afresh, also one
 * made by _Fork() or clone() without CLONE_VM.  A child that shares the
 * parent's memory (vfork, clone with CLONE_VM) shares the page too and is
 * taken for its parent: such a child may only exec or exit (POSIX), never
 * authenticate.  Where the page cannot be had, every call is a getpid().
 * For the fork checks that keep a child off its parent's store handles.
 */
pid_t ta_getpid(void);

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
 * The input gate's grammar, for every entry point that takes names or
 * credentials (SECURITY.md).  A name is 1..max bytes of well-formed UTF-8
 * with no C0/C1 control, no DEL and no space at either end.  A credential
 * is 1..TA_MAX_CREDENTIAL bytes of visible ASCII (0x21-0x7e): a superset of
 * RFC 6750's b64token,
 * and nothing that could end a header line, a JSON string or a SASL field.
 * Both return 1 when the input is acceptable.
 */
int ta_name_ok(const char *s, size_t max);
int ta_credential_ok(const char *cred, size_t len);
/*
 * The credential grammar of a context: as ta_credential_ok, except that
 * when a configured backend takes JWTs (verify= names jwt), a credential
 * of the compact-JWS shape (three base64url segments, two dots) may be up
 * to TA_MAX_JWT bytes.  1 when acceptable.
 */
int ta_credential_ok_for(const ta_ctx *ctx, const char *cred, size_t len);

/*
 * RFC 7662 introspection of a JWT by the configured jwt backend (all its
 * checks except the user and tenant claims, which name nobody here).
 * TA_OK and *json (malloc'd, the caller frees): {"active": true, "sub",
 * "username", "iss", "aud", "exp", "iat", "scope", "client_id"} as the
 * claims carry them; TA_ERR_NO_CREDENTIAL when no jwt backend is
 * configured or tok is not a JWT; a rejection or TA_ERR_UNAVAILABLE.
 */
int ta_jwt_introspect(ta_ctx *ctx, const char *tok, size_t len, char **json);

/*
 * The log-field encoder: a name or host as one key=value field.  Values
 * with no space, '"', '=' or '\\' are written as they are (so ordinary
 * lines keep their shape); any other is quoted with '"' and '\\' escaped,
 * so "user=x outcome=success" can never be forged by a crafted name.
 * Returns s itself or buf.  TA_Q() supplies a buffer on the caller's stack.
 */
#define TA_LOGQ_MAX 1040
const char *ta_logq(const char *s, char *buf, size_t cap);
#define TA_Q(s) ta_logq((s), (char[TA_LOGQ_MAX]){0}, TA_LOGQ_MAX)

/*
 * Split user/tenant the way ta_verify does (SPEC §2): explicit tenant, then
 * user@tenant when tenant_from_user, then the configured tenant.  Validates
 * lengths and characters (TA_ERR_INPUT).
 */
int ta_resolve_identity(const ta_config *cfg, const char *user, const char *tenant,
                        char ubuf[TA_MAX_USER + 1], char tbuf[TA_MAX_TENANT + 1]);

/*
 * The lockout rule, shared by the store's per-user throttle and the
 * service's per-client limits: the n-th lockout (n from 0) of a streak
 * lasts base << n seconds, at most TA_LOCKOUT_CAP.
 */
#define TA_LOCKOUT_CAP 86400
unsigned long ta_lockout_secs(unsigned long base, unsigned lockouts);

#endif
