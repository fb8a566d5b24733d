/*
 * store_sqlite.c - the SQLite store engine: file checks, schema,
 * migrations and the queries.
 *
 * Opening a current store is kept cheap (hosts open one per login): the
 * file and folder checks, sqlite3_open, the per-connection settings (API
 * calls and two pragmas that need no schema), and one read of the
 * application id and user_version.  WAL mode is persistent in the file and
 * set only when its header says otherwise; statements are prepared on
 * first use and cached in the handle.
 */
#define _GNU_SOURCE /* O_PATH */
#include "file.h"
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <sqlite3.h>

#define APP_ID      0x546b4175   /* "TkAu": marks a tokenauth store */
#define TA_WAL_TRIM (256 * 1024) /* WAL bytes a close leaves alone */

/* when a capped row may go (store.h), as the index and the query both say it */
#define SQ_EVICT_AT TA_THROTTLE_EVICT_SQL("max", "min", "")
/* a column in 0..max, as schema 7 brings it: an integer out of range to
 * the nearer bound; anything else (text, a blob, a real: SQLite's type
 * order puts them above every integer, so min() would make them the
 * upper bound, a lock until 9999: helper-54 F2) to 0 */
#define SQ_CLAMP(col, max)                                                                         \
	"(CASE WHEN typeof(" col ")='integer' THEN min(max(" col ",0)," max ") ELSE 0 END)"
#define SQ_OUT(col, max) "(typeof(" col ")<>'integer' OR " col " NOT BETWEEN 0 AND " max ")"

enum {
	Q_TOKEN_FIND,
	Q_TOKEN_FIND_P,
	Q_TOKEN_REVOKE_ID,
	Q_TOKEN_ID_EXISTS,
	Q_TOKEN_REVOKE_USER,
	Q_TOKEN_REVOKE_USER_T,
	Q_HAS_CRED,
	Q_OTP_GET,
	Q_OTP_INSERT,
	Q_OTP_REPLACE,
	Q_OTP_ADVANCE,
	Q_OTP_DELETE,
	Q_THROTTLE_GET,
	Q_THROTTLE_PUT,
	Q_THROTTLE_EXPIRE,
	Q_THROTTLE_HAS,
	Q_THROTTLE_COUNT,
	Q_THROTTLE_EVICT,
	Q_THROTTLE_CLEAR,
	Q_THROTTLE_CLEAR_T,
	Q_VERSION,
	Q_BEGIN_WRITE,
	Q_BEGIN_SNAPSHOT,
	Q_UPGRADE,
	Q_COMMIT,
	Q_ROLLBACK,
	Q_ROWS,
	Q_TOKEN_PUT,
	Q_TOKEN_PUT_CLEAR,
	Q_THROTTLE_ROW_INSERT,
	Q_TOKEN_TOUCH,
	Q_SESSION_PUT,
	Q_SESSION_GET,
	Q_SESSION_TOUCH,
	Q_SESSION_DELETE,
	Q_SESSION_PURGE,
	Q_COUNT
};

