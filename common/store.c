/*
 * store.c - SQLite-backed store: schema, migrations and the queries.
 */
#include "store.h"
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#define APP_ID      0x546b4175   /* "TkAu": marks a tokenauth store */
#define TA_WAL_TRIM (256 * 1024) /* WAL bytes a close leaves alone */

enum {
	Q_TOKEN_FIND,
	Q_TOKEN_FIND_P,
	Q_THROTTLE_GET,
	Q_OTP_GET,
	Q_HAS_CRED,
	Q_OTP_ADVANCE,
	Q_THROTTLE_PUT,
	Q_THROTTLE_EXPIRE,
	Q_THROTTLE_HAS,
	Q_THROTTLE_COUNT,
	Q_THROTTLE_EVICT,
	Q_COUNT
};

static const char *const queries[Q_COUNT] = {
    [Q_TOKEN_FIND] = "SELECT id,user,tenant,kind,created,expires,revoked FROM tokens WHERE hash=?",
    [Q_TOKEN_FIND_P] = "SELECT id,user,tenant,kind,created,expires,revoked,params FROM tokens "
                       "WHERE hash=?",
    [Q_THROTTLE_GET] = "SELECT failures,lockouts,locked_until FROM throttle WHERE user=? AND "
                       "tenant=?",
    [Q_OTP_GET] = "SELECT type,alg,digits,period,next,created,secret FROM otp WHERE user=? AND "
                  "tenant=?",
    [Q_HAS_CRED] = "SELECT EXISTS(SELECT 1 FROM tokens WHERE user=?1 AND tenant=?2) OR "
                   "EXISTS(SELECT 1 FROM otp WHERE user=?1 AND tenant=?2)",
    /* ta_store_otp_advance() binds only 1..INT64_MAX and rows hold only
     * 0..INT64_MAX, so the signed "<" here orders them as unsigned values. */
    [Q_OTP_ADVANCE] = "UPDATE otp SET next=?3 WHERE user=?1 AND tenant=?2 AND next>=0 AND "
                      "next<?3",
    [Q_THROTTLE_PUT] = "INSERT INTO throttle(user,tenant,failures,lockouts,locked_until,updated) "
                       "VALUES(?1,?2,?3,?4,?5,?6) ON CONFLICT(user,tenant) DO UPDATE SET "
                       "failures=?3,lockouts=?4,locked_until=?5,updated=?6",
    /* a failure streak is forgotten a day after its last failure, never while locked */
    [Q_THROTTLE_EXPIRE] = "DELETE FROM throttle WHERE (user,tenant) IN (SELECT user,tenant FROM "
                          "throttle WHERE updated<?1 AND locked_until<=?2 ORDER BY updated "
                          "LIMIT 8)",
    [Q_THROTTLE_HAS] = "SELECT 1 FROM throttle WHERE user=? AND tenant=?",
    [Q_THROTTLE_COUNT] = "SELECT count(*) FROM throttle",
    /* a full table gives up the oldest unlocked row; a locked row is never given up */
    [Q_THROTTLE_EVICT] = "DELETE FROM throttle WHERE (user,tenant) IN (SELECT user,tenant FROM "
                         "throttle WHERE locked_until<=?1 ORDER BY updated LIMIT 1)",
};

struct ta_store {
	sqlite3 *db;
	sqlite3_stmt *q[Q_COUNT];
	int schema;
	int in_txn;
	unsigned long throttle_cap; /* most throttle rows (TA_THROTTLE_MAX) */
};

/* Schema steps: migrations[i] brings a store from version i to i + 1. */
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
};

const char *ta_store_errmsg(ta_store *st)
{
	return st && st->db ? sqlite3_errmsg(st->db) : "no store";
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

static int exec(ta_store *st, const char *sql)
{
	return map_rc(sqlite3_exec(st->db, sql, NULL, NULL, NULL));
}

static int pragma_int(ta_store *st, const char *sql, int *out)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);

	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		*out = sqlite3_column_int(s, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return map_rc(rc);
}

int ta_store_begin(ta_store *st)
{
	int r = exec(st, "BEGIN IMMEDIATE");

	if (r == TA_OK)
		st->in_txn = 1;
	return r;
}

