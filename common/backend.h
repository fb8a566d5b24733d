/*
 * backend.h - the verification backends (STYLE 2), for core files only.
 *
 * The table in backend.c is the only place that knows which backends
 * exist, what they are called and what they need.  verify= is parsed once,
 * at configuration time, into an array of pointers into that table
 * (config.c); ta_verify runs them in that order.  A new backend is one new
 * file with one `const struct ta_backend` and one row in the table.
 */
#ifndef TA_BACKEND_H
#define TA_BACKEND_H

#include <stddef.h>

#include "verify.h"

#define TA_BACKENDS_MAX 4 /* most backends one verify= may name */

/* What a backend is: the properties the rest of the core asks about. */
enum {
	/* Checks credentials in the local store (a host without one cannot use it). */
	TA_BACKEND_STORE = 0x1u,
	/* May vouch for users the local store does not know: their failures are
	 * counted (under the store's cap) and ta_user_known assumes them known. */
	TA_BACKEND_FOREIGN_USERS = 0x2u,
	/* Needs the process-wide initialisation of ta_global_init (libcurl). */
	TA_BACKEND_NETWORK = 0x4u,
	/* Takes credentials of the compact-JWS shape up to TA_MAX_JWT bytes;
	 * a backend without this flag never sees one longer than
	 * TA_MAX_CREDENTIAL (ta_verify skips it as "unknown here"). */
	TA_BACKEND_LONG_CREDENTIALS = 0x8u
};

/* Internal per-check state handed to a backend. */
struct ta_check {
	const char *service, *user, *tenant, *credential;
	size_t credential_len;
	struct ta_outcome *out;
	/* in: a success should also clear the user's throttle row (a charge or
	 * an earlier streak); out: the backend did, atomically with spending
	 * the credential, so the caller need not write again */
	int clear_throttle, cleared;
	/* in (local backend only): this guess's charge is written in a store
	 * transaction left open; check inside it, begin none and end none:
	 * the caller commits the charge and the check together */
	int charge_open;
	/* out: with charge_open, a token's last use is due: the caller writes
	 * it after the commit (a failed touch never fails a login) */
	int touch_after;
	/* no backend is asked after this one: "unknown here" would end the
	 * check as "no credential" rather than as a refusal */
	int last;
};

struct ta_backend {
	const char *name; /* as written in verify= */
	unsigned flags;   /* TA_BACKEND_* */
	/*
	 * Check c.  *state is this backend's per-context state (NULL on the
	 * first call; the backend may set it).  TA_ERR_NO_CREDENTIAL ("unknown
	 * here") and TA_ERR_UNAVAILABLE ("cannot tell") let the next backend
	 * try; any other answer is final.
	 */
	int (*check)(ta_ctx *ctx, void **state, struct ta_check *c);
	void (*free_state)(void *state); /* NULL: the backend keeps no state */
};

extern const struct ta_backend ta_backend_local;
extern const struct ta_backend ta_backend_remote;
extern const struct ta_backend ta_backend_jwt;

/* The backend called name[0..n), or NULL. */
const struct ta_backend *ta_backend_find(const char *name, size_t n);

/* "local and/or remote": the names, for error messages, into buf. */
char *ta_backend_names(char *buf, size_t cap);

#endif
