/*
 * store.h - the store: one API over the engines of store_int.h (a path
 * names the embedded SQLite store).
 *
 * One ta_store is used by one thread at a time.  Opening checks the file
 * and its folder (SPEC §7), migrates older schemas and refuses newer ones.
 * Writes that must be atomic with a check (OTP counters, failure counts)
 * run between ta_store_begin() and ta_store_commit(), which takes the write
 * lock up front and waits, bounded, for other processes.
 */
#ifndef TA_STORE_H
#define TA_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "otp.h"
#include "records.h"
#include "ta.h"
#include "token.h"

typedef struct ta_store ta_store;

#define TA_STORE_SCHEMA   7      /* schema this program writes */
#define TA_THROTTLE_MAX   100000 /* most throttle rows of users not enrolled here */
#define TA_THROTTLE_IDLE  86400  /* seconds after its last failure a streak is forgotten */
/* seconds a capped row must have been unwritten, and its lockout over,
 * before a full table may give it up (helper-50 F1).  After a lockout the
 * wait is doubled for each lockout the row holds, at most TA_THROTTLE_IDLE
 * (helper-51: the doubling must outlast a round of the wash-out), counted
 * from the lockout's end only; a later failure that locks nothing adds the
 * plain hour from itself (schema 7, helper-53 F1: counted from the last
 * write, one failure a day kept a row with five lockouts for good).  Baked
 * into the throttle_evict index as TA_THROTTLE_EVICT_SQL says. */
#define TA_THROTTLE_EVICT_AGE 3600
/* when a capped row may go, in SQL: max(locked_until +
 * min(TA_THROTTLE_EVICT_AGE << min(lockouts, 5), TA_THROTTLE_IDLE),
 * updated + TA_THROTTLE_EVICT_AGE); greatest and least are the engine's
 * names for max and min */
#define TA_THROTTLE_EVICT_SQL(greatest, least, int_cast)                                           \
	greatest "(locked_until+" least "(3600<<" least "(lockouts,5)" int_cast                    \
	         ",86400),updated+3600)"
/* the times a throttle row may hold: 0 to 9999-12-31T23:59:59Z, so that
 * the eviction time (a time plus at most a day) cannot overflow in either
 * engine (helper-53 F4) */
#define TA_STORE_TIME_MAX   INT64_C(253402300799)
#define TA_STORE_TIME_MAX_S "253402300799" /* the same, for SQL */
#define TA_STORE_BUSY_MS  10000 /* longest wait for another writer */

struct ta_throttle {
	unsigned failures, lockouts;
	int64_t locked_until;
};

/* A whole throttle row, as a copy moves it. */
struct ta_throttle_row {
	struct ta_throttle t;
	int64_t updated; /* time of the last write */
	int capped;      /* written for a user not enrolled here: under the cap */
};

/* Rows per table. */
struct ta_store_count {
	unsigned long tokens, otp, throttle, sessions;
};

/* How ta_store_open treats the store it finds. */
enum {
	TA_STORE_OPEN_EXISTING = 0, /* an existing store, an older schema migrated */
	TA_STORE_OPEN_CREATE = 1,   /* a new one */
	TA_STORE_OPEN_CURRENT = 2,  /* an existing one at this schema, never migrated
	                               (a store copy's destination) */
	TA_STORE_OPEN_READONLY = 3, /* as CURRENT, and nothing written: not the
	                               journal mode, not a checkpoint (a store
	                               copy's source, which may be on read-only
	                               media; helper-53 F3) */
};

/*
 * Open (create, TA_STORE_OPEN_CREATE: also create the folder 0700 and the
 * file 0600, failing with TA_ERR_EXISTS if it exists).  Errors:
 * TA_ERR_NOT_FOUND (missing), TA_ERR_INSECURE (symlink, owner, mode),
 * TA_ERR_CORRUPT (not our store, damaged, or a newer schema),
 * TA_ERR_CONFIG (TA_STORE_OPEN_CURRENT: an older schema, not migrated),
 * TA_ERR_UNAVAILABLE.  err names the path.
 */
int ta_store_open(const char *path, int create, ta_store **out, char *err, size_t errlen);
void ta_store_close(ta_store *st);

/*
 * For long-lived hosts that open the store per login: like
 * ta_store_open(path, 0, ...), but may hand out an idle handle of this
 * process that ta_store_release() kept (at most 8).  One is reused only
 * for the same path still naming the same file (device and inode), after
 * the checks a fresh open makes (folders; the open file's type, owner and
 * mode; its schema); otherwise it is closed and a fresh open decides.  A
 * handle goes to one caller at a time.  A forked child never reuses, nor
 * closes, handles of its parent.  Same errors as ta_store_open.
 */