int ta_store_commit(ta_store *st)
{
	int r;

	if (!st->in_txn)
		return TA_OK;
	r = exec(st, "COMMIT");
	if (r != TA_OK)
		ta_store_rollback(st);
	st->in_txn = 0;
	return r;
}

void ta_store_rollback(ta_store *st)
{
	if (st != NULL && st->in_txn) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		st->in_txn = 0;
	}
}

int ta_store_schema(ta_store *st)
{
	return st->schema;
}

/* Read the marker and version; no lock is taken. */
static int read_version(ta_store *st, int *app, int *version)
{
	int r = pragma_int(st, "PRAGMA application_id", app);

	return r == TA_OK ? pragma_int(st, "PRAGMA user_version", version) : r;
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
 * Bring the schema up to date.  The common case (already current) takes
 * no lock, so logins never queue behind each other just to open the store.
 */
static int migrate(ta_store *st, int fresh, char *err, size_t errlen)
{
	int version = 0, app = 0, r;
	char sql[64];

	if ((r = read_version(st, &app, &version)) != TA_OK)
		goto fail;
	if ((r = check_version(fresh, app, version, err, errlen)) != TA_OK ||
	    version == TA_STORE_SCHEMA)
		goto done;
	/* Re-read under the write lock: another process may have migrated. */
	if ((r = ta_store_begin(st)) != TA_OK || (r = read_version(st, &app, &version)) != TA_OK)
		goto fail;
	if ((r = check_version(fresh, app, version, err, errlen)) != TA_OK)
		goto done;
	for (; version < TA_STORE_SCHEMA; version++)
		if ((r = exec(st, migrations[version])) != TA_OK)
			goto fail;
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", TA_STORE_SCHEMA);
	if ((r = exec(st, sql)) != TA_OK)
		goto fail;
	snprintf(sql, sizeof(sql), "PRAGMA application_id=%d", APP_ID);
	if (fresh && (r = exec(st, sql)) != TA_OK)
		goto fail;
	if ((r = ta_store_commit(st)) != TA_OK)
		goto fail;
	goto done;
fail:
	snprintf(err, errlen, "cannot read or update the store: %s", sqlite3_errmsg(st->db));
done:
	ta_store_rollback(st);
	if (r == TA_OK)
		st->schema = TA_STORE_SCHEMA;
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

/* Check the file and folder, then make sure SQLite opened that same file. */
static int check_file(const char *path, struct stat *st_out, char *err, size_t errlen)
{
	int fd = -1, r;

	if ((r = ta_file_check_dir(path, err, errlen)) != TA_OK)
		return r;
	if ((r = ta_file_open(path, O_RDONLY, TA_FILE_PLAIN, &fd, err, errlen)) != TA_OK)
		return r;
	if (fstat(fd, st_out) != 0)
		r = TA_ERR_UNAVAILABLE;
	close(fd);
	return r;
}

static int prepare_all(ta_store *st)
{
	for (int i = 0; i < Q_COUNT; i++) {
		int rc = sqlite3_prepare_v3(st->db, queries[i], -1, SQLITE_PREPARE_PERSISTENT,
		                            &st->q[i], NULL);
		if (rc != SQLITE_OK)
			return map_rc(rc);
	}
	return TA_OK;
}

static int open_db(ta_store *st, const char *path, const struct stat *before, char *err,
                   size_t errlen)
{
	struct stat after;
	int rc, r;

	rc = sqlite3_open_v2(path, &st->db,
	                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
	                     NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open store: %s", path,
		         st->db ? sqlite3_errmsg(st->db) : "out of memory");
		return map_rc(rc) == TA_OK ? TA_ERR_UNAVAILABLE : map_rc(rc);
	}
	if (stat(path, &after) != 0 || after.st_ino != before->st_ino ||
	    after.st_dev != before->st_dev) {
		snprintf(err, errlen, "%s: store was replaced while opening", path);
		return TA_ERR_INSECURE;
	}
	sqlite3_busy_timeout(st->db, TA_STORE_BUSY_MS);
	sqlite3_extended_result_codes(st->db, 0);
	/* Short-lived hosts (a PAM handle per request) open and close the store
	 * all the time; the last closer would checkpoint, fsync and delete the
	 * WAL each time.  Leave that to the automatic checkpoints of writers. */
	int on = 1;
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	sqlite3_file_control(st->db, "main", SQLITE_FCNTL_PERSIST_WAL, &on);
	/* WAL: readers never wait for writers; NORMAL sync is safe in WAL. */
	r = exec(st, "PRAGMA journal_mode=WAL");
	if (r == TA_OK)
		/* temp_store=MEMORY: SQLite makes no temporary files, so a TMPDIR
		 * or SQLITE_TMPDIR the host read before us never matters */
		r = exec(st, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF; PRAGMA "
		             "trusted_schema=OFF; PRAGMA temp_store=MEMORY");
	if (r != TA_OK)
		snprintf(err, errlen, "%s: %s: %s", path,
		         r == TA_ERR_CORRUPT ? "not a tokenauth store, or damaged"
		                             : "cannot use store",
		         sqlite3_errmsg(st->db));
	return r;
}

int ta_store_open(const char *path, int create, ta_store **out, char *err, size_t errlen)
{
	ta_store *st = NULL;
	struct stat before;
	char msg[256];
	int r;

	*out = NULL;
	if (create && (r = create_file(path, err, errlen)) != TA_OK)
		return r;
	if ((r = check_file(path, &before, err, errlen)) != TA_OK)
		return r;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return TA_ERR_NOMEM;
	st->throttle_cap = TA_THROTTLE_MAX;
	if ((r = open_db(st, path, &before, err, errlen)) != TA_OK)
		goto out;
	if ((r = migrate(st, create, msg, sizeof(msg))) != TA_OK) {
		snprintf(err, errlen, "%s: %s", path, msg);
		if (r == TA_ERR_UNAVAILABLE && strstr(msg, "not a database") != NULL)
			r = TA_ERR_CORRUPT;
		goto out;
	}
	if ((r = prepare_all(st)) != TA_OK) {
		snprintf(err, errlen, "%s: store schema is damaged: %s", path,
		         sqlite3_errmsg(st->db));
		r = TA_ERR_CORRUPT;
		goto out;
	}
	*out = st;
	st = NULL;
out:
	ta_store_close(st);
	return r;
}

/*
 * Closing skips SQLite's checkpoint (see open_db), so a WAL grown by bulk
 * writes would be re-read by every process that opens the store next.
 * Past TA_WAL_TRIM, fold it back and truncate it, waiting only briefly
 * for readers: one close in many pays for the sync, every open stays cheap.
 */
static void trim_wal(ta_store *st)
{
	const char *wal = sqlite3_filename_wal(sqlite3_db_filename(st->db, "main"));
	struct stat sb;

	if (wal == NULL || stat(wal, &sb) != 0 || sb.st_size <= TA_WAL_TRIM)
		return;
	sqlite3_busy_timeout(st->db, 50);
	sqlite3_wal_checkpoint_v2(st->db, "main", SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
}

void ta_store_close(ta_store *st)
{
	if (st == NULL)
		return;
	ta_store_rollback(st);
	if (st->db != NULL)
		trim_wal(st);
	for (int i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(st->q[i]);
	sqlite3_close(st->db);
	free(st);
}

/* Reset and clear a cached statement after use. */
static void done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) == SQLITE_OK ? TA_OK : TA_ERR_NOMEM;
}

static void copy_col(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	size_t n = t ? strlen((const char *)t) : 0;

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, t ? (const char *)t : "", n);
	dst[n] = '\0';
}