static const char *const queries[Q_COUNT] = {
    [Q_TOKEN_FIND] = "SELECT id,user,tenant,kind,created,expires,revoked,NULL,label,last_used "
                     "FROM tokens WHERE hash=?",
    [Q_TOKEN_FIND_P] = "SELECT id,user,tenant,kind,created,expires,revoked,params,label,"
                       "last_used FROM tokens WHERE hash=?",
    [Q_TOKEN_REVOKE_ID] = "UPDATE tokens SET revoked=?1 WHERE id=?2 AND revoked=0",
    [Q_TOKEN_ID_EXISTS] = "SELECT 1 FROM tokens WHERE id=?",
    [Q_TOKEN_REVOKE_USER] = "UPDATE tokens SET revoked=?1 WHERE user=?2 AND revoked=0",
    [Q_TOKEN_REVOKE_USER_T] = "UPDATE tokens SET revoked=?1 WHERE user=?2 AND tenant=?3 AND "
                              "revoked=0",
    [Q_HAS_CRED] = "SELECT EXISTS(SELECT 1 FROM tokens WHERE user=?1 AND tenant=?2) OR "
                   "EXISTS(SELECT 1 FROM otp WHERE user=?1 AND tenant=?2)",
    [Q_OTP_GET] = "SELECT type,alg,digits,period,next,created,secret FROM otp WHERE user=? AND "
                  "tenant=?",
    [Q_OTP_INSERT] = "INSERT INTO otp(user,tenant,type,alg,digits,period,next,created,secret) "
                     "VALUES(?,?,?,?,?,?,?,?,?)",
    [Q_OTP_REPLACE] = "INSERT OR REPLACE INTO otp(user,tenant,type,alg,digits,period,next,"
                      "created,secret) VALUES(?,?,?,?,?,?,?,?,?)",
    /* sq_otp_advance() binds only 1..INT64_MAX and rows hold only
     * 0..INT64_MAX, so the signed "<" here orders them as unsigned values. */
    [Q_OTP_ADVANCE] = "UPDATE otp SET next=?3 WHERE user=?1 AND tenant=?2 AND next>=0 AND "
                      "next<?3",
    [Q_OTP_DELETE] = "DELETE FROM otp WHERE user=? AND tenant=?",
    [Q_THROTTLE_GET] = "SELECT failures,lockouts,locked_until FROM throttle WHERE user=? AND "
                       "tenant=?",
    [Q_THROTTLE_PUT] = "INSERT INTO throttle(user,tenant,failures,lockouts,locked_until,updated,"
                       "capped) VALUES(?1,?2,?3,?4,?5,?6,?7) ON CONFLICT(user,tenant) DO "
                       "UPDATE SET failures=?3,lockouts=?4,locked_until=?5,updated=?6,"
                       "capped=?7",
    /* a failure streak is forgotten a day after its last failure, never while locked */
    [Q_THROTTLE_EXPIRE] = "DELETE FROM throttle WHERE (user,tenant) IN (SELECT user,tenant FROM "
                          "throttle WHERE updated<?1 AND locked_until<=?2 ORDER BY updated "
                          "LIMIT 8)",
    [Q_THROTTLE_HAS] = "SELECT 1 FROM throttle WHERE user=? AND tenant=?",
    /* the cap bounds the rows of users not enrolled here (capped=1, as
     * written); an enrolled user has at most one row per name.  One row,
     * kept by triggers (schema 5) */
    [Q_THROTTLE_COUNT] = "SELECT n FROM throttle_cap_count",
    /* a full table gives up an unlocked row of a user not enrolled here,
     * the one whose time to go came first (SQ_EVICT_AT): an hour
     * (TA_THROTTLE_EVICT_AGE) after its last failure, so that washing out
     * a streak with new names costs time, not only requests (L names kept
     * locked shrink the rows that may go to 100,000 - L: helper-50 F1),
     * and the hour doubled per lockout held (at most a day) after its
     * lockout's end, which the wash-out would otherwise reset (helper-51;
     * a lockout that ran out ranks as a write at its end: a made-up name
     * locked once must not outlast a real user's newer streak, review of
     * schema 5).  The doubling counts from the lockout's end only (schema
     * 7): counted from the last write, one failure a day kept a row with
     * five lockouts for good (helper-53 F1).  ?1 is now.  A locked row is never given up, nor an
     * enrolled user's streak (made-up names must not push out the count
     * of a real user's guesses).  One seek in throttle_evict, however many
     * rows are locked or enrolled (before schema 5: a scan of them). */
    [Q_THROTTLE_EVICT] = "DELETE FROM throttle WHERE (user,tenant) IN (SELECT user,tenant FROM "
                         "throttle INDEXED BY throttle_evict WHERE capped=1 AND " SQ_EVICT_AT
                         "<=?1 ORDER BY " SQ_EVICT_AT " LIMIT 1)",
    [Q_THROTTLE_CLEAR] = "DELETE FROM throttle WHERE user=?",
    [Q_THROTTLE_CLEAR_T] = "DELETE FROM throttle WHERE user=? AND tenant=?",
    [Q_VERSION] = "PRAGMA user_version",
    /* transactions, as cached statements: no parse on every login */
    [Q_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [Q_BEGIN_SNAPSHOT] = "BEGIN DEFERRED",
    /* a write that changes nothing: it takes the write lock (sq_upgrade) */
    [Q_UPGRADE] = "DELETE FROM tokens WHERE 0",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    /* the copy path (tokenauth store copy): whole rows, as given */
    [Q_ROWS] = "SELECT (SELECT count(*) FROM tokens),(SELECT count(*) FROM otp),"
               "(SELECT count(*) FROM throttle),(SELECT count(*) FROM sessions)",
    [Q_TOKEN_PUT] = "INSERT INTO tokens(hash,id,user,tenant,kind,created,expires,revoked,"
                    "params,label,last_used) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
    [Q_TOKEN_PUT_CLEAR] = "DELETE FROM tokens WHERE hash=?1 OR id=?2",
    [Q_THROTTLE_ROW_INSERT] = "INSERT INTO throttle(user,tenant,failures,lockouts,locked_until,"
                              "updated,capped) VALUES(?1,?2,?3,?4,?5,?6,?7)",
    /* the conditional write: within the hour a use writes nothing */
    [Q_TOKEN_TOUCH] = "UPDATE tokens SET last_used=?1 WHERE id=?2 AND last_used<=?1-?3",
    [Q_SESSION_PUT] = "INSERT INTO sessions(hash,user,tenant,created,seen) VALUES(?1,?2,?3,?4,?4)",
    [Q_SESSION_GET] = "SELECT user,tenant,created,seen FROM sessions WHERE hash=?",
    [Q_SESSION_TOUCH] = "UPDATE sessions SET seen=?2 WHERE hash=?1",
    [Q_SESSION_DELETE] = "DELETE FROM sessions WHERE hash=?",
    [Q_SESSION_PURGE] = "DELETE FROM sessions WHERE seen<?1 OR created<?2",
};

struct sq_store {
	struct ta_store base; /* first: handles are cast back and forth */
	sqlite3 *db;
	sqlite3_stmt *q[Q_COUNT]; /* prepared on first use */
	int fd, dirfd; /* O_PATH descriptors of the file and its folder, for reuse checks */
	int stuck;     /* a ROLLBACK failed: still in a transaction, never used again */
	int ro;        /* opened read-only (TA_STORE_OPEN_READONLY) */
};

/* Schema steps: migrations[i] brings a store from version i to i + 1. */
/* one string per step, laid out as SQL */
/* clang-format off */
static const char *const migrations[TA_STORE_SCHEMA] = {
    /* 0 -> 1: the first schema */
    "CREATE TABLE tokens(hash BLOB PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    " user TEXT NOT NULL, tenant TEXT NOT NULL, kind INTEGER NOT NULL,"
    " created INTEGER NOT NULL, expires INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0)"
    " WITHOUT ROWID;"
    "CREATE INDEX tokens_user ON tokens(user, tenant);"
    "CREATE TABLE otp(user TEXT NOT NULL, tenant TEXT NOT NULL, type INTEGER NOT NULL,"
    " alg INTEGER NOT NULL, digits INTEGER NOT NULL, period INTEGER NOT NULL,"
    " next INTEGER NOT NULL, created INTEGER NOT NULL, secret BLOB NOT NULL,"
    " PRIMARY KEY(user, tenant)) WITHOUT ROWID;"
    "CREATE TABLE throttle(user TEXT NOT NULL, tenant TEXT NOT NULL,"
    " failures INTEGER NOT NULL, locked_until INTEGER NOT NULL,"
    " PRIMARY KEY(user, tenant)) WITHOUT ROWID;",
    /* 1 -> 2: bound parameters (seed 004) and lockout doubling */
    "ALTER TABLE tokens ADD COLUMN params TEXT;"
    "ALTER TABLE throttle ADD COLUMN lockouts INTEGER NOT NULL DEFAULT 0;",
    /* 2 -> 3: throttle rows for users only a remote backend knows, expired and capped */
    "ALTER TABLE throttle ADD COLUMN updated INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX throttle_updated ON throttle(updated);",
    /* 3 -> 4: token labels and coarse last use; portal sessions (by id hash) */
    "ALTER TABLE tokens ADD COLUMN label TEXT;"
    "ALTER TABLE tokens ADD COLUMN last_used INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE sessions(hash BLOB PRIMARY KEY, user TEXT NOT NULL, tenant TEXT NOT NULL,"
    " created INTEGER NOT NULL, seen INTEGER NOT NULL);"
    "CREATE INDEX sessions_seen ON sessions(seen);",
    /* 4 -> 5: which throttle rows live under the cap, written with the row,
     * so that a full table counts and evicts through one partial index */
    "ALTER TABLE throttle ADD COLUMN capped INTEGER NOT NULL DEFAULT 0 CHECK(capped IN (0,1));"
    "UPDATE throttle SET capped=1 WHERE NOT EXISTS(SELECT 1 FROM otp o WHERE "
    " o.user=throttle.user AND o.tenant=throttle.tenant) AND NOT EXISTS(SELECT 1 FROM tokens k"
    " WHERE k.user=throttle.user AND k.tenant=throttle.tenant);"
    "CREATE INDEX throttle_capped ON throttle(capped, max(locked_until, updated)) WHERE "
    "capped=1;"
    /* a user enrolled here (by any path: issue, enroll, import, copy) is
     * one from then on: the row's flag must not wait for the next failure */
    "CREATE TRIGGER throttle_enrolled_otp AFTER INSERT ON otp BEGIN UPDATE throttle SET "
    " capped=0 WHERE user=NEW.user AND tenant=NEW.tenant AND capped=1; END;"
    "CREATE TRIGGER throttle_enrolled_token AFTER INSERT ON tokens BEGIN UPDATE throttle SET "
    " capped=0 WHERE user=NEW.user AND tenant=NEW.tenant AND capped=1; END;"
    /* how many rows are capped, kept by triggers in the statements that
     * change it: the cap's check is one row, not a walk of them all (review
     * of schema 5: 2.4 ms a new capped row at 100,000, under the write lock) */
    "CREATE TABLE throttle_cap_count(n INTEGER NOT NULL);"
    "INSERT INTO throttle_cap_count SELECT count(*) FROM throttle WHERE capped=1;"
    "CREATE TRIGGER throttle_capped_ins AFTER INSERT ON throttle WHEN NEW.capped=1 BEGIN "
    " UPDATE throttle_cap_count SET n=n+1; END;"
    "CREATE TRIGGER throttle_capped_del AFTER DELETE ON throttle WHEN OLD.capped=1 BEGIN "
    " UPDATE throttle_cap_count SET n=n-1; END;"
    "CREATE TRIGGER throttle_capped_upd AFTER UPDATE OF capped ON throttle WHEN "
    " OLD.capped<>NEW.capped BEGIN UPDATE throttle_cap_count SET n=n+NEW.capped-OLD.capped; "
    " END;",
    /* 5 -> 6: a capped row goes an hour after its last write or lockout
     * end, doubled per lockout it holds (helper-50, helper-51).  Schema
     * 6's index, throttle_evict, ranked by max(locked_until, updated) plus
     * the doubled hour; 6 -> 7 replaces it in the same transaction, so it
     * is made there only, after the rows it adds to are in range */
    "DROP INDEX throttle_capped;",
    /* 6 -> 7: the doubled wait counts from the lockout's end only, the
     * plain hour from the last write (helper-53 F1); times and counts that
     * no program wrote (a tampered file, an old copy) are brought into the
     * range the new rank adds to without overflow (helper-53 F4) */
    "UPDATE throttle SET locked_until=" SQ_CLAMP("locked_until", TA_STORE_TIME_MAX_S) ","
    " updated=" SQ_CLAMP("updated", TA_STORE_TIME_MAX_S) ","
    " lockouts=" SQ_CLAMP("lockouts", "2147483647") ","
    " failures=" SQ_CLAMP("failures", "2147483647")
    " WHERE " SQ_OUT("locked_until", TA_STORE_TIME_MAX_S) " OR " SQ_OUT("updated", TA_STORE_TIME_MAX_S)
    " OR " SQ_OUT("lockouts", "2147483647") " OR " SQ_OUT("failures", "2147483647") ";"
    "DROP INDEX IF EXISTS throttle_evict;"
    "CREATE INDEX throttle_evict ON throttle(capped, " SQ_EVICT_AT ") WHERE capped=1;",
};
/* clang-format on */

static struct sq_store *SQ(ta_store *st)
{
	return (struct sq_store *)st;
}

static int map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW: return TA_OK;
	case SQLITE_NOMEM: return TA_ERR_NOMEM;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_FORMAT:
	case SQLITE_SCHEMA: return TA_ERR_CORRUPT;
	case SQLITE_CONSTRAINT: return TA_ERR_EXISTS;
	default: return TA_ERR_UNAVAILABLE;
	}
}

/*
 * A transaction the caller began that SQLite has ended by itself (it rolls
 * back on some out-of-memory and I/O errors): the statements meant for it
 * must not run on their own, each committed at once outside the caller's
 * lock and atomicity.  They fail, as the transaction's COMMIT then does.
 */
static int txn_lost(const struct sq_store *s)
{
	return s->base.in_txn && sqlite3_get_autocommit(s->db);
}

static int exec(struct sq_store *s, const char *sql)
{
	if (s->stuck || txn_lost(s)) /* see sq_rollback */
		return TA_ERR_UNAVAILABLE;
	return map_rc(sqlite3_exec(s->db, sql, NULL, NULL, NULL));
}

