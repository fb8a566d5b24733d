/* ctx_int.h - the context struct and helpers shared by core files. */
#ifndef TA_CTX_INT_H
#define TA_CTX_INT_H

#include "backend.h"
#include "config_int.h"
#include "crypto.h"
#include "store.h"
#include "verify.h"

struct ta_ctx {
	const ta_config *cfg;
	ta_log_fn log;
	void *log_arg;
	ta_store *store;
	uint8_t key[TA_KEY_LEN];
	int have_key;
	int64_t fixed_now;
	/* cfg->backends, copied: freeing the context never reads cfg */
	const struct ta_backend *backends[TA_BACKENDS_MAX];
	unsigned nbackends, backend_flags;
	void *backend_state[TA_BACKENDS_MAX]; /* per backends[i], made on first use */
};

void ta_logf(ta_ctx *ctx, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

int64_t ta_now(const ta_ctx *ctx);

/* Open the store once (logs the reason on failure). */
int ta_ctx_store(ta_ctx *ctx, ta_store **st);
/* Load the master key once (logs the reason on failure). */
int ta_ctx_key(ta_ctx *ctx, const uint8_t **key);

/* TA_ERR_LOCKED while user/tenant is locked out; t receives the row. */
int ta_throttle_check(ta_ctx *ctx, ta_store *st, const char *user, const char *tenant,
                      struct ta_throttle *t);

/*
 * Count one failure of user/tenant the way a refused check does, for
 * every user (capped rows for users not enrolled here): for front-ends
 * whose own check failed (the portal's PAM login).  TA_ERR_LOCKED when a
 * lockout is running, else TA_OK or the store's error.
 */
int ta_throttle_fail(ta_ctx *ctx, const char *user, const char *tenant);

/*
 * The answer to a guess that cannot be counted or checked (a full
 * throttle table, a store held locked or unreadable, a write cut short):
 * the same for a right and a wrong code, and a service error, never
 * "unavailable", which a PAM stack may be told to skip
 * (authinfo_unavail=ignore): every code would then pass whenever an
 * attacker can keep the store from counting.
 */
#define TA_ERR_UNCOUNTED TA_ERR_INTERNAL

/* AAD that binds an OTP secret to its user and tenant. */
size_t ta_otp_aad(const char *user, const char *tenant, uint8_t *buf, size_t cap);


#endif