static void read_token_row(sqlite3_stmt *s, struct ta_token_row *row, int with_params)
{
	copy_col(s, 0, row->id, sizeof(row->id));
	copy_col(s, 1, row->user, sizeof(row->user));
	copy_col(s, 2, row->tenant, sizeof(row->tenant));
	row->kind = sqlite3_column_int(s, 3);
	row->created = sqlite3_column_int64(s, 4);
	row->expires = sqlite3_column_int64(s, 5);
	row->revoked = sqlite3_column_int64(s, 6);
	row->params = NULL;
	if (with_params && sqlite3_column_type(s, 7) == SQLITE_TEXT)
		row->params = strdup((const char *)sqlite3_column_text(s, 7));
}

int ta_store_token_find(ta_store *st, const uint8_t hash[TA_SHA256_LEN], int want_params,
                        struct ta_token_row *row)
{
	sqlite3_stmt *s = st->q[want_params ? Q_TOKEN_FIND_P : Q_TOKEN_FIND];
	int rc, r;

	sqlite3_bind_blob(s, 1, hash, TA_SHA256_LEN, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		read_token_row(s, row, want_params);
		r = want_params && sqlite3_column_type(s, 7) == SQLITE_TEXT && row->params == NULL
		        ? TA_ERR_NOMEM
		        : TA_OK;
	} else {
		r = rc == SQLITE_DONE ? TA_ERR_NOT_FOUND : map_rc(rc);
	}
	done(s);
	return r;
}