/*
 * The cached statement q, prepared on first use.  A query of ours that
 * does not compile against an opened current store means its schema is
 * damaged (a table or column missing): TA_ERR_CORRUPT, as opening it did
 * when every statement was prepared up front.
 */
static int stmt(struct sq_store *s, int q, sqlite3_stmt **out)
{
	int rc;

	if (s->stuck) /* every statement would run in the old transaction */
		return TA_ERR_UNAVAILABLE;
	if (txn_lost(s)) /* sqlite3_errmsg still says why */
		return TA_ERR_UNAVAILABLE;
	if (s->q[q] == NULL) {
		rc = sqlite3_prepare_v3(s->db, queries[q], -1, SQLITE_PREPARE_PERSISTENT, &s->q[q],
		                        NULL);
		if (rc != SQLITE_OK)
			return (rc & 0xff) == SQLITE_ERROR ? TA_ERR_CORRUPT : map_rc(rc);
	}
	*out = s->q[q];
	return TA_OK;
}

/* Reset and clear a cached statement after use. */
static void done(sqlite3_stmt *q)
{
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
}

static int bind_text(sqlite3_stmt *q, int i, const char *v)
{
	return sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC) == SQLITE_OK ? TA_OK : TA_ERR_NOMEM;
}

static int bind_user_tenant(sqlite3_stmt *q, const char *user, const char *tenant)
{
	int r = bind_text(q, 1, user);

	return r == TA_OK && tenant != NULL ? bind_text(q, 2, tenant) : r;
}

/* Statement k with ?1 = user and ?2 = tenant bound; done(*q) when finished. */
static int stmt_for(struct sq_store *s, int k, const char *user, const char *tenant,
                    sqlite3_stmt **q)
{
	int r = stmt(s, k, q);

	if (r == TA_OK && (r = bind_user_tenant(*q, user, tenant)) != TA_OK) {
		done(*q);
		*q = NULL;
	}
	return r;
}

/* Step a bound statement that returns no rows; *changes: rows it changed. */
static int step_done(struct sq_store *s, sqlite3_stmt *q, unsigned *changes)
{
	int rc = sqlite3_step(q);

	if (changes != NULL)
		*changes = rc == SQLITE_DONE ? (unsigned)sqlite3_changes(s->db) : 0;
	done(q);
	return rc == SQLITE_DONE ? TA_OK : rc == SQLITE_ROW ? TA_ERR_UNAVAILABLE : map_rc(rc);
}

/* ---- transactions -------------------------------------------------------- */

static const char *sq_errmsg(ta_store *st)
{
	if (SQ(st)->stuck)
		return "a transaction of this connection could not be ended";
	return SQ(st)->db ? sqlite3_errmsg(SQ(st)->db) : "no store";
}

/* Step cached statement k, which has no parameters and returns no rows. */
static int run_cached(struct sq_store *s, int k)
{
	sqlite3_stmt *q = NULL;
	int r = stmt(s, k, &q), rc;

	if (r != TA_OK)
		return r;
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? TA_OK : map_rc(rc == SQLITE_ROW ? SQLITE_ERROR : rc);
}

static int sq_begin(ta_store *st)
{
	return run_cached(SQ(st), Q_BEGIN_WRITE);
}

/* One file, one writer: a user's transaction is any writer's. */
static int sq_begin_user(ta_store *st, const char *user, const char *tenant)
{
	(void)user;
	(void)tenant;
	return sq_begin(st);
}

static void sq_rollback(ta_store *st);

/* BEGIN alone takes no snapshot yet: the first read does (in WAL mode a
 * reader then sees that one snapshot until the end, writers or not). */
static int sq_begin_read(ta_store *st)
{
	int r = exec(SQ(st), "BEGIN DEFERRED");

	if (r == TA_OK && (r = exec(SQ(st), "SELECT count(*) FROM sqlite_master")) != TA_OK)
		sq_rollback(st);
	return r;
}

/* BEGIN alone, for ta_store_snapshot: the first read takes the snapshot
 * (and the one read lock the reads share). */
static int sq_stuck(ta_store *st)
{
	return SQ(st)->stuck;
}

static int sq_snapshot(ta_store *st)
{
	return run_cached(SQ(st), Q_BEGIN_SNAPSHOT);
}

/*
 * The open snapshot made a writer's transaction, as BEGIN IMMEDIATE
 * makes one, without ending it and taking the locks again (two fcntl
 * calls less per charged login).  SQLite lets a read transaction write
 * only when no other connection writes (else SQLITE_BUSY, at once: the
 * busy handler is not asked, as waiting could deadlock) and when its
 * snapshot is the newest commit (else SQLITE_BUSY_SNAPSHOT), so a
 * transaction that upgraded reads the newest rows under the write lock,
 * as a fresh one does.  On any error the caller ends the snapshot and
 * begins afresh.
 */
static int sq_upgrade(ta_store *st)
{
	return run_cached(SQ(st), Q_UPGRADE);
}

static int sq_commit(ta_store *st)
{
	return run_cached(SQ(st), Q_COMMIT);
}

/*
 * End whatever transaction is open.  One that will not end (no memory for
 * the ROLLBACK) marks the handle stuck: its statements fail from then on,
 * rather than read an old snapshot or add to the open transaction, and it
 * is closed on release (sq_idle).
 */
static void sq_rollback(ta_store *st)
{
	struct sq_store *s = SQ(st);

	if (s->db == NULL || sqlite3_get_autocommit(s->db))
		return;
	if (run_cached(s, Q_ROLLBACK) != TA_OK && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	if (!sqlite3_get_autocommit(s->db))
		s->stuck = 1;
}

/* ---- opening ------------------------------------------------------------- */

static int pragma_int(struct sq_store *s, const char *sql, int *out)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);

	if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		*out = sqlite3_column_int(q, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(q);
	return map_rc(rc);
}

/* Read the marker and version; no lock is taken, and no schema is parsed. */
static int read_version(struct sq_store *s, int *app, int *version)
{
	int r = pragma_int(s, "PRAGMA application_id", app);

	return r == TA_OK ? pragma_int(s, "PRAGMA user_version", version) : r;
}

static int check_version(int fresh, int app, int version, char *err, size_t errlen)
{
	if (!fresh && app != APP_ID) {
		snprintf(err, errlen, "not a tokenauth store (application id %d)", app);
		return TA_ERR_CORRUPT;
	}
	if (version > TA_STORE_SCHEMA) {
		snprintf(err, errlen,
		         "store schema %d is newer than this program's (%d); upgrade tokenauth",
		         version, TA_STORE_SCHEMA);
		return TA_ERR_CORRUPT;
	}
	return TA_OK;
}

/*
 * Bring the schema up to date.  The common case (already current) is one
 * read of the header values: no lock, no schema parse, so logins never
 * queue behind each other just to open the store.
 */
static int migrate(struct sq_store *s, int mode, char *err, size_t errlen)
{
	int version = 0, app = 0, r, locked = 0, fresh = mode == TA_STORE_OPEN_CREATE;
	char sql[64];

	if ((r = read_version(s, &app, &version)) != TA_OK)
		goto fail;
	if ((r = check_version(fresh, app, version, err, errlen)) != TA_OK ||
	    version == TA_STORE_SCHEMA)
		goto done;
	if (mode == TA_STORE_OPEN_CURRENT || mode == TA_STORE_OPEN_READONLY) {
		ta_store_old_schema(version, err, errlen);
		return TA_ERR_CONFIG;
	}
	/* Re-read under the write lock: another process may have migrated. */
	if ((r = sq_begin(&s->base)) != TA_OK)
		goto fail;
	locked = 1;
	if ((r = read_version(s, &app, &version)) != TA_OK)
		goto fail;
	if ((r = check_version(fresh, app, version, err, errlen)) != TA_OK)
		goto done;
	for (; version < TA_STORE_SCHEMA; version++)
		if ((r = exec(s, migrations[version])) != TA_OK)
			goto fail;
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", TA_STORE_SCHEMA);
	if ((r = exec(s, sql)) != TA_OK)
		goto fail;
	snprintf(sql, sizeof(sql), "PRAGMA application_id=%d", APP_ID);
	if (fresh && (r = exec(s, sql)) != TA_OK)
		goto fail;
	if ((r = sq_commit(&s->base)) != TA_OK)
		goto fail;
	locked = 0;
	goto done;
fail:
	snprintf(err, errlen, "cannot read or update the store: %s", sqlite3_errmsg(s->db));
done:
	if (locked)
		sq_rollback(&s->base);
	if (r == TA_OK)
		s->base.schema = TA_STORE_SCHEMA;
	return r;
}

