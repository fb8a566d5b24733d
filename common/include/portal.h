/*
 * portal.h - what tokenauthd's self-service portal needs from the core:
 * sessions kept in the store (by the SHA-256 of their id), the per-user
 * throttle for logins checked by PAM, and a user's own tokens and second
 * factor.  Each returns a ta_err and logs through the context's callback.
 */
#ifndef TA_PORTAL_H
#define TA_PORTAL_H

#include <stddef.h>
#include <stdint.h>

#include "records.h"
#include "verify.h"

#define TA_SESSION_ID_LEN 64 /* hex characters: 256 random bits */

/*
 * A new session for user/tenant (already resolved names).  sid receives the
 * id (hex, NUL-terminated; a secret: wipe it); the store keeps its hash.
 * Sessions past idle or max seconds are purged on the way.
 */
int ta_session_new(ta_ctx *ctx, const char *user, const char *tenant, unsigned long idle,
                   unsigned long max, char sid[TA_SESSION_ID_LEN + 1]);
/*
 * The live session sid names: TA_OK with its row; TA_ERR_NOT_FOUND for an
 * id that is not one (wrong shape included), TA_ERR_EXPIRED for one idle
 * more than idle seconds or older than max seconds (it is deleted).  A live
 * one's last-seen time is written when it is older than min(60, idle/2) s.
 */
int ta_session_check(ta_ctx *ctx, const char *sid, unsigned long idle, unsigned long max,
                     struct ta_session_row *row);
/* End the session (logout).  TA_OK also when there was none. */
int ta_session_end(ta_ctx *ctx, const char *sid);

/*
 * Logins a front-end checks itself (PAM): ta_login_locked is TA_ERR_LOCKED
 * while the user is locked out (else TA_OK or a store error);
 * ta_login_failed counts a failure (capped rows for users unknown here);
 * ta_login_ok clears the user's failure streak.
 */
int ta_login_locked(ta_ctx *ctx, const char *user, const char *tenant);
int ta_login_failed(ta_ctx *ctx, const char *user, const char *tenant);
int ta_login_ok(ta_ctx *ctx, const char *user, const char *tenant);

/* Active (not revoked, not expired) tokens of user/tenant. */
int ta_token_count_active(ta_ctx *ctx, const char *user, const char *tenant, unsigned *n);
/*
 * Revoke token id only when it belongs to user/tenant and is active:
 * TA_OK, TA_ERR_NOT_FOUND otherwise (another user's id included: nothing
 * is revoked), or a store error.
 */
int ta_token_revoke_own(ta_ctx *ctx, const char *user, const char *tenant, const char *id);

/*
 * Remove user/tenant's OTP secret only when code is a valid current code of
 * it (spent like a login's): TA_OK, TA_ERR_REJECTED (wrong code, counted
 * as a failure), TA_ERR_NOT_FOUND (nothing enrolled), or a store error.
 */
int ta_otp_remove_with_code(ta_ctx *ctx, const char *user, const char *tenant, const char *code);

/* *has = 1 when user/tenant has an OTP secret. */
int ta_otp_has(ta_ctx *ctx, const char *user, const char *tenant, int *has);

#endif