/* Run a one-off statement built by the caller's binder; returns changes. */
static int run(ta_store *st, const char *sql, int (*bind)(sqlite3_stmt *, const void *),
               const void *arg, unsigned *changes)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL), r;

	if (rc != SQLITE_OK)
		return map_rc(rc);
	if ((r = bind(s, arg)) == TA_OK) {
		rc = sqlite3_step(s);
		r = rc == SQLITE_DONE ? TA_OK : map_rc(rc);
		if (r == TA_OK && rc != SQLITE_DONE)
			r = TA_ERR_UNAVAILABLE;
	}
	if (changes != NULL)
		*changes = (unsigned)sqlite3_changes(st->db);
	sqlite3_finalize(s);
	return r;
}

struct token_insert {
	const uint8_t *hash;
	const struct ta_token_row *row;
};

static int bind_token_insert(sqlite3_stmt *s, const void *arg)
{
	const struct token_insert *t = arg;

	sqlite3_bind_blob(s, 1, t->hash, TA_SHA256_LEN, SQLITE_STATIC);
	bind_text(s, 2, t->row->id);
	bind_text(s, 3, t->row->user);
	bind_text(s, 4, t->row->tenant);
	sqlite3_bind_int(s, 5, t->row->kind);
	sqlite3_bind_int64(s, 6, t->row->created);
	sqlite3_bind_int64(s, 7, t->row->expires);
	if (t->row->params != NULL)
		bind_text(s, 8, t->row->params);
	return TA_OK;
}

int ta_store_token_insert(ta_store *st, const uint8_t hash[TA_SHA256_LEN],
                          const struct ta_token_row *row)
{
	struct token_insert t = {hash, row};

	return run(st,
	           "INSERT INTO tokens(hash,id,user,tenant,kind,created,expires,revoked,params) "
	           "VALUES(?,?,?,?,?,?,?,0,?)",
	           bind_token_insert, &t, NULL);
}

struct revoke_args {
	const char *id, *user, *tenant;
	int64_t now;
};

static int bind_revoke(sqlite3_stmt *s, const void *arg)
{
	const struct revoke_args *a = arg;

	sqlite3_bind_int64(s, 1, a->now);
	bind_text(s, 2, a->id ? a->id : a->user);
	if (a->tenant != NULL)
		bind_text(s, 3, a->tenant);
	return TA_OK;
}

int ta_store_token_revoke_id(ta_store *st, const char *id, int64_t now)
{
	struct revoke_args a = {id, NULL, NULL, now};
	unsigned n = 0;
	int r =
	    run(st, "UPDATE tokens SET revoked=?1 WHERE id=?2 AND revoked=0", bind_revoke, &a, &n);

	if (r == TA_OK && n == 0) {
		sqlite3_stmt *s = NULL;
		/* Distinguish "no such id" from "already revoked". */
		if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM tokens WHERE id=?", -1, &s, NULL) !=
		    SQLITE_OK)
			return TA_ERR_UNAVAILABLE;
		bind_text(s, 1, id);
		r = sqlite3_step(s) == SQLITE_ROW ? TA_ERR_REVOKED : TA_ERR_NOT_FOUND;
		sqlite3_finalize(s);
	}
	return r;
}

