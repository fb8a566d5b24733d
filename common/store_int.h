/*
 * store_int.h - the store engine interface (STYLE 2): one ops table per
 * engine, dispatched by store.c.  A new engine is one new file that fills
 * a struct ta_store_ops and is named in engine_for() in store.c.
 *
 * store.c owns everything that does not depend on the engine: argument
 * checks, the transaction flag, the list loops and the pool of open
 * handles.  An engine owns its connection, its queries and its schema.
 */
#ifndef TA_STORE_INT_H
#define TA_STORE_INT_H

#include <sys/stat.h>
#include <sys/types.h>

#include "store.h"

/* Identity of what a handle has open; a pooled handle is reused only for
 * the same path naming the same identity.  Engines without files use 0/0.
 * seen is the whole lstat() that identify took (ta_store_file_id), for
 * the engine's recheck; only dev and ino are the identity. */
struct ta_store_id {
	dev_t dev;
	ino_t ino;
	struct stat seen;
};

/*
 * The engine-independent head of every handle.  An engine allocates its
 * own struct with this as its first member and casts back (one thread per
 * handle, so nothing here is locked).
 */
struct ta_store {
	const struct ta_store_ops *ops;
	char *path;                 /* as given to open; set by store.c */
	struct ta_store_id id;      /* set by the engine's open */
	pid_t pid;                  /* process that opened it; set by store.c */
	int schema;                 /* set by the engine's open */
	int in_txn;                 /* between begin and commit/rollback; store.c */
	int in_snapshot;            /* a read snapshot is open (store.h); set by
	                             * store.c or by the engine's recheck */
	unsigned long reuses;       /* times taken from the pool; store.c */
	unsigned long throttle_cap; /* most capped throttle rows; store.c */
	struct ta_store *next;      /* pool list; store.c */
};

/*
 * What a list walks.  The _ALL kinds are for ta_store_copy_*() only (never
 * the verify path): every row, the token's hash and the throttle rows
 * included, and a row that does not fit our records whole (a name or id
 * too long, a hash not TA_SHA256_LEN bytes) is TA_ERR_CORRUPT, never cut.
 */
enum ta_store_list {
	TA_STORE_LIST_TOKENS,
	TA_STORE_LIST_OTP,
	TA_STORE_LIST_TOKENS_ALL, /* user is NULL */
	TA_STORE_LIST_THROTTLE_ALL
};

/* One row of a list.  Pointers are valid until the next list_next call;
 * token.params is owned by the caller of list_next (store.c frees it). */
struct ta_store_item {
	const char *user, *tenant;    /* TA_STORE_LIST_OTP, _THROTTLE_ALL */
	struct ta_token_row token;    /* TA_STORE_LIST_TOKENS, _TOKENS_ALL */
	uint8_t hash[TA_SHA256_LEN];  /* TA_STORE_LIST_TOKENS_ALL */
	struct ta_otp_row otp;        /* TA_STORE_LIST_OTP */
	struct ta_throttle_row thr;   /* TA_STORE_LIST_THROTTLE_ALL */
};

/*
 * Arguments reach an engine already checked by store.c: st and the
 * pointers the header does not allow to be NULL are non-NULL, names fit
 * TA_MAX_USER / TA_MAX_TENANT, OTP counters and sealed lengths are in
 * range.  Returns and errors are those of the matching store.h function.
 */
struct ta_store_ops {
	const char *name;
	/* Open as ta_store_open; fills id and schema of the handle it allocates. */
	int (*open)(const char *path, int create, ta_store **out, char *err, size_t errlen);
	/* Close and free the handle (store.c has freed path). */
	void (*close)(ta_store *st);
	/*
	 * Checks a fresh open would make on path before it opens anything
	 * (folders, the entry not being replaced): the identity path names now.
	 */
	int (*identify)(const char *path, struct ta_store_id *id, char *err, size_t errlen);
	/* The rest of a fresh open's checks, on a pooled handle about to be
	 * reused (now: what identify saw): TA_OK to reuse it, anything else to
	 * close it.  It may leave the read snapshot its checks read in open
	 * (and set st->in_snapshot), for the caller's first reads. */
	int (*recheck)(ta_store *st, const char *path, const struct ta_store_id *now, char *err,
	               size_t errlen);
	/* Bring a handle to rest before it is pooled (no transaction, no busy
	 * statement; a large log trimmed while the handle was never reused,
	 * see store_sqlite.c): TA_OK if it may be pooled. */
	int (*idle)(ta_store *st);
	const char *(*errmsg)(ta_store *st);