/* Create the file ourselves so it is born 0600 and not through a link. */
static int create_file(const char *path, char *err, size_t errlen)
{
	int r, fd;

	if ((r = ta_file_make_parent(path, err, errlen)) != TA_OK)
		return r;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
		return errno == EEXIST ? TA_ERR_EXISTS : TA_ERR_UNAVAILABLE;
	}
	if (fchmod(fd, 0600) != 0) { /* exactly 0600, whatever the umask */
		snprintf(err, errlen, "%s: cannot set mode 0600: %s", path, strerror(errno));
		close(fd);
		return TA_ERR_UNAVAILABLE;
	}
	close(fd);
	return TA_OK;
}

/* Check the file and folder; the checked descriptor is kept for reuse checks. */
static int check_file(const char *path, struct stat *st_out, int *fd, int *dirfd, char *err,
                      size_t errlen)
{
	/* O_PATH descriptors: closing them later never drops SQLite's locks */
	int r = ta_file_open_in(path, TA_FILE_PLAIN, fd, dirfd, err, errlen);

	if (r == TA_OK && fstat(*fd, st_out) != 0) {
		snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
		r = TA_ERR_UNAVAILABLE;
	}
	return r;
}

/*
 * Per-connection settings.  Already the default or persistent, hence not
 * set: journal_mode=WAL (persistent in the file; set only when the file
 * says otherwise).  Set through the API, which parses nothing:
 * foreign_keys=OFF, trusted_schema=OFF.  Per-connection pragmas that need
 * no schema: synchronous=NORMAL (safe in WAL; the default is FULL) and
 * temp_store=MEMORY (SQLite makes no temporary files, so a TMPDIR or
 * SQLITE_TMPDIR the host read before us never matters).
 */
/* Is the file in WAL mode already (the mode is kept in the file)? */
static int is_wal(struct sq_store *s)
{
	sqlite3_stmt *q = NULL;
	int wal = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &q, NULL) == SQLITE_OK &&
	          sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0) != NULL &&
	          strcmp((const char *)sqlite3_column_text(q, 0), "wal") == 0;

	sqlite3_finalize(q);
	return wal;
}

static int configure(struct sq_store *s, int wal, int ro)
{
	int on = 1, r = TA_OK;

	sqlite3_busy_timeout(s->db, TA_STORE_BUSY_MS);
	sqlite3_extended_result_codes(s->db, 0);
	/* Short-lived hosts (a PAM handle per request) open and close the store
	 * all the time; the last closer would checkpoint, fsync and delete the
	 * WAL each time.  Leave that to the automatic checkpoints of writers. */
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL, &on);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_ENABLE_FKEY, 0, NULL);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	/* WAL: readers never wait for writers; NORMAL sync is safe in WAL.  A
	 * read-only handle leaves the file in the mode it found. */
	if (!wal && !ro)
		r = exec(s, "PRAGMA journal_mode=WAL");
	if (r == TA_OK)
		r = exec(s, "PRAGMA synchronous=NORMAL; PRAGMA temp_store=MEMORY");
	return r;
}

#define SQ_IMAGE_MAX (1024L * 1024 * 1024) /* largest file read whole into memory */