int ta_store_token_revoke_user(ta_store *st, const char *user, const char *tenant, int64_t now,
                               unsigned *count)
{
	struct revoke_args a = {NULL, user, tenant, now};

	return run(st,
	           tenant ? "UPDATE tokens SET revoked=?1 WHERE user=?2 AND tenant=?3 AND revoked=0"
	                  : "UPDATE tokens SET revoked=?1 WHERE user=?2 AND revoked=0",
	           bind_revoke, &a, count);
}

int ta_store_token_list(ta_store *st, const char *user,
                        int (*cb)(void *arg, const struct ta_token_row *row), void *arg)
{
	sqlite3_stmt *s = NULL;
	int rc, r = TA_OK;
	const char *sql = user ? "SELECT id,user,tenant,kind,created,expires,revoked,params FROM "
	                         "tokens WHERE user=? ORDER BY user,tenant,created,id"
	                       : "SELECT id,user,tenant,kind,created,expires,revoked,params FROM "
	                         "tokens ORDER BY user,tenant,created,id";

	if ((rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL)) != SQLITE_OK)
		return map_rc(rc);
	if (user != NULL)
		bind_text(s, 1, user);
	while (r == TA_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct ta_token_row row;
		read_token_row(s, &row, 1);
		r = cb(arg, &row);
		free(row.params);
	}
	if (r == TA_OK && rc != SQLITE_DONE)
		r = map_rc(rc);
	sqlite3_finalize(s);
	return r;
}

int ta_store_has_credential(ta_store *st, const char *user, const char *tenant, int *has)
{
	sqlite3_stmt *s = st->q[Q_HAS_CRED];
	int rc;

	bind_text(s, 1, user);
	bind_text(s, 2, tenant);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*has = sqlite3_column_int(s, 0);
	done(s);
	return rc == SQLITE_ROW ? TA_OK : map_rc(rc);
}

/*
 * OTP counters and time steps sit in a signed 64-bit column.  A row is
 * created with next <= TA_OTP_COUNTER_MAX (2^62) and only ever advanced to
 * a larger value no greater than INT64_MAX, which leaves 2^62 acceptances
 * of headroom: far more than any authenticator can produce, and no value
 * on the way can reach the sign bit.  A negative next (a wrapped counter
 * written by an older version) is a damaged row, never a small counter.
 */
static int read_otp_row(sqlite3_stmt *s, int col, struct ta_otp_row *row)
{
	const void *blob;
	sqlite3_int64 next;
	int n;

	row->p.type = (ta_otp_type)sqlite3_column_int(s, col + 0);
	row->p.alg = (ta_hash_alg)sqlite3_column_int(s, col + 1);
	row->p.digits = (unsigned)sqlite3_column_int(s, col + 2);
	row->p.period = (unsigned)sqlite3_column_int(s, col + 3);
	next = sqlite3_column_int64(s, col + 4);
	row->next = next < 0 ? 0 : (uint64_t)next;
	row->created = sqlite3_column_int64(s, col + 5);
	blob = sqlite3_column_blob(s, col + 6);
	n = sqlite3_column_bytes(s, col + 6);
	if (next < 0 || blob == NULL || n <= 0 || (size_t)n > sizeof(row->sealed) ||
	    (row->p.type != TA_OTP_HOTP && row->p.type != TA_OTP_TOTP) ||
	    ta_hash_len(row->p.alg) == 0 || row->p.digits < 6 || row->p.digits > 8 ||
	    (row->p.type == TA_OTP_TOTP && row->p.period == 0))
		return TA_ERR_CORRUPT;
	memcpy(row->sealed, blob, (size_t)n);
	row->sealed_len = (size_t)n;
	return TA_OK;
}

int ta_store_otp_get(ta_store *st, const char *user, const char *tenant, struct ta_otp_row *row)
{
	sqlite3_stmt *s = st->q[Q_OTP_GET];
	int rc, r;

	bind_text(s, 1, user);
	bind_text(s, 2, tenant);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		r = read_otp_row(s, 0, row);
	else
		r = rc == SQLITE_DONE ? TA_ERR_NOT_FOUND : map_rc(rc);
	done(s);
	return r;
}