int ta_store_open_shared(const char *path, ta_store **out, char *err, size_t errlen);
/*
 * Give a handle (from either open) back: its transaction is rolled back,
 * its throttle cap restored, and it is kept for reuse or closed.  NULL is
 * ignored.  The caller must not use st afterwards.
 */
void ta_store_release(ta_store *st);

/* Schema version of the open store (after migration). */
int ta_store_schema(ta_store *st);

/* Write transaction.  commit/rollback are safe to call without begin. */
int ta_store_begin(ta_store *st);
/*
 * A write transaction for one user's rows: it serialises with every other
 * ta_store_begin_user() of the same (user, tenant) and with every
 * ta_store_begin(), not with other users' (SQLite: ta_store_begin).  The
 * lock is held before the first read, so a read-modify-write of the
 * user's throttle or OTP row inside it sees no other writer of that row.
 * Write only that user's rows in it (ta_store_throttle_put may also make
 * room in the throttle table; it takes what the cap needs itself).
 */
int ta_store_begin_user(ta_store *st, const char *user, const char *tenant);
int ta_store_commit(ta_store *st);
void ta_store_rollback(ta_store *st);

/*
 * A read-only transaction on one consistent snapshot, ended by commit or
 * rollback.  Nothing may be written inside it.
 */
int ta_store_begin_read(ta_store *st);

/*
 * The reads that follow, until the next write, transaction, commit,
 * rollback, ta_store_snapshot_end or release, share one snapshot: one
 * lock for several reads (SQLite; a no-op where the engine has none).  A
 * write ends it first, so nothing is written from a snapshot.  Hold it
 * for microseconds, never across a network call or a prompt: it keeps
 * the log from being checkpointed, and it does not see newer writes.
 * ta_store_open_shared may hand out a handle with one open.
 */
int ta_store_snapshot(ta_store *st);
void ta_store_snapshot_end(ta_store *st);
/* 0 when st can no longer be used (a transaction the engine could not
 * end: every statement fails); give it up (release) for a fresh open. */
int ta_store_usable(ta_store *st);

/* Message of the engine's last error, for logs. */
const char *ta_store_errmsg(ta_store *st);

int ta_store_token_insert(ta_store *st, const uint8_t hash[TA_SHA256_LEN],
                          const struct ta_token_row *row);
/* Find by hash.  want_params: also load params (caller frees row->params). */
int ta_store_token_find(ta_store *st, const uint8_t hash[TA_SHA256_LEN], int want_params,
                        struct ta_token_row *row);
int ta_store_token_revoke_id(ta_store *st, const char *id, int64_t now);
/*
 * Arguments: st, user and tenant are required (TA_ERR_INPUT when NULL or
 * longer than TA_MAX_USER / TA_MAX_TENANT) except where NULL is said to
 * mean "all"; *count and similar outputs may be NULL.
 */
/* tenant NULL: every tenant.  *count receives the number revoked. */
int ta_store_token_revoke_user(ta_store *st, const char *user, const char *tenant, int64_t now,
                               unsigned *count);
/* user NULL: all.  cb's row is valid only during the call. */
int ta_store_token_list(ta_store *st, const char *user,
                        int (*cb)(void *arg, const struct ta_token_row *row), void *arg);

/* *has = 1 when user/tenant has any token (active or not) or OTP secret. */
int ta_store_has_credential(ta_store *st, const char *user, const char *tenant, int *has);

int ta_store_otp_get(ta_store *st, const char *user, const char *tenant, struct ta_otp_row *row);
/* TA_ERR_INPUT when row->next > TA_OTP_COUNTER_MAX or no sealed secret;
 * TA_ERR_EXISTS without replace. */
int ta_store_otp_put(ta_store *st, const char *user, const char *tenant,
                     const struct ta_otp_row *row, int replace);
/*
 * Move the counter/step forward only (never back), to at most INT64_MAX.
 * TA_ERR_REPLAY when next is 0, beyond INT64_MAX, or not past the stored
 * value (another login took that code first).
 */
int ta_store_otp_advance(ta_store *st, const char *user, const char *tenant, uint64_t next);
int ta_store_otp_delete(ta_store *st, const char *user, const char *tenant);
int ta_store_otp_list(ta_store *st, const char *user,
                      int (*cb)(void *arg, const char *user, const char *tenant,
                                const struct ta_otp_row *row),
                      void *arg);

int ta_store_throttle_get(ta_store *st, const char *user, const char *tenant,
                          struct ta_throttle *t);
_Static_assert(TA_THROTTLE_EVICT_AGE == 3600 && TA_THROTTLE_IDLE == 86400,
               "TA_THROTTLE_EVICT_SQL and the throttle_evict index say 3600 and 86400");