/* Whether base's -wal beside it (in dirfd) is missing or empty; its status in *wal. */
static int wal_empty(int dirfd, const char *base, struct stat *wal)
{
	char name[NAME_MAX + 8];

	memset(wal, 0, sizeof(*wal));
	if ((size_t)snprintf(name, sizeof(name), "%s-wal", base) >= sizeof(name))
		return 0;
	if (fstatat(dirfd, name, wal, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT;
	return wal->st_size == 0;
}

static int same_state(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Read the whole file at fd into *buf (sqlite3_malloc64), n bytes. */
static int read_whole(int fd, size_t n, unsigned char **buf)
{
	size_t got = 0;

	if ((*buf = sqlite3_malloc64(n > 0 ? n : 1)) == NULL)
		return TA_ERR_NOMEM;
	while (got < n) {
		ssize_t k = pread(fd, *buf + got, n - got, (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = 0; /* shorter than its size said */
			sqlite3_free(*buf);
			*buf = NULL;
			return TA_ERR_UNAVAILABLE;
		}
		got += (size_t)k;
	}
	return TA_OK;
}

/* Whether the file at fd holds the n bytes of buf, read again in chunks. */
static int same_bytes(int fd, const unsigned char *buf, size_t n)
{
	unsigned char chunk[65536];
	size_t got = 0;

	while (got < n) {
		size_t want = n - got < sizeof(chunk) ? n - got : sizeof(chunk);
		ssize_t k = pread(fd, chunk, want, (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0 || memcmp(chunk, buf + got, (size_t)k) != 0)
			return 0;
		got += (size_t)k;
	}
	/* nothing beyond n either */
	return pread(fd, chunk, 1, (off_t)n) == 0;
}

/*
 * A read-only handle on read-only media whose WAL index (-shm) is missing
 * or cannot be opened cannot read the file in place: SQLite could neither
 * make the index nor lock the file.  When the folder's file system is
 * mounted read-only and the WAL is missing or empty, the file alone is the
 * store: it is read whole into memory and opened from there
 * (sqlite3_deserialize).  It is read from the folder already checked, by
 * its name there and without following a link, and must be the file the
 * checks passed (dev, ino): nothing opens it by its path again (helper-55
 * F2, F3: a reopen by name could be a swapped file, and a file: URI read
 * "//host/..." as an authority).  A read-only mount may be a bind of a
 * writable file system, so a write through another path is not ruled out:
 * the file's size, mtime and ctime and the empty WAL must be the same
 * after the read as before, or the copy is refused (helper-55 F1: an
 * immutable read mixed two states).  With WAL content it is refused: the
 * file alone would miss those commits.
 */
static int readonly_media(struct sq_store *s, const char *path, const struct stat *before,
                          char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/'), *base = slash != NULL ? slash + 1 : path;
	struct stat a, b, wal_a, wal_b;
	struct statvfs vfs;
	unsigned char *buf = NULL;
	int fd = -1, r = TA_ERR_UNAVAILABLE;

	if (fstatvfs(s->dirfd, &vfs) != 0 || (vfs.f_flag & ST_RDONLY) == 0) {
		snprintf(err, errlen,
		         "%s: cannot open store read-only: %s (its -shm cannot be opened)", path,
		         sqlite3_errmsg(s->db));
		return TA_ERR_UNAVAILABLE;
	}
	if (!wal_empty(s->dirfd, base, &wal_a)) {
		snprintf(
		    err, errlen,
		    "%s: cannot read it on read-only media: its WAL holds commits and its "
		    "index (-shm) is missing or cannot be opened; copy the file, -wal and -shm to "
		    "writable storage first",
		    path);
		return TA_ERR_UNAVAILABLE;
	}
	/* O_NONBLOCK, O_NOCTTY: a FIFO or a device swapped in by the name must
	 * neither block nor become a terminal before the checks below refuse it
	 * (helper-56 F2) */
	fd = openat(s->dirfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &a) != 0 || !S_ISREG(a.st_mode) || a.st_dev != before->st_dev ||
	    a.st_ino != before->st_ino) {
		snprintf(err, errlen, "%s: store was replaced while opening", path);
		r = TA_ERR_INSECURE;
		goto out;
	}
	if (a.st_size < 0 || a.st_size > SQ_IMAGE_MAX) {
		snprintf(
		    err, errlen,
		    "%s: %lld bytes on read-only media without its -shm: too large to read into "
		    "memory (at most %ld); copy the file to writable storage first",
		    path, (long long)a.st_size, SQ_IMAGE_MAX);
		goto out;
	}
	errno = 0;
	if ((r = read_whole(fd, (size_t)a.st_size, &buf)) != TA_OK) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		         r == TA_ERR_NOMEM ? "out of memory"
		         : errno == 0      ? "it shrank while it was read"
		                           : strerror(errno));
		goto out;
	}
	/* A read-only bind of a writable file system with coarse timestamps
	 * may show the same size, mtime and ctime after a write: the file is
	 * read a second time and must hold the same bytes (helper-56 F1: a
	 * write during the first read gave a state never committed) */
	if (fstat(fd, &b) != 0 || !same_state(&a, &b) || !same_bytes(fd, buf, (size_t)a.st_size) ||
	    fstat(fd, &b) != 0 || !same_state(&a, &b) || !wal_empty(s->dirfd, base, &wal_b) ||
	    wal_a.st_ino != wal_b.st_ino) {
		snprintf(err, errlen,
		         "%s: changed while it was read (written through another path?); "
		         "nothing copied",
		         path);
		r = TA_ERR_UNAVAILABLE;
		goto out;
	}
	/* a WAL-mode file, its WAL empty: the same store in rollback mode (the
	 * in-memory database has no WAL) */
	if (a.st_size >= 20 && buf[18] == 2 && buf[19] == 2)
		buf[18] = buf[19] = 1;
	sqlite3_close(s->db);
	s->db = NULL;
	if (sqlite3_open_v2(":memory:", &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK ||
	    sqlite3_deserialize(s->db, "main", buf, a.st_size, a.st_size,
	                        SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY) !=
	        SQLITE_OK) {
		buf = NULL; /* freed by sqlite3_deserialize, or never taken */
		snprintf(err, errlen, "%s: cannot open store from memory: %s", path,
		         s->db != NULL ? sqlite3_errmsg(s->db) : "out of memory");
		r = TA_ERR_UNAVAILABLE;
		goto out;
	}
	buf = NULL;
	r = TA_OK;
out:
	sqlite3_free(buf);
	if (fd >= 0)
		close(fd);
	return r;
}

/* A read-only handle finds at its first read whether it can open the WAL
 * index; other errors are left to the checks that follow, which name them,
 * but a hot journal (an interrupted write in rollback mode) is named here:
 * a read-only handle may not roll it back. */
static int readable(struct sq_store *s, const char *path, const struct stat *before, char *err,
                    size_t errlen)
{
	int rc = sqlite3_exec(s->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);

	if (rc == SQLITE_READONLY) {
		snprintf(err, errlen,
		         "%s: cannot read it read-only: %s (a hot journal from an interrupted "
		         "write? any tokenauth verb that opens it, e.g. tokenauth --store %s list, "
		         "rolls it back)",
		         path, sqlite3_errmsg(s->db), path);
		return TA_ERR_UNAVAILABLE;
	}
	return rc == SQLITE_CANTOPEN ? readonly_media(s, path, before, err, errlen) : TA_OK;
}

static int open_db(struct sq_store *s, const char *path, const struct stat *before, char *err,
                   size_t errlen)
{
	struct stat after;
	int rc, r;

	rc = sqlite3_open_v2(path, &s->db,
	                     (s->ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
	                         SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
	                     NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open store: %s", path,
		         s->db ? sqlite3_errmsg(s->db) : "out of memory");
		return map_rc(rc) == TA_OK ? TA_ERR_UNAVAILABLE : map_rc(rc);
	}
	if (stat(path, &after) != 0 || after.st_ino != before->st_ino ||
	    after.st_dev != before->st_dev) {
		snprintf(err, errlen, "%s: store was replaced while opening", path);
		return TA_ERR_INSECURE;
	}
	if (s->ro && (r = readable(s, path, before, err, errlen)) != TA_OK)
		return r;
	if ((r = configure(s, is_wal(s), s->ro)) != TA_OK)
		snprintf(err, errlen, "%s: %s: %s", path,
		         r == TA_ERR_CORRUPT ? "not a tokenauth store, or damaged"
		                             : "cannot use store",
		         sqlite3_errmsg(s->db));
	return r;
}

static void sq_close(ta_store *st);

static int sq_open(const char *path, int create, ta_store **out, char *err, size_t errlen)
{
	struct sq_store *s = NULL;
	struct stat before;
	char msg[256];
	int r, fd = -1, dirfd = -1;

	*out = NULL;
	if (create == TA_STORE_OPEN_CREATE && (r = create_file(path, err, errlen)) != TA_OK)
		return r;
	if ((r = check_file(path, &before, &fd, &dirfd, err, errlen)) != TA_OK)
		goto out;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		r = TA_ERR_NOMEM;
		goto out;
	}
	s->fd = fd;
	s->dirfd = dirfd;
	s->ro = create == TA_STORE_OPEN_READONLY;
	fd = dirfd = -1;
	s->base.id.dev = before.st_dev;
	s->base.id.ino = before.st_ino;
	if ((r = open_db(s, path, &before, err, errlen)) != TA_OK)
		goto out;
	if ((r = migrate(s, create, msg, sizeof(msg))) != TA_OK) {
		snprintf(err, errlen, "%s: %s", path, msg);
		if (r == TA_ERR_UNAVAILABLE && strstr(msg, "not a database") != NULL)
			r = TA_ERR_CORRUPT;
		goto out;
	}
	*out = &s->base;
	s = NULL;
out:
	if (fd >= 0)
		close(fd);
	if (dirfd >= 0)
		close(dirfd);
	sq_close(s ? &s->base : NULL);
	return r;
}

/*
 * Closing skips SQLite's checkpoint (see configure), so a WAL grown by bulk
 * writes would be re-read by every process that opens the store next: the
 * first connection to open a WAL store rebuilds its index from the WAL.
 * Past TA_WAL_TRIM, fold it back and truncate it, waiting only briefly
 * for readers: one close in many pays for the sync, every open stays cheap.
 *
 * A close always trims.  Pooling a handle (sq_idle) trims only while the
 * handle was never reused: a host that runs one login per process (sshd,
 * sudo, su) may exit after it without closing, but a host that reuses its
 * handles keeps the WAL index alive by holding the connection open, and
 * SQLite's own checkpoint at 1000 pages (a writer's, at commit) bounds the
 * WAL meanwhile.  Trimming there would cost that host a checkpoint, two
 * fdatasync calls, every few OTP logins.
 */
static void trim_wal(struct sq_store *s)
{
	const char *wal = sqlite3_filename_wal(sqlite3_db_filename(s->db, "main"));
	struct stat sb;

	if (wal == NULL || stat(wal, &sb) != 0 || sb.st_size <= TA_WAL_TRIM)
		return;
	sqlite3_busy_timeout(s->db, 50);
	sqlite3_wal_checkpoint_v2(s->db, "main", SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sqlite3_busy_timeout(s->db, TA_STORE_BUSY_MS);
}

static void sq_close(ta_store *st)
{
	struct sq_store *s = SQ(st);

	if (s == NULL)
		return;
	sq_rollback(st);
	if (s->db != NULL && !s->ro)
		trim_wal(s);
	for (int i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(s->q[i]);
	sqlite3_close(s->db);
	if (s->fd >= 0)
		close(s->fd); /* after SQLite's own descriptors are gone */
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s);
}

/* ---- reuse of a pooled handle --------------------------------------------- */

/* Which file path names now (no walk: the pooled handle's re-check follows). */
static int sq_identify(const char *path, struct ta_store_id *id, char *err, size_t errlen)
{
	return ta_store_file_id(path, id, err, errlen);
}

/* The rest: path still names the file, whose type, owner and mode and
 * whose folder still pass (ta_file_recheck), and a schema this program may
 * use (another process may have upgraded the store). */
static int sq_recheck(ta_store *st, const char *path, const struct ta_store_id *now, char *err,
                      size_t errlen)
{
	struct sq_store *s = SQ(st);
	sqlite3_stmt *q = NULL;
	int r, rc;

	if ((r = ta_file_recheck(path, &now->seen, st->id.dev, st->id.ino, s->dirfd, TA_FILE_PLAIN,
	                         err, errlen)) != TA_OK)
		return r;
	if ((r = stmt(s, Q_VERSION, &q)) != TA_OK)
		return r;
	/* Read in the snapshot the caller's first reads will share (store.h,
	 * ta_store_snapshot): one read lock for the check and those reads. */
	if (sq_snapshot(st) == TA_OK)
		st->in_snapshot = 1;
	rc = sqlite3_step(q);
	r = rc == SQLITE_ROW && sqlite3_column_int(q, 0) == TA_STORE_SCHEMA ? TA_OK
	                                                                    : TA_ERR_CORRUPT;
	done(q);
	if (r != TA_OK && st->in_snapshot) {
		sq_rollback(st);
		st->in_snapshot = 0;
	}
	return r;
}

static int sq_idle(ta_store *st)
{
	struct sq_store *s = SQ(st);

	sq_rollback(st);
	if (s->db == NULL || s->stuck || !sqlite3_get_autocommit(s->db))
		return TA_ERR_UNAVAILABLE;
	for (sqlite3_stmt *q = sqlite3_next_stmt(s->db, NULL); q; q = sqlite3_next_stmt(s->db, q))
		if (sqlite3_stmt_busy(q))
			return TA_ERR_UNAVAILABLE;
	if (st->reuses == 0) /* see trim_wal */
		trim_wal(s);
	return TA_OK;
}

/* ---- tokens --------------------------------------------------------------- */

static void copy_col(sqlite3_stmt *q, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(q, i);
	size_t n = t ? strlen((const char *)t) : 0;

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, t ? (const char *)t : "", n);
	dst[n] = '\0';
}

/* TA_ERR_NOMEM when the row has params and they could not be copied. */
static int read_token_row(sqlite3_stmt *q, struct ta_token_row *row, int with_params)
{
	copy_col(q, 0, row->id, sizeof(row->id));
	copy_col(q, 1, row->user, sizeof(row->user));
	copy_col(q, 2, row->tenant, sizeof(row->tenant));
	row->kind = sqlite3_column_int(q, 3);
	row->created = sqlite3_column_int64(q, 4);
	row->expires = sqlite3_column_int64(q, 5);
	row->revoked = sqlite3_column_int64(q, 6);
	copy_col(q, 8, row->label, sizeof(row->label));
	row->last_used = sqlite3_column_int64(q, 9);
	row->params = NULL;
	if (!with_params || sqlite3_column_type(q, 7) != SQLITE_TEXT)
		return TA_OK;
	row->params = strdup((const char *)sqlite3_column_text(q, 7));
	return row->params != NULL ? TA_OK : TA_ERR_NOMEM;
}

static int sq_token_find(ta_store *st, const uint8_t hash[TA_SHA256_LEN], int want_params,
                         struct ta_token_row *row)
{
	sqlite3_stmt *q = NULL;
	int rc, r;

	if ((r = stmt(SQ(st), want_params ? Q_TOKEN_FIND_P : Q_TOKEN_FIND, &q)) != TA_OK)
		return r;
	sqlite3_bind_blob(q, 1, hash, TA_SHA256_LEN, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		r = read_token_row(q, row, want_params);
	else
		r = rc == SQLITE_DONE ? TA_ERR_NOT_FOUND : map_rc(rc);
	done(q);
	return r;
}

static int sq_token_revoke_id(ta_store *st, const char *id, int64_t now)
{
	sqlite3_stmt *q = NULL;
	unsigned n = 0;
	int r, rc;

	if ((r = stmt(SQ(st), Q_TOKEN_REVOKE_ID, &q)) != TA_OK)
		return r;
	sqlite3_bind_int64(q, 1, now);
	if ((r = bind_text(q, 2, id)) != TA_OK || (r = step_done(SQ(st), q, &n)) != TA_OK ||
	    n > 0) {
		done(q);
		return r;
	}
	/* Distinguish "no such id" from "already revoked". */
	if ((r = stmt(SQ(st), Q_TOKEN_ID_EXISTS, &q)) != TA_OK)
		return r;
	bind_text(q, 1, id);
	rc = sqlite3_step(q);
	r = rc == SQLITE_ROW ? TA_ERR_REVOKED : rc == SQLITE_DONE ? TA_ERR_NOT_FOUND : map_rc(rc);
	done(q);
	return r;
}

static int sq_token_revoke_user(ta_store *st, const char *user, const char *tenant, int64_t now,
                                unsigned *count)
{
	sqlite3_stmt *q = NULL;
	int r;

	if ((r = stmt(SQ(st), tenant ? Q_TOKEN_REVOKE_USER_T : Q_TOKEN_REVOKE_USER, &q)) != TA_OK)
		return r;
	sqlite3_bind_int64(q, 1, now);
	if ((r = bind_text(q, 2, user)) != TA_OK ||
	    (tenant != NULL && (r = bind_text(q, 3, tenant)) != TA_OK)) {
		done(q);
		return r;
	}
	return step_done(SQ(st), q, count);
}

static int sq_has_credential(ta_store *st, const char *user, const char *tenant, int *has)
{
	sqlite3_stmt *q = NULL;
	int rc, r;

	if ((r = stmt_for(SQ(st), Q_HAS_CRED, user, tenant, &q)) != TA_OK)
		return r;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*has = sqlite3_column_int(q, 0);
	done(q);
	return rc == SQLITE_ROW ? TA_OK : map_rc(rc);
}

/* ---- OTP ------------------------------------------------------------------ */

/*
 * OTP counters and time steps sit in a signed 64-bit column.  A row is
 * created with next <= TA_OTP_COUNTER_MAX (2^62) and only ever advanced to
 * a larger value no greater than INT64_MAX, which leaves 2^62 acceptances
 * of headroom: far more than any authenticator can produce, and no value
 * on the way can reach the sign bit.  A negative next (a wrapped counter
 * written by an older version) is a damaged row, never a small counter.
 */
static int read_otp_row(sqlite3_stmt *q, int col, struct ta_otp_row *row)
{
	const void *blob;
	sqlite3_int64 next;
	int n;

	row->p.type = (ta_otp_type)sqlite3_column_int(q, col + 0);
	row->p.alg = (ta_hash_alg)sqlite3_column_int(q, col + 1);
	row->p.digits = (unsigned)sqlite3_column_int(q, col + 2);
	row->p.period = (unsigned)sqlite3_column_int(q, col + 3);
	next = sqlite3_column_int64(q, col + 4);
	row->next = next < 0 ? 0 : (uint64_t)next;
	row->created = sqlite3_column_int64(q, col + 5);
	blob = sqlite3_column_blob(q, col + 6);
	n = sqlite3_column_bytes(q, col + 6);
	if (next < 0 || blob == NULL || n <= 0 || (size_t)n > sizeof(row->sealed) ||
	    (row->p.type != TA_OTP_HOTP && row->p.type != TA_OTP_TOTP) ||
	    ta_hash_len(row->p.alg) == 0 || row->p.digits < 6 || row->p.digits > 8 ||
	    (row->p.type == TA_OTP_TOTP && row->p.period == 0))
		return TA_ERR_CORRUPT;
	memcpy(row->sealed, blob, (size_t)n);
	row->sealed_len = (size_t)n;
	return TA_OK;
}

static int sq_otp_get(ta_store *st, const char *user, const char *tenant, struct ta_otp_row *row)
{
	sqlite3_stmt *q = NULL;
	int rc, r;

	if ((r = stmt_for(SQ(st), Q_OTP_GET, user, tenant, &q)) != TA_OK)
		return r;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		r = read_otp_row(q, 0, row);
	else
		r = rc == SQLITE_DONE ? TA_ERR_NOT_FOUND : map_rc(rc);
	done(q);
	return r;
}

static int sq_otp_put(ta_store *st, const char *user, const char *tenant,
                      const struct ta_otp_row *row, int replace)
{
	sqlite3_stmt *q = NULL;
	int r;

	if ((r = stmt_for(SQ(st), replace ? Q_OTP_REPLACE : Q_OTP_INSERT, user, tenant, &q)) !=
	    TA_OK)
		return r;
	sqlite3_bind_int(q, 3, (int)row->p.type);
	sqlite3_bind_int(q, 4, (int)row->p.alg);
	sqlite3_bind_int(q, 5, (int)row->p.digits);
	sqlite3_bind_int(q, 6, (int)row->p.period);
	sqlite3_bind_int64(q, 7, (sqlite3_int64)row->next);
	sqlite3_bind_int64(q, 8, row->created);
	sqlite3_bind_blob(q, 9, row->sealed, (int)row->sealed_len, SQLITE_STATIC);
	return step_done(SQ(st), q, NULL);
}

/* next is 1..INT64_MAX here (store.c refuses the rest as replays). */
static int sq_otp_advance(ta_store *st, const char *user, const char *tenant, uint64_t next)
{
	sqlite3_stmt *q = NULL;
	unsigned changed = 0;
	int r;

	if ((r = stmt_for(SQ(st), Q_OTP_ADVANCE, user, tenant, &q)) != TA_OK)
		return r;
	sqlite3_bind_int64(q, 3, (sqlite3_int64)next);
	if ((r = step_done(SQ(st), q, &changed)) != TA_OK)
		return r;
	return changed == 1 ? TA_OK : TA_ERR_REPLAY;
}

static int sq_otp_delete(ta_store *st, const char *user, const char *tenant)
{
	sqlite3_stmt *q = NULL;
	unsigned n = 0;
	int r;

	if ((r = stmt_for(SQ(st), Q_OTP_DELETE, user, tenant, &q)) != TA_OK)
		return r;
	r = step_done(SQ(st), q, &n);
	return r == TA_OK && n == 0 ? TA_ERR_NOT_FOUND : r;
}

/* ---- lists ---------------------------------------------------------------- */

struct sq_cursor {
	sqlite3_stmt *q;
	enum ta_store_list what;
};

/* Lists are prepared per call, not cached: a callback may use the store. */
static const char *list_sql(enum ta_store_list what, int one_user)
{
	static const char *const sql[4][2] = {
	    {"SELECT id,user,tenant,kind,created,expires,revoked,params,label,last_used FROM "
	     "tokens ORDER BY user,tenant,created,id",
	     "SELECT id,user,tenant,kind,created,expires,revoked,params,label,last_used FROM "
	     "tokens WHERE user=? ORDER BY user,tenant,created,id"},
	    {"SELECT user,tenant,type,alg,digits,period,next,created,secret FROM otp ORDER BY "
	     "user,tenant",
	     "SELECT user,tenant,type,alg,digits,period,next,created,secret FROM otp WHERE user=? "
	     "ORDER BY user,tenant"},
	    {"SELECT id,user,tenant,kind,created,expires,revoked,params,label,last_used,hash FROM "
	     "tokens ORDER BY hash",
	     NULL},
	    {"SELECT user,tenant,failures,lockouts,locked_until,updated,capped FROM throttle "
	     "ORDER BY user,tenant",
	     NULL},
	};

	return sql[what][one_user];
}

static int sq_list_open(ta_store *st, enum ta_store_list what, const char *user, void **cur)
{
	const char *sql = list_sql(what, user != NULL);
	struct sq_cursor *c = NULL;
	int rc, r = TA_OK;

	*cur = NULL;
	if (sql == NULL)
		return TA_ERR_INPUT;
	if (SQ(st)->stuck) /* see sq_rollback */
		return TA_ERR_UNAVAILABLE;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return TA_ERR_NOMEM;
	c->what = what;
	rc = sqlite3_prepare_v2(SQ(st)->db, sql, -1, &c->q, NULL);
	if (rc != SQLITE_OK)
		r = (rc & 0xff) == SQLITE_ERROR ? TA_ERR_CORRUPT : map_rc(rc);
	else if (user != NULL)
		r = bind_text(c->q, 1, user);
	if (r != TA_OK) {
		sqlite3_finalize(c->q);
		free(c);
		return r;
	}
	*cur = c;
	return TA_OK;
}

/* A text column that our buffer of cap bytes holds whole (no NUL inside). */
static int text_fits(sqlite3_stmt *q, int i, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(q, i);

	return sqlite3_column_type(q, i) == SQLITE_TEXT && t != NULL &&
	       strlen((const char *)t) == (size_t)sqlite3_column_bytes(q, i) &&
	       (size_t)sqlite3_column_bytes(q, i) < cap;
}

static int ints_ok(sqlite3_stmt *q, int from, int to)
{
	for (int i = from; i <= to; i++)
		if (sqlite3_column_type(q, i) != SQLITE_INTEGER)
			return 0;
	return 1;
}

/* A whole token row (the copy path): nothing cut, the hash exactly. */
static int read_token_all(sqlite3_stmt *q, struct ta_store_item *it)
{
	const void *h = sqlite3_column_blob(q, 10);

	if (!text_fits(q, 0, sizeof(it->token.id)) || !text_fits(q, 1, sizeof(it->token.user)) ||
	    !text_fits(q, 2, sizeof(it->token.tenant)) || !ints_ok(q, 3, 6) ||
	    (sqlite3_column_type(q, 7) != SQLITE_NULL && !text_fits(q, 7, TA_MAX_PARAMS + 1)) ||
	    (sqlite3_column_type(q, 8) != SQLITE_NULL && !text_fits(q, 8, TA_MAX_LABEL + 1)) ||
	    !ints_ok(q, 9, 9) || sqlite3_column_type(q, 10) != SQLITE_BLOB || h == NULL ||
	    sqlite3_column_bytes(q, 10) != TA_SHA256_LEN)
		return TA_ERR_CORRUPT;
	memcpy(it->hash, h, TA_SHA256_LEN);
	return read_token_row(q, &it->token, 1);
}

static int read_throttle_all(sqlite3_stmt *q, struct ta_store_item *it)
{
	int64_t f = sqlite3_column_int64(q, 2), l = sqlite3_column_int64(q, 3);

	if (!text_fits(q, 0, TA_MAX_USER + 1) || !text_fits(q, 1, TA_MAX_TENANT + 1) ||
	    !ints_ok(q, 2, 6) || f < 0 || f > INT32_MAX || l < 0 || l > INT32_MAX ||
	    (sqlite3_column_int64(q, 6) & ~(sqlite3_int64)1) != 0)
		return TA_ERR_CORRUPT;
	it->user = (const char *)sqlite3_column_text(q, 0);
	it->tenant = (const char *)sqlite3_column_text(q, 1);
	it->thr.t.failures = (unsigned)f;
	it->thr.t.lockouts = (unsigned)l;
	it->thr.t.locked_until = sqlite3_column_int64(q, 4);
	it->thr.updated = sqlite3_column_int64(q, 5);
	it->thr.capped = sqlite3_column_int(q, 6);
	return TA_OK;
}

static int sq_list_next(void *cur, struct ta_store_item *it)
{
	struct sq_cursor *c = cur;
	int rc = sqlite3_step(c->q), r;

	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : map_rc(rc);
	switch (c->what) {
	case TA_STORE_LIST_TOKENS: r = read_token_row(c->q, &it->token, 1); break;
	case TA_STORE_LIST_TOKENS_ALL: r = read_token_all(c->q, it); break;
	case TA_STORE_LIST_THROTTLE_ALL: r = read_throttle_all(c->q, it); break;
	default:
		it->user = (const char *)sqlite3_column_text(c->q, 0);
		it->tenant = (const char *)sqlite3_column_text(c->q, 1);
		r = read_otp_row(c->q, 2, &it->otp);
		if (r == TA_OK && (it->user == NULL || it->tenant == NULL))
			r = TA_ERR_CORRUPT;
	}
	return r == TA_OK ? 1 : r;
}

static void sq_list_close(void *cur)
{
	struct sq_cursor *c = cur;

	if (c == NULL)
		return;
	sqlite3_finalize(c->q);
	free(c);
}

/* ---- throttle ------------------------------------------------------------- */

static int sq_throttle_get(ta_store *st, const char *user, const char *tenant,
                           struct ta_throttle *t)
{
	sqlite3_stmt *q = NULL;
	int rc, r;

	memset(t, 0, sizeof(*t));
	if ((r = stmt_for(SQ(st), Q_THROTTLE_GET, user, tenant, &q)) != TA_OK)
		return r;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		t->failures = (unsigned)sqlite3_column_int(q, 0);
		t->lockouts = (unsigned)sqlite3_column_int(q, 1);
		t->locked_until = sqlite3_column_int64(q, 2);
	}
	done(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? TA_OK : map_rc(rc);
}

/* One statement with up to two integer parameters; *col0: its first value. */
static int step_ints(struct sq_store *s, int which, int64_t a, int64_t b, int64_t *col0,
                     unsigned *changes)
{
	sqlite3_stmt *q = NULL;
	int rc, r;

	if ((r = stmt(s, which, &q)) != TA_OK)
		return r;
	if (sqlite3_bind_parameter_count(q) >= 1)
		sqlite3_bind_int64(q, 1, a);
	if (sqlite3_bind_parameter_count(q) >= 2)
		sqlite3_bind_int64(q, 2, b);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && col0 != NULL)
		*col0 = sqlite3_column_int64(q, 0);
	if (changes != NULL)
		*changes = rc == SQLITE_DONE ? (unsigned)sqlite3_changes(s->db) : 0;
	done(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? TA_OK : map_rc(rc);
}

/*
 * Make room for a new row: forget stale streaks, and when the capped rows
 * (users not enrolled here) are still at the cap give up one of them
 * whose time to go has come (Q_THROTTLE_EVICT).
 * TA_ERR_EXISTS when there is none (every capped row locked or younger):
 * the caller refuses rather than forget a lockout or a fresh streak.
 * An enrolled user's row is neither counted nor given up.
 */
static int throttle_room(struct sq_store *s, const char *user, const char *tenant, int64_t now,
                         int capped)
{
	sqlite3_stmt *q = NULL;
	int64_t rows = -1;
	unsigned evicted = 0;
	int rc, r;

	if ((r = step_ints(s, Q_THROTTLE_EXPIRE, now - TA_THROTTLE_IDLE, now, NULL, NULL)) !=
	        TA_OK ||
	    !capped) /* enrolled users: as many rows as the store has users */
		return r;
	if ((r = stmt_for(s, Q_THROTTLE_HAS, user, tenant, &q)) != TA_OK)
		return r;
	rc = sqlite3_step(q);
	done(q);
	if (rc == SQLITE_ROW)
		return TA_OK; /* an update needs no room */
	if (rc != SQLITE_DONE)
		return map_rc(rc);
	/* no counter row, or a negative one (a damaged file): as full */
	if ((r = step_ints(s, Q_THROTTLE_COUNT, 0, 0, &rows, NULL)) != TA_OK ||
	    (rows >= 0 && (uint64_t)rows < s->base.throttle_cap))
		return r;
	if ((r = step_ints(s, Q_THROTTLE_EVICT, now, 0, NULL, &evicted)) != TA_OK)
		return r;
	return evicted > 0 ? TA_OK : TA_ERR_EXISTS;
}

static int sq_throttle_put(ta_store *st, const char *user, const char *tenant,
                           const struct ta_throttle *t, int64_t now, int capped)
{
	sqlite3_stmt *q = NULL;
	int r;

	if ((r = throttle_room(SQ(st), user, tenant, now, capped)) != TA_OK ||
	    (r = stmt_for(SQ(st), Q_THROTTLE_PUT, user, tenant, &q)) != TA_OK)
		return r;
	sqlite3_bind_int(q, 3, (int)t->failures);
	sqlite3_bind_int(q, 4, (int)t->lockouts);
	sqlite3_bind_int64(q, 5, t->locked_until);
	sqlite3_bind_int64(q, 6, now);
	sqlite3_bind_int(q, 7, capped != 0);
	return step_done(SQ(st), q, NULL);
}

static int sq_throttle_clear(ta_store *st, const char *user, const char *tenant, unsigned *count)
{
	sqlite3_stmt *q = NULL;
	int r;

	r = stmt_for(SQ(st), tenant ? Q_THROTTLE_CLEAR_T : Q_THROTTLE_CLEAR, user, tenant, &q);
	if (r != TA_OK)
		return r;
	return step_done(SQ(st), q, count);
}

/* ---- the copy path ----------------------------------------------------------- */

static int sq_count(ta_store *st, struct ta_store_count *n)
{
	sqlite3_stmt *q = NULL;
	int rc, r;

	if ((r = stmt(SQ(st), Q_ROWS, &q)) != TA_OK)
		return r;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		n->tokens = (unsigned long)sqlite3_column_int64(q, 0);
		n->otp = (unsigned long)sqlite3_column_int64(q, 1);
		n->throttle = (unsigned long)sqlite3_column_int64(q, 2);
		n->sessions = (unsigned long)sqlite3_column_int64(q, 3);
	}
	done(q);
	return rc == SQLITE_ROW ? TA_OK : map_rc(rc);
}

static int sq_token_put(ta_store *st, const uint8_t hash[TA_SHA256_LEN],
                        const struct ta_token_row *row, int replace)
{
	sqlite3_stmt *q = NULL;
	int r;

	if (replace) {
		if ((r = stmt(SQ(st), Q_TOKEN_PUT_CLEAR, &q)) != TA_OK)
			return r;
		sqlite3_bind_blob(q, 1, hash, TA_SHA256_LEN, SQLITE_STATIC);
		if ((r = bind_text(q, 2, row->id)) != TA_OK ||
		    (r = step_done(SQ(st), q, NULL)) != TA_OK) {
			done(q);
			return r;
		}
	}
	if ((r = stmt(SQ(st), Q_TOKEN_PUT, &q)) != TA_OK)
		return r;
	sqlite3_bind_blob(q, 1, hash, TA_SHA256_LEN, SQLITE_STATIC);
	if ((r = bind_text(q, 2, row->id)) != TA_OK || (r = bind_text(q, 3, row->user)) != TA_OK ||
	    (r = bind_text(q, 4, row->tenant)) != TA_OK ||
	    (row->params != NULL && (r = bind_text(q, 9, row->params)) != TA_OK) ||
	    (row->label[0] != '\0' && (r = bind_text(q, 10, row->label)) != TA_OK)) {
		done(q);
		return r;
	}
	sqlite3_bind_int64(q, 11, row->last_used);
	sqlite3_bind_int(q, 5, row->kind);
	sqlite3_bind_int64(q, 6, row->created);
	sqlite3_bind_int64(q, 7, row->expires);
	sqlite3_bind_int64(q, 8, row->revoked);
	return step_done(SQ(st), q, NULL);
}

static int sq_throttle_row_put(ta_store *st, const char *user, const char *tenant,
                               const struct ta_throttle_row *t, int replace)
{
	sqlite3_stmt *q = NULL;
	int r;

	r = stmt_for(SQ(st), replace ? Q_THROTTLE_PUT : Q_THROTTLE_ROW_INSERT, user, tenant,
	             &q);
	if (r != TA_OK)
		return r;
	sqlite3_bind_int64(q, 3, (sqlite3_int64)t->t.failures);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)t->t.lockouts);
	sqlite3_bind_int64(q, 5, t->t.locked_until);
	sqlite3_bind_int64(q, 6, t->updated);
	sqlite3_bind_int(q, 7, t->capped != 0);
	return step_done(SQ(st), q, NULL);
}