struct otp_put {
	const char *user, *tenant;
	const struct ta_otp_row *row;
};

static int bind_otp_put(sqlite3_stmt *s, const void *arg)
{
	const struct otp_put *o = arg;

	bind_text(s, 1, o->user);
	bind_text(s, 2, o->tenant);
	sqlite3_bind_int(s, 3, (int)o->row->p.type);
	sqlite3_bind_int(s, 4, (int)o->row->p.alg);
	sqlite3_bind_int(s, 5, (int)o->row->p.digits);
	sqlite3_bind_int(s, 6, (int)o->row->p.period);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)o->row->next);
	sqlite3_bind_int64(s, 8, o->row->created);
	sqlite3_bind_blob(s, 9, o->row->sealed, (int)o->row->sealed_len, SQLITE_STATIC);
	return TA_OK;
}

int ta_store_otp_put(ta_store *st, const char *user, const char *tenant,
                     const struct ta_otp_row *row, int replace)
{
	struct otp_put o = {user, tenant, row};

	if (row->next > TA_OTP_COUNTER_MAX)
		return TA_ERR_INPUT;
	return run(st,
	           replace
	               ? "INSERT OR REPLACE INTO otp(user,tenant,type,alg,digits,period,next,"
	                 "created,secret) VALUES(?,?,?,?,?,?,?,?,?)"
	               : "INSERT INTO otp(user,tenant,type,alg,digits,period,next,created,secret) "
	                 "VALUES(?,?,?,?,?,?,?,?,?)",
	           bind_otp_put, &o, NULL);
}

/*
 * A counter past INT64_MAX cannot be stored, and one that does not move the
 * row forward means the code was already used (or the row is gone): both
 * are refusals, so a matched code is accepted only when its counter
 * really moved.
 */
int ta_store_otp_advance(ta_store *st, const char *user, const char *tenant, uint64_t next)
{
	sqlite3_stmt *s = st->q[Q_OTP_ADVANCE];
	int rc, changed;

	if (next == 0 || next > (uint64_t)INT64_MAX)
		return TA_ERR_REPLAY;
	bind_text(s, 1, user);
	bind_text(s, 2, tenant);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)next);
	rc = sqlite3_step(s);
	changed = sqlite3_changes(st->db);
	done(s);
	if (rc != SQLITE_DONE)
		return map_rc(rc);
	return changed == 1 ? TA_OK : TA_ERR_REPLAY;
}

struct user_tenant {
	const char *user, *tenant;
};

static int bind_user_tenant(sqlite3_stmt *s, const void *arg)
{
	const struct user_tenant *u = arg;

	bind_text(s, 1, u->user);
	if (u->tenant != NULL)
		bind_text(s, 2, u->tenant);
	return TA_OK;
}

int ta_store_otp_delete(ta_store *st, const char *user, const char *tenant)
{
	struct user_tenant u = {user, tenant};
	unsigned n = 0;
	int r = run(st, "DELETE FROM otp WHERE user=? AND tenant=?", bind_user_tenant, &u, &n);

	return r == TA_OK && n == 0 ? TA_ERR_NOT_FOUND : r;
}

int ta_store_otp_list(ta_store *st, const char *user,
                      int (*cb)(void *arg, const char *user, const char *tenant,
                                const struct ta_otp_row *row),
                      void *arg)
{
	sqlite3_stmt *s = NULL;
	int rc, r = TA_OK;
	const char *sql = user ? "SELECT user,tenant,type,alg,digits,period,next,created,secret "
	                         "FROM otp WHERE user=? ORDER BY user,tenant"
	                       : "SELECT user,tenant,type,alg,digits,period,next,created,secret "
	                         "FROM otp ORDER BY user,tenant";

	if ((rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL)) != SQLITE_OK)
		return map_rc(rc);
	if (user != NULL)
		bind_text(s, 1, user);
	while (r == TA_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct ta_otp_row row;
		if ((r = read_otp_row(s, 2, &row)) == TA_OK)
			r = cb(arg, (const char *)sqlite3_column_text(s, 0),
			       (const char *)sqlite3_column_text(s, 1), &row);
		ta_wipe(&row, sizeof(row));
	}
	if (r == TA_OK && rc != SQLITE_DONE)
		r = map_rc(rc);
	sqlite3_finalize(s);
	return r;
}

