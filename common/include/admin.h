/*
 * admin.h - administrative operations on the store, used by the CLI and
 * (later) the service.  Each returns a ta_err and logs the reason through
 * the context's callback; none prints.
 */
#ifndef TA_ADMIN_H
#define TA_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "otp.h"
#include "records.h"
#include "token.h"
#include "verify.h"

/*
 * Create what is missing: the store (folder 0700, file 0600) and the
 * master key (0600, O_EXCL).  Existing ones are left alone and checked.
 * *created receives a bit mask: 1 store created, 2 key created.
 */
int ta_admin_init(ta_ctx *ctx, unsigned *created);

/* Is name[0..n) a member name tokenauthd's answers carry (any case)? */
int ta_token_param_reserved(const char *name, size_t n);

/* Does text (a row's stored parameters, NULL for none) keep the rules of
 * ta_token_params?  Rows that came another way (store copy) are checked. */
int ta_token_params_ok(const char *text);

/*
 * Build a JSON object from "key=value" strings.  Keys are 1..64 of
 * [A-Za-z0-9_.-] and none that ta_token_param_reserved refuses; the result
 * is capped at TA_MAX_PARAMS.  *json is malloc'd (NULL when n is 0).
 */
int ta_token_params(const char *const *pairs, size_t n, char **json, char *err, size_t errlen);

/*
 * Issue a token for user/tenant valid ttl seconds (0: never expires).
 * token receives the printable token (wipe it), id its public id.
 */
int ta_token_issue(ta_ctx *ctx, const char *user, const char *tenant, uint64_t ttl, const char *params,
             char token[TA_TOKEN_LEN + 1], char id[TA_TOKEN_ID_LEN + 1], int64_t *expires);

/*
 * Import an externally generated token (TA_IMPORT_MIN_LEN..TA_MAX_CREDENTIAL
 * printable bytes, not in our own format).
 */
/* As ta_token_issue, with a label (NULL or "": none; else 1..TA_MAX_LABEL
 * bytes passing ta_name_ok, TA_ERR_INPUT otherwise) and, when max_active
 * is not 0, a limit: TA_ERR_EXISTS when the user already holds max_active
 * live tokens in the tenant, counted under the user's lock with the
 * insert, so requests side by side cannot pass it. */
int ta_token_issue_label(ta_ctx *ctx, const char *user, const char *tenant, uint64_t ttl,
                         const char *params, const char *label, unsigned max_active,
                         char token[TA_TOKEN_LEN + 1], char id[TA_TOKEN_ID_LEN + 1],
                         int64_t *expires);

int ta_token_import(ta_ctx *ctx, const char *user, const char *tenant, uint64_t ttl, const char *cred,
              size_t len, const char *params, char id[TA_TOKEN_ID_LEN + 1], int64_t *expires);

/*
 * Look a token up by its text alone (seed 004's GET /verify): TA_OK with
 * the row (row->params malloc'd or NULL; caller frees) when it exists, is
 * not revoked, not expired and its owner is not locked out; else
 * TA_ERR_REJECTED, _REVOKED, _EXPIRED or _LOCKED.  Typos in our own format
 * are rejected without a lookup.
 */
int ta_token_lookup(ta_ctx *ctx, const char *cred, size_t len, struct ta_token_row *row);

int ta_token_revoke(ta_ctx *ctx, const char *id);
/* tenant NULL: every tenant of the user. */
int ta_token_revoke_user(ta_ctx *ctx, const char *user, const char *tenant, unsigned *count);

/* Open the store now (to fail before printing anything). */
int ta_admin_open(ta_ctx *ctx);

int ta_token_list(ta_ctx *ctx, const char *user,
                   int (*cb)(void *arg, const struct ta_token_row *row), void *arg);
int ta_otp_list(ta_ctx *ctx, const char *user,
                int (*cb)(void *arg, const char *user, const char *tenant,
                          const struct ta_otp_row *row),
                void *arg);

/*
 * Enrol an OTP secret.  secret NULL: generate 20 bytes (SHA1) / 32 / 64.
 * secret_out receives the secret actually stored (wipe it) so the caller
 * can show the Key URI once.  Fails with TA_ERR_EXISTS when the user
 * already has one and !replace.
 */
int ta_otp_enroll(ta_ctx *ctx, const char *user, const char *tenant, const struct ta_otp_params *p,
                  const uint8_t *secret, size_t secret_len, uint64_t next, int replace,
                  uint8_t secret_out[TA_OTP_MAX_SECRET], size_t *secret_out_len);

int ta_otp_remove(ta_ctx *ctx, const char *user, const char *tenant);

/* Clear failures and lockouts; tenant NULL: every tenant. */
int ta_throttle_unlock(ta_ctx *ctx, const char *user, const char *tenant, unsigned *count);

/*
 * Revoke token id once, for a single-use credential: TA_OK when this call
 * revoked it, TA_ERR_REVOKED when it was revoked already (of two racing
 * callers only one gets TA_OK), TA_ERR_NOT_FOUND when there is no such
 * id, or the store's error.  Unlike ta_token_revoke, "already revoked" is
 * not a success.
 */
int ta_token_spend(ta_ctx *ctx, const char *id);

/* Rows a store copy wrote. */
struct ta_copy_count {
	unsigned long tokens, otp, throttle;
};

/*
 * Copy the whole store src into dst (tokenauth store copy).  Both are store
 * names as the store layer opens them: an absolute SQLite path or
 * postgresql:/path/of/a/dsn/file.  Rows move as stored: token hashes with
 * their revocation and expiry, sealed OTP secrets (never unsealed: both
 * sides must use the same master key) with their counters, throttle rows
 * with their lockouts.  src is read in one read-only snapshot; dst is
 * created when missing (as init would) and written in one transaction,
 * committed only when every row went in: on any failure it is left as it
 * was.  Refuses (nothing opened for writing) src and dst naming one store
 * (TA_ERR_INPUT), and a dst holding any row unless force (TA_ERR_EXISTS);
 * with force a row with the same key (a token's hash or id, an OTP or
 * throttle row's user and tenant) is replaced by the source's, other dst
 * rows stay.  A source row that does not fit our records (a name outside
 * the grammar, a cut field) is TA_ERR_CORRUPT.  Each failure is logged
 * naming its side ("source ...", "destination ...").  *n: rows written.
 */
int ta_store_copy(ta_ctx *ctx, const char *src, const char *dst, int force,
                  struct ta_copy_count *n);

#endif