/* ---- schema 4: last use, sessions ------------------------------------------ */

static int sq_token_touch(ta_store *st, const char *id, int64_t now)
{
	sqlite3_stmt *q = NULL;
	int r;

	if ((r = stmt(SQ(st), Q_TOKEN_TOUCH, &q)) != TA_OK)
		return r;
	sqlite3_bind_int64(q, 1, now);
	sqlite3_bind_int64(q, 3, TA_LAST_USED_STEP);
	if ((r = bind_text(q, 2, id)) != TA_OK) {
		done(q);
		return r;
	}
	return step_done(SQ(st), q, NULL);
}

static int session_stmt(struct sq_store *s, int k, const uint8_t hash[TA_SHA256_LEN],
                        sqlite3_stmt **q)
{
	int r = stmt(s, k, q);

	if (r == TA_OK)
		sqlite3_bind_blob(*q, 1, hash, TA_SHA256_LEN, SQLITE_STATIC);
	return r;
}

static int sq_session_put(ta_store *st, const uint8_t hash[TA_SHA256_LEN], const char *user,
                          const char *tenant, int64_t now)
{
	sqlite3_stmt *q = NULL;
	int r;

	if ((r = session_stmt(SQ(st), Q_SESSION_PUT, hash, &q)) != TA_OK)
		return r;
	if ((r = bind_text(q, 2, user)) != TA_OK || (r = bind_text(q, 3, tenant)) != TA_OK) {
		done(q);
		return r;
	}
	sqlite3_bind_int64(q, 4, now);
	return step_done(SQ(st), q, NULL);
}