int ta_store_throttle_get(ta_store *st, const char *user, const char *tenant, struct ta_throttle *t)
{
	sqlite3_stmt *s = st->q[Q_THROTTLE_GET];
	int rc;

	memset(t, 0, sizeof(*t));
	bind_text(s, 1, user);
	bind_text(s, 2, tenant);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		t->failures = (unsigned)sqlite3_column_int(s, 0);
		t->lockouts = (unsigned)sqlite3_column_int(s, 1);
		t->locked_until = sqlite3_column_int64(s, 2);
	}
	done(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? TA_OK : map_rc(rc);
}

/* One row-less statement with up to two integer parameters. */
static int step_ints(ta_store *st, int q, int64_t a, int64_t b, int64_t *col0)
{
	sqlite3_stmt *s = st->q[q];
	int rc;

	if (sqlite3_bind_parameter_count(s) >= 1)
		sqlite3_bind_int64(s, 1, a);
	if (sqlite3_bind_parameter_count(s) >= 2)
		sqlite3_bind_int64(s, 2, b);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && col0 != NULL)
		*col0 = sqlite3_column_int64(s, 0);
	done(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? TA_OK : map_rc(rc);
}

/*
 * Make room for a new row: forget stale streaks, and when the table is
 * still at its cap give up the oldest unlocked row.  TA_ERR_EXISTS when
 * every row is locked: the caller refuses rather than forget a lockout.
 */
static int throttle_room(ta_store *st, const char *user, const char *tenant, int64_t now,
                         int capped)
{
	sqlite3_stmt *s = st->q[Q_THROTTLE_HAS];
	int64_t rows = 0;
	int rc, r;

	if ((r = step_ints(st, Q_THROTTLE_EXPIRE, now - TA_THROTTLE_IDLE, now, NULL)) != TA_OK)
		return r;
	bind_text(s, 1, user);
	bind_text(s, 2, tenant);
	rc = sqlite3_step(s);
	done(s);
	if (rc == SQLITE_ROW)
		return TA_OK; /* an update needs no room */
	if (rc != SQLITE_DONE)
		return map_rc(rc);
	if (!capped)
		return TA_OK; /* enrolled users: as many rows as the store has users */
	if ((r = step_ints(st, Q_THROTTLE_COUNT, 0, 0, &rows)) != TA_OK ||
	    (uint64_t)rows < st->throttle_cap)
		return r;
	if ((r = step_ints(st, Q_THROTTLE_EVICT, now, 0, NULL)) != TA_OK)
		return r;
	return sqlite3_changes(st->db) > 0 ? TA_OK : TA_ERR_EXISTS;
}

void ta_store_set_throttle_cap(ta_store *st, unsigned long cap)
{
	st->throttle_cap = cap > 0 ? cap : TA_THROTTLE_MAX;
}

int ta_store_throttle_put(ta_store *st, const char *user, const char *tenant,
                          const struct ta_throttle *t, int64_t now, int capped)
{
	sqlite3_stmt *s = st->q[Q_THROTTLE_PUT];
	int rc, r;

	if ((r = throttle_room(st, user, tenant, now, capped)) != TA_OK)
		return r;
	bind_text(s, 1, user);
	bind_text(s, 2, tenant);
	sqlite3_bind_int(s, 3, (int)t->failures);
	sqlite3_bind_int(s, 4, (int)t->lockouts);
	sqlite3_bind_int64(s, 5, t->locked_until);
	sqlite3_bind_int64(s, 6, now);
	rc = sqlite3_step(s);
	done(s);
	return rc == SQLITE_DONE ? TA_OK : map_rc(rc);
}

int ta_store_throttle_clear(ta_store *st, const char *user, const char *tenant, unsigned *count)
{
	struct user_tenant u = {user, tenant};

	return run(st,
	           tenant ? "DELETE FROM throttle WHERE user=? AND tenant=?"
	                  : "DELETE FROM throttle WHERE user=?",
	           bind_user_tenant, &u, count);
}