	int (*begin)(ta_store *st);
	/* As begin, locking only what one (user, tenant) needs (store.h). */
	int (*begin_user)(ta_store *st, const char *user, const char *tenant);
	/* A read-only transaction on one snapshot (for a copy's source). */
	int (*begin_read)(ta_store *st);
	/* Optional: a read transaction for the next reads (ta_store_snapshot),
	 * ended by rollback.  NULL: reads run on their own. */
	int (*snapshot)(ta_store *st);
	/* Optional: the open snapshot made the transaction begin_user would
	 * begin, reading the newest rows under its locks.  On an error the
	 * snapshot may still be open: the caller ends it and begins afresh. */
	int (*upgrade)(ta_store *st);
	/* Optional: non-zero when the handle can no longer be used (a
	 * transaction it could not end); NULL: always usable. */
	int (*stuck)(ta_store *st);
	int (*commit)(ta_store *st);
	void (*rollback)(ta_store *st);
	/* How many rows each table holds. */
	int (*count)(ta_store *st, struct ta_store_count *n);

	/* Every column as given (revoked too; ta_store_token_insert passes 0);
	 * replace: a row with the same hash or the same id gives way, else
	 * either is TA_ERR_EXISTS (without aborting an open transaction). */
	int (*token_put)(ta_store *st, const uint8_t hash[TA_SHA256_LEN],
	                 const struct ta_token_row *row, int replace);
	int (*token_find)(ta_store *st, const uint8_t hash[TA_SHA256_LEN], int want_params,
	                  struct ta_token_row *row);
	int (*token_revoke_id)(ta_store *st, const char *id, int64_t now);
	int (*token_revoke_user)(ta_store *st, const char *user, const char *tenant, int64_t now,
	                         unsigned *count);
	int (*has_credential)(ta_store *st, const char *user, const char *tenant, int *has);

	/* Lists: list_next returns 1 with a row in *it, 0 at the end, or an error. */
	int (*list_open)(ta_store *st, enum ta_store_list what, const char *user, void **cur);
	int (*list_next)(void *cur, struct ta_store_item *it);
	void (*list_close)(void *cur);

	int (*otp_get)(ta_store *st, const char *user, const char *tenant, struct ta_otp_row *row);
	int (*otp_put)(ta_store *st, const char *user, const char *tenant,
	               const struct ta_otp_row *row, int replace);
	int (*otp_advance)(ta_store *st, const char *user, const char *tenant, uint64_t next);
	int (*otp_delete)(ta_store *st, const char *user, const char *tenant);

	int (*throttle_get)(ta_store *st, const char *user, const char *tenant,
	                    struct ta_throttle *t);
	/* Honours st->throttle_cap for capped rows. */
	int (*throttle_put)(ta_store *st, const char *user, const char *tenant,
	                    const struct ta_throttle *t, int64_t now, int capped);
	/* The row as given, updated included; no expiry, no cap.  Without
	 * replace an existing row is TA_ERR_EXISTS. */
	int (*throttle_row_put)(ta_store *st, const char *user, const char *tenant,
	                        const struct ta_throttle_row *t, int replace);
	int (*throttle_clear)(ta_store *st, const char *user, const char *tenant, unsigned *count);

	/* schema 4: coarse last use, portal sessions (store.h) */
	int (*token_touch)(ta_store *st, const char *id, int64_t now);
	int (*session_put)(ta_store *st, const uint8_t hash[TA_SHA256_LEN], const char *user,
	                   const char *tenant, int64_t now);
	int (*session_get)(ta_store *st, const uint8_t hash[TA_SHA256_LEN],
	                   struct ta_session_row *row);
	int (*session_touch)(ta_store *st, const uint8_t hash[TA_SHA256_LEN], int64_t now);
	int (*session_delete)(ta_store *st, const uint8_t hash[TA_SHA256_LEN]);
	int (*session_purge)(ta_store *st, int64_t seen_before, int64_t created_before,
	                     unsigned *count);
};

extern const struct ta_store_ops ta_store_sqlite;
extern const struct ta_store_ops ta_store_postgresql;

/* The device and inode file names now (lstat: a link is its own file). */
int ta_store_file_id(const char *file, struct ta_store_id *id, char *err, size_t errlen);
/* The refusal of an older schema by TA_STORE_OPEN_CURRENT, in err. */
void ta_store_old_schema(int version, char *err, size_t errlen);

#endif