static int sq_session_get(ta_store *st, const uint8_t hash[TA_SHA256_LEN],
                          struct ta_session_row *row)
{
	sqlite3_stmt *q = NULL;
	int rc, r;

	if ((r = session_stmt(SQ(st), Q_SESSION_GET, hash, &q)) != TA_OK)
		return r;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && (!text_fits(q, 0, sizeof(row->user)) ||
	                         !text_fits(q, 1, sizeof(row->tenant)) || !ints_ok(q, 2, 3)))
		r = TA_ERR_CORRUPT;
	else if (rc == SQLITE_ROW) {
		copy_col(q, 0, row->user, sizeof(row->user));
		copy_col(q, 1, row->tenant, sizeof(row->tenant));
		row->created = sqlite3_column_int64(q, 2);
		row->seen = sqlite3_column_int64(q, 3);
	} else
		r = rc == SQLITE_DONE ? TA_ERR_NOT_FOUND : map_rc(rc);
	done(q);
	return r;
}

static int sq_session_touch(ta_store *st, const uint8_t hash[TA_SHA256_LEN], int64_t now)
{
	sqlite3_stmt *q = NULL;
	int r;

	if ((r = session_stmt(SQ(st), Q_SESSION_TOUCH, hash, &q)) != TA_OK)
		return r;
	sqlite3_bind_int64(q, 2, now);
	return step_done(SQ(st), q, NULL);
}