/* Whether a row's counts fit 0..INT32_MAX and its times 0..TA_STORE_TIME_MAX. */
int ta_throttle_row_ok(const struct ta_throttle *t, int64_t updated);

/*
 * Write a user's throttle row at time now.  Streaks idle for
 * TA_THROTTLE_IDLE seconds and not locked are forgotten.  With capped (a
 * user not enrolled here, known only to a remote backend) the row is
 * marked as such and those rows are bounded: at the cap a new one takes
 * the place of the one of theirs that may go first: unwritten for
 * TA_THROTTLE_EVICT_AGE seconds and unlocked for that long doubled per
 * lockout it holds, at most a day (TA_THROTTLE_EVICT_SQL); when there is
 * none it returns TA_ERR_EXISTS and writes nothing.  Enrolled users are
 * never refused a row, and their rows are never given up.  now and
 * t->locked_until outside 0..TA_STORE_TIME_MAX, or counts past INT32_MAX,
 * are TA_ERR_INPUT.
 */
int ta_store_throttle_put(ta_store *st, const char *user, const char *tenant,
                          const struct ta_throttle *t, int64_t now, int capped);
/* For tests: lower the cap (0 restores TA_THROTTLE_MAX). */
void ta_store_set_throttle_cap(ta_store *st, unsigned long cap);
/* tenant NULL: every tenant of user.  *count: rows cleared. */
int ta_store_throttle_clear(ta_store *st, const char *user, const char *tenant, unsigned *count);

/*
 * Record a use of token id at now, coarsely: writes only when the stored
 * last_used is older than now - TA_LAST_USED_STEP (one conditional UPDATE),
 * so callers that already read the row call it only when row.last_used is
 * that old, and a check stays write-free within the hour.  TA_OK also when
 * nothing needed writing.
 */
int ta_store_token_touch(ta_store *st, const char *id, int64_t now);

/* ---- portal sessions (schema 4) ----------------------------------------------
 *
 * Keyed by the SHA-256 of the session id; the id itself is never stored.
 * put: TA_ERR_EXISTS for a hash already there.  get: TA_ERR_NOT_FOUND when
 * absent.  touch: seen = now.  purge: removes sessions seen before
 * seen_before or created before created_before; *count may be NULL.
 */
int ta_store_session_put(ta_store *st, const uint8_t hash[TA_SHA256_LEN], const char *user,
                         const char *tenant, int64_t now);
int ta_store_session_get(ta_store *st, const uint8_t hash[TA_SHA256_LEN],
                         struct ta_session_row *row);
int ta_store_session_touch(ta_store *st, const uint8_t hash[TA_SHA256_LEN], int64_t now);
int ta_store_session_delete(ta_store *st, const uint8_t hash[TA_SHA256_LEN]);
int ta_store_session_purge(ta_store *st, int64_t seen_before, int64_t created_before,
                           unsigned *count);

/* ---- copying a whole store (tokenauth store copy; never the verify path) ----
 *
 * Rows exactly as stored: token hashes, sealed OTP secrets (never unsealed),
 * counters, throttle rows with their update time.  The dumps walk every
 * row until the end, an error, or a callback's non-zero return (returned);
 * a row that does not fit our records whole is TA_ERR_CORRUPT.  The rows
 * given to a callback are valid only during the call.  The puts check
 * what ta_store_token_insert / ta_store_otp_put check, except that a
 * token keeps its revoked time and an OTP counter may be anything up to
 * INT64_MAX (advanced rows); replace: the source's row takes the place of
 * one with the same key (a token's hash or id), else TA_ERR_EXISTS.
 */
int ta_store_count_rows(ta_store *st, struct ta_store_count *n);
int ta_store_token_dump(ta_store *st,
                        int (*cb)(void *arg, const uint8_t hash[TA_SHA256_LEN],
                                  const struct ta_token_row *row),
                        void *arg);
int ta_store_throttle_dump(ta_store *st,
                           int (*cb)(void *arg, const char *user, const char *tenant,
                                     const struct ta_throttle_row *t),
                           void *arg);
int ta_store_token_put(ta_store *st, const uint8_t hash[TA_SHA256_LEN],
                       const struct ta_token_row *row, int replace);
int ta_store_otp_copy(ta_store *st, const char *user, const char *tenant,
                      const struct ta_otp_row *row, int replace);
int ta_store_throttle_row_put(ta_store *st, const char *user, const char *tenant,
                              const struct ta_throttle_row *t, int replace);

/*
 * *same = 1 when the two store names are one store by identity: the same
 * engine and the same file (the SQLite file, or the PostgreSQL DSN file;
 * lstat and stat both compared, so a link to the other counts).  Opens
 * nothing.  A name that does not exist yet is not the same as any.
 */
int ta_store_same(const char *a, const char *b, int *same, char *err, size_t errlen);

#endif