static int sq_session_delete(ta_store *st, const uint8_t hash[TA_SHA256_LEN])
{
	sqlite3_stmt *q = NULL;
	int r;

	if ((r = session_stmt(SQ(st), Q_SESSION_DELETE, hash, &q)) != TA_OK)
		return r;
	return step_done(SQ(st), q, NULL);
}

static int sq_session_purge(ta_store *st, int64_t seen_before, int64_t created_before,
                            unsigned *count)
{
	sqlite3_stmt *q = NULL;
	int r;

	if ((r = stmt(SQ(st), Q_SESSION_PURGE, &q)) != TA_OK)
		return r;
	sqlite3_bind_int64(q, 1, seen_before);
	sqlite3_bind_int64(q, 2, created_before);
	return step_done(SQ(st), q, count);
}

const struct ta_store_ops ta_store_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .identify = sq_identify,
    .recheck = sq_recheck,
    .idle = sq_idle,
    .errmsg = sq_errmsg,
    .begin = sq_begin,
    .begin_user = sq_begin_user,
    .begin_read = sq_begin_read,
    .snapshot = sq_snapshot,
    .upgrade = sq_upgrade,
    .stuck = sq_stuck,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .count = sq_count,
    .token_put = sq_token_put,
    .token_find = sq_token_find,
    .token_revoke_id = sq_token_revoke_id,
    .token_revoke_user = sq_token_revoke_user,
    .has_credential = sq_has_credential,
    .list_open = sq_list_open,
    .list_next = sq_list_next,
    .list_close = sq_list_close,
    .otp_get = sq_otp_get,
    .otp_put = sq_otp_put,
    .otp_advance = sq_otp_advance,
    .otp_delete = sq_otp_delete,
    .throttle_get = sq_throttle_get,
    .throttle_put = sq_throttle_put,
    .throttle_row_put = sq_throttle_row_put,
    .throttle_clear = sq_throttle_clear,
    .token_touch = sq_token_touch,
    .session_put = sq_session_put,
    .session_get = sq_session_get,
    .session_touch = sq_session_touch,
    .session_delete = sq_session_delete,
    .session_purge = sq_session_purge,
};
