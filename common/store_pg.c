/*
 * store_pg.c - the PostgreSQL store engine: the same semantics as
 * store_sqlite.c over a libpq connection.
 *
 * A store is named "postgresql:<dsn file>": the file (0600, checked as a
 * secret) holds a libpq connection string or URI.  It is read, used and
 * wiped on each connect; the string is never logged: it is parsed first
 * and refused with a fixed message when libpq cannot read it (libpq's own
 * parse errors quote it); connect errors name hosts and users, never
 * passwords.  Every query is constant SQL with bound parameters,
 * prepared once per connection on first use (PQsendPrepare, then
 * PQsendQueryPrepared: one round trip, no parse or plan) and transaction
 * control goes through PQsendQueryParams, each answer awaited for at most
 * PG_ANSWER_MS; integers and blobs travel in binary.  A libpq error is TA_ERR_UNAVAILABLE, never a verdict; a lost
 * connection is reopened once, on the next call.
 *
 * Writers take transaction-scoped advisory locks up front, on any node:
 *  - begin (schema migration, a copy's destination, an OATH import, an
 *    unlock of every tenant) takes the store lock, PG_LOCK_KEY, in
 *    exclusive mode: the write lock of SQLite's BEGIN IMMEDIATE;
 *  - begin_user (the verify path, an OTP enrolment, an unlock) takes the
 *    store lock in shared mode, then the lock of its (user, tenant): the
 *    two-int key (PG_APP_ID, hashtext of the length-prefixed names), so
 *    the read-modify-write sequences of verify.c (failure counts, OTP
 *    checks) see no other writer of that user's rows between their read
 *    and their write, while other users go on in parallel (two users
 *    whose keys collide only wait for each other);
 *  - a capped throttle row that is new takes PG_CAP_KEY too, for the
 *    count and the eviction that bound the table (throttle_write).
 * Always in that order (store, user, cap, then row locks), and a holder
 * of a row lock waits for nothing but its own row: no cycle (SECURITY.md,
 * "The PostgreSQL store").
 */
#define _GNU_SOURCE /* O_PATH */
#include "file.h"
#include "lazy.h"
#include "store_int.h"
#include "verify.h" /* ta_getpid */

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#define PG_PREFIX     "postgresql:"
#define PG_PREFIX_LEN 11
#define PG_APP_ID     0x546b4175   /* "TkAu", as the SQLite store's application id */
#define PG_LOCK_KEY   "1416315253" /* the store's advisory lock (PG_APP_ID) */
#define PG_CAP_KEY    "1416315254" /* the lock of the capped throttle rows */
#define PG_DSN_MAX    4096
#define PG_TIMEOUT_MS "5000" /* statement_timeout and lock_timeout */
/* Our own bound on one statement's answer, whatever the server does: a
 * server that stalls (stopped, a disk that hangs, or a man in the middle
 * that keeps the connection open and answers nothing) would otherwise
 * hang a login for ever; the server's own timeouts need a server that
 * runs them.  Above PG_TIMEOUT_MS, so a slow statement still gets the
 * server's error. */
#define PG_ANSWER_MS 15000

/* Parameter types (pg_type OIDs) */
#define OID_BYTEA 17
#define OID_INT8  20
#define OID_TEXT  25

#define NPARAM    11 /* parameters of a statement, at most */
#define NPREPARED 64 /* statements prepared per connection, at most */

/* A statement prepared on a connection: one of this file's constant
 * SQL strings, with the parameter types it was prepared with. */
struct prepared {
	const char *sql;
	Oid types[NPARAM];
	int n;
};

struct pg_store {
	struct ta_store base; /* first: handles are cast back and forth */
	PGconn *conn;
	char *dsn_file;
	pid_t conn_pid; /* process that made conn: a child never uses it */
	int txn;        /* in a transaction of ours */
	/* Statements prepared on conn, in order (name "ta<i>"); emptied
	 * with the connection. */
	struct prepared prep[NPREPARED];
	int nprep;
	int lost; /* the connection went away inside a transaction */
	int ro;   /* TA_STORE_OPEN_READONLY: every session read-only */
	/* A parent's connection, in a forked child: never used, never closed
	 * (PQfinish would send Terminate on the parent's socket); kept here so
	 * that it stays reachable.  No global list: a module has no writable
	 * global state beyond store.c's pool. */
	PGconn *parents;
	char msg[256];    /* last error */
	char secret[256]; /* the DSN's password while connecting, wiped after */
};

static struct pg_store *PG(ta_store *st)
{
	return (struct pg_store *)st;
}

/* ---- schema ----------------------------------------------------------------- */

/* Schema steps: each a list of single statements, NULL-terminated. */
static const char *const m1[] = {
    "CREATE TABLE tokenauth_schema(app bigint NOT NULL, version bigint NOT NULL)",
    "INSERT INTO tokenauth_schema(app, version) VALUES (1416315253, 0)",
    "CREATE TABLE tokens(hash bytea PRIMARY KEY, id text COLLATE \"C\" NOT NULL UNIQUE,"
    " \"user\" text COLLATE \"C\" NOT NULL, tenant text COLLATE \"C\" NOT NULL,"
    " kind bigint NOT NULL, created bigint NOT NULL, expires bigint NOT NULL,"
    " revoked bigint NOT NULL DEFAULT 0)",
    "CREATE INDEX tokens_user ON tokens(\"user\", tenant)",
    "CREATE TABLE otp(\"user\" text COLLATE \"C\" NOT NULL, tenant text COLLATE \"C\" NOT NULL,"
    " type bigint NOT NULL, alg bigint NOT NULL, digits bigint NOT NULL,"
    " period bigint NOT NULL, next bigint NOT NULL, created bigint NOT NULL,"
    " secret bytea NOT NULL, PRIMARY KEY(\"user\", tenant))",
    "CREATE TABLE throttle(\"user\" text COLLATE \"C\" NOT NULL,"
    " tenant text COLLATE \"C\" NOT NULL, failures bigint NOT NULL,"
    " locked_until bigint NOT NULL, PRIMARY KEY(\"user\", tenant))",
    NULL};
static const char *const m2[] = {
    "ALTER TABLE tokens ADD COLUMN params text",
    "ALTER TABLE throttle ADD COLUMN lockouts bigint NOT NULL DEFAULT 0", NULL};
static const char *const m3[] = {
    "ALTER TABLE throttle ADD COLUMN updated bigint NOT NULL DEFAULT 0",
    "CREATE INDEX throttle_updated ON throttle(updated)", NULL};
/* migrations[i] brings a store from version i to i + 1 */
/* token labels and coarse last use; portal sessions, by the id's hash */
static const char *const m4[] = {
    "ALTER TABLE tokens ADD COLUMN label text",
    "ALTER TABLE tokens ADD COLUMN last_used bigint NOT NULL DEFAULT 0",
    "CREATE TABLE sessions(hash bytea PRIMARY KEY, \"user\" text COLLATE \"C\" NOT NULL,"
    " tenant text COLLATE \"C\" NOT NULL, created bigint NOT NULL, seen bigint NOT NULL)",
    "CREATE INDEX sessions_seen ON sessions(seen)", NULL};
/* which throttle rows live under the cap, written with the row, so that a
 * full table counts and evicts through one partial index */
static const char *const m5[] = {
    "ALTER TABLE throttle ADD COLUMN capped bigint NOT NULL DEFAULT 0 CHECK(capped IN (0,1))",
    "UPDATE throttle t SET capped=1 WHERE NOT EXISTS(SELECT 1 FROM otp o WHERE "
    "o.\"user\"=t.\"user\" AND o.tenant=t.tenant) AND NOT EXISTS(SELECT 1 FROM tokens k "
    "WHERE k.\"user\"=t.\"user\" AND k.tenant=t.tenant)",
    "CREATE INDEX throttle_capped ON throttle(capped, GREATEST(locked_until, updated)) WHERE "
    "capped=1",
    /* a user enrolled here (by any path: issue, enroll, import, copy) is
     * one from then on: the row's flag must not wait for the next failure */
    /* as tokenauth_otp_forward (postgresql-roles.sql): its own search_path,
     * nobody else's to call */
    "CREATE OR REPLACE FUNCTION public.tokenauth_enrolled() RETURNS trigger LANGUAGE plpgsql "
    "SET search_path = pg_catalog, pg_temp AS 'BEGIN UPDATE public.throttle SET capped=0 "
    "WHERE \"user\"=NEW.\"user\" AND tenant=NEW.tenant AND capped=1; RETURN NULL; END'",
    "REVOKE ALL ON FUNCTION public.tokenauth_enrolled() FROM PUBLIC",
    "CREATE TRIGGER throttle_enrolled_otp AFTER INSERT ON otp FOR EACH ROW EXECUTE FUNCTION "
    "public.tokenauth_enrolled()",
    "CREATE TRIGGER throttle_enrolled_token AFTER INSERT ON tokens FOR EACH ROW EXECUTE "
    "FUNCTION public.tokenauth_enrolled()",
    NULL};
/* when a capped row may go (store.h), as the index and the query both say it */
#define PG_EVICT_AT TA_THROTTLE_EVICT_SQL("GREATEST", "LEAST", "::integer")
/* a capped row goes an hour after its last write or lockout end, doubled
 * per lockout it holds (helper-50, helper-51).  Schema 6's index,
 * throttle_evict, ranked by GREATEST(locked_until, updated) plus the
 * doubled hour; m7 replaces it in the same transaction, so it is made
 * there only, after the rows it adds to are in range */
static const char *const m6[] = {"DROP INDEX throttle_capped", NULL};
/* the doubled wait counts from the lockout's end only, the plain hour from
 * the last write (helper-53 F1); times and counts no program wrote (a
 * tampered row) are brought into the range the rank adds to: before, one
 * near 2^63 failed the migration with "bigint out of range" (helper-53 F4) */
static const char *const m7[] = {
    "UPDATE throttle SET locked_until=LEAST(GREATEST(locked_until,0)," TA_STORE_TIME_MAX_S "),"
    " updated=LEAST(GREATEST(updated,0)," TA_STORE_TIME_MAX_S "), lockouts=LEAST(GREATEST("
    "lockouts,0),2147483647), failures=LEAST(GREATEST(failures,0),2147483647) WHERE "
    "locked_until NOT BETWEEN 0 AND " TA_STORE_TIME_MAX_S
    " OR updated NOT BETWEEN 0 AND " TA_STORE_TIME_MAX_S
    " OR lockouts NOT BETWEEN 0 AND 2147483647 OR failures NOT BETWEEN 0 "
    "AND 2147483647",
    "DROP INDEX IF EXISTS throttle_evict",
    "CREATE INDEX throttle_evict ON throttle(capped, (" PG_EVICT_AT ")) WHERE capped=1", NULL};
static const char *const *const migrations[TA_STORE_SCHEMA] = {m1, m2, m3, m4, m5, m6, m7};

/* ---- queries ------------------------------------------------------------------ */

struct param {
	Oid type;
	const char *text; /* OID_TEXT */
	int64_t num;      /* OID_INT8 */
	const void *blob; /* OID_BYTEA */
	int len;
};

#define P_TEXT(s)    ((struct param){OID_TEXT, (s), 0, NULL, 0})
#define P_INT(n)     ((struct param){OID_INT8, NULL, (int64_t)(n), NULL, 0})
#define P_BLOB(b, n) ((struct param){OID_BYTEA, NULL, 0, (b), (int)(n)})

static void set_msg(struct pg_store *s, const char *what, const char *detail)
{
	size_t n;

	snprintf(s->msg, sizeof(s->msg), "postgresql store: %s%s%s", what, detail ? ": " : "",
	         detail ? detail : "");
	n = strlen(s->msg);
	while (n > 0 && (s->msg[n - 1] == '\n' || s->msg[n - 1] == ' '))
		s->msg[--n] = '\0';
}

/* A failed result's error code: a constraint is EXISTS, a missing table or
 * column (our schema damaged) CORRUPT, anything else UNAVAILABLE. */
static int map_result(struct pg_store *s, PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	set_msg(s, "query failed", s->conn ? PQerrorMessage(s->conn) : "no connection");
	if (state == NULL)
		return TA_ERR_UNAVAILABLE;
	if (strncmp(state, "23", 2) == 0)
		return TA_ERR_EXISTS;
	if (strcmp(state, "42P01") == 0 || strcmp(state, "42703") == 0)
		return TA_ERR_CORRUPT;
	return TA_ERR_UNAVAILABLE;
}

static void drop_conn(struct pg_store *s);

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)(t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * The answer to the one statement just sent (sent: what PQsend* said),
 * waited for at most PG_ANSWER_MS in all: PQexec's result (an error
 * result before any other), or NULL.  When the server does not answer in
 * time the connection is dropped (its state is unknown: a transaction on
 * it is lost) and NULL comes back with s->msg saying why.
 */
static PGresult *await(struct pg_store *s, int sent)
{
	struct timespec t0;
	PGresult *res = NULL, *next;

	if (!sent)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		while (PQisBusy(s->conn)) {
			struct pollfd p = {.fd = PQsocket(s->conn), .events = POLLIN};
			long left = PG_ANSWER_MS - ms_since(&t0);
			int n = left > 0 ? poll(&p, 1, (int)left) : 0;

			if (n < 0 && errno == EINTR)
				continue;
			if (n == 0) {
				PQclear(res);
				set_msg(s, "no answer from the server within 15 s: connection dropped",
				        NULL);
				if (s->txn)
					s->lost = 1;
				drop_conn(s);
				return NULL;
			}
			if (n < 0 || !PQconsumeInput(s->conn))
				break; /* PQgetResult reports the broken connection */
		}
		if ((next = PQgetResult(s->conn)) == NULL)
			break;
		if (res != NULL && PQresultStatus(res) == PGRES_FATAL_ERROR) {
			PQclear(next); /* the first error is the answer */
			continue;
		}
		PQclear(res);
		res = next;
		if (PQstatus(s->conn) == CONNECTION_BAD)
			break; /* nothing more will come */
	}
	return res;
}

/* Statements worth preparing: queries, not transaction control or DDL. */
static int preparable(const char *sql)
{
	return strncmp(sql, "SELECT", 6) == 0 || strncmp(sql, "INSERT", 6) == 0 ||
	       strncmp(sql, "UPDATE", 6) == 0 || strncmp(sql, "DELETE", 6) == 0;
}

/*
 * The index of sql prepared on s->conn with these types, preparing it on
 * first use; -1 when it is not to be prepared (or the table is full).
 * *res receives a failed preparation's result (the caller maps and
 * clears it): the same error the statement itself would have given.
 */
static int prepared(struct pg_store *s, const char *sql, int n, const Oid *types, PGresult **res)
{
	char name[16];
	int i;

	*res = NULL;
	for (i = 0; i < s->nprep; i++)
		if (s->prep[i].sql == sql || strcmp(s->prep[i].sql, sql) == 0)
			return s->prep[i].n == n &&
			               memcmp(s->prep[i].types, types, (size_t)n * sizeof(Oid)) == 0
			           ? i
			           : -1;
	if (!preparable(sql) || s->nprep == NPREPARED)
		return -1;
	snprintf(name, sizeof(name), "ta%d", i);
	*res = await(s, PQsendPrepare(s->conn, name, sql, n, types));
	if (*res == NULL || PQresultStatus(*res) != PGRES_COMMAND_OK)
		return -1;
	PQclear(*res);
	*res = NULL;
	s->prep[i].sql = sql;
	memcpy(s->prep[i].types, types, (size_t)n * sizeof(Oid));
	s->prep[i].n = n;
	s->nprep++;
	return i;
}

/*
 * One statement, one round trip: a query through its prepared statement
 * (parsed and planned once per connection), anything else as is.
 */
static PGresult *exec_sql(struct pg_store *s, const char *sql, int n, const Oid *types,
                          const char *const *values, const int *lens, const int *formats)
{
	PGresult *res = NULL;
	char name[16];
	int i = prepared(s, sql, n, types, &res);

	if (res != NULL) /* the preparation failed: its error is the answer */
		return res;
	if (s->conn == NULL) /* dropped: no answer in time */
		return NULL;
	if (i < 0)
		return await(s, PQsendQueryParams(s->conn, sql, n, types, values, lens, formats, 1));
	snprintf(name, sizeof(name), "ta%d", i);
	return await(s, PQsendQueryPrepared(s->conn, name, n, values, lens, formats, 1));
}

/*
 * Run one constant statement with n parameters; binary results.  TA_OK
 * with *out (the caller PQclears it) or an error, *out NULL.
 */
static int run(struct pg_store *s, const char *sql, const struct param *p, int n, PGresult **out)
{
	const char *values[NPARAM];
	Oid types[NPARAM];
	int lens[NPARAM], formats[NPARAM];
	uint64_t be[NPARAM];
	PGresult *res;
	ExecStatusType es;
	int r;

	*out = NULL;
	if (s->conn == NULL || n > NPARAM)
		return TA_ERR_UNAVAILABLE;
	for (int i = 0; i < n; i++) {
		types[i] = p[i].type;
		if (p[i].type == OID_TEXT) {
			values[i] = p[i].text;
			lens[i] = 0;
			formats[i] = 0;
		} else if (p[i].type == OID_INT8) {
			be[i] = htobe64((uint64_t)p[i].num);
			values[i] = (const char *)&be[i];
			lens[i] = 8;
			formats[i] = 1;
		} else {
			values[i] = p[i].blob;
			lens[i] = p[i].len;
			formats[i] = 1;
		}
	}
	res = exec_sql(s, sql, n, types, values, lens, formats);
	if (res == NULL && s->conn == NULL)
		return TA_ERR_UNAVAILABLE; /* timed out: s->msg says so */
	es = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK) {
		*out = res;
		return TA_OK;
	}
	r = map_result(s, res);
	PQclear(res);
	return r;
}

/* Run a statement for its effect; *changes: rows it changed (may be NULL). */
static int run_cmd(struct pg_store *s, const char *sql, const struct param *p, int n,
                   unsigned *changes)
{
	PGresult *res = NULL;
	int r = run(s, sql, p, n, &res);

	if (changes != NULL)
		*changes = r == TA_OK ? (unsigned)strtoul(PQcmdTuples(res), NULL, 10) : 0;
	PQclear(res);
	return r;
}

/* A bigint (or boolean) column of a binary result; 0 when NULL or odd. */
static int64_t get_int(const PGresult *res, int row, int col)
{
	const unsigned char *v = (const unsigned char *)PQgetvalue(res, row, col);
	uint64_t be;

	if (PQgetisnull(res, row, col))
		return 0;
	if (PQgetlength(res, row, col) == 1)
		return v[0] != 0;
	if (PQgetlength(res, row, col) != 8)
		return 0;
	memcpy(&be, v, 8);
	return (int64_t)be64toh(be);
}

static int is_int_col(const PGresult *res, int row, int col)
{
	return !PQgetisnull(res, row, col) && PQgetlength(res, row, col) == 8;
}

static void copy_col(const PGresult *res, int row, int col, char *dst, size_t cap)
{
	const char *t = PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col);
	size_t n = strlen(t);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, t, n);
	dst[n] = '\0';
}

/* ---- connecting ----------------------------------------------------------------- */

static const char *dsn_path(const char *path)
{
	return strncmp(path, PG_PREFIX, PG_PREFIX_LEN) == 0 ? path + PG_PREFIX_LEN : path;
}

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Forget a connection: our own is closed, a parent's is left untouched. */
static void drop_conn(struct pg_store *s)
{
	if (s->conn == NULL)
		return;
	s->nprep = 0; /* prepared statements die with their connection */
	if (s->conn_pid == ta_getpid())
		PQfinish(s->conn);
	else
		s->parents = s->conn;
	s->conn = NULL;
}

/*
 * The DSN as libpq will read it, checked before any connect: a string
 * libpq cannot parse is refused with a fixed message (libpq's own quotes
 * the string, password included), and service= is refused (it would read
 * a service file we do not check).
 */
static int dsn_ok(struct pg_store *s, const char *dsn)
{
	char *why = NULL;
	PQconninfoOption *opts = PQconninfoParse(dsn, &why);
	int r = TA_OK;

	if (why != NULL) {
		ta_wipe(why, strlen(why));
		PQfreemem(why);
	}
	if (opts == NULL) {
		set_msg(s, "the DSN file does not parse as a libpq connection string", NULL);
		return TA_ERR_CONFIG;
	}
	for (PQconninfoOption *o = opts; o->keyword != NULL && r == TA_OK; o++) {
		const char *v = o->val;
		int free_text = strcmp(o->keyword, "password") == 0 ||
		                strcmp(o->keyword, "dbname") == 0 || strcmp(o->keyword, "options") == 0;
		if (v == NULL || v[0] == '\0')
			continue;
		if (strcmp(o->keyword, "service") == 0) {
			set_msg(s, "service= is not supported in the DSN file: name every parameter",
			        NULL);
			r = TA_ERR_CONFIG;
		} else if ((!free_text && strchr(v, '=') != NULL) ||
		           (strcmp(o->keyword, "port") == 0 && strspn(v, "0123456789,") != strlen(v))) {
			/* "host= password=x" parses as host "password=x": libpq would
			 * quote it in its error (and resolve it); a bad port likewise */
			set_msg(s, "the DSN file has a malformed value (a keyword without a value?)",
			        NULL);
			r = TA_ERR_CONFIG;
		} else if (free_text && strcmp(o->keyword, "password") != 0 &&
		           strstr(v, "password=") != NULL) {
			/* "dbname= password=x" parses as dbname "password=x" (options
			 * likewise): the server quotes it back in its error, which
			 * the password backstop below cannot catch (no password) */
			set_msg(s, "the DSN file has a malformed value (a keyword without a value?)",
			        NULL);
			r = TA_ERR_CONFIG;
		} else if (strcmp(o->keyword, "password") == 0) {
			snprintf(s->secret, sizeof(s->secret), "%s", v);
		}
	}
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (o->val != NULL)
			ta_wipe(o->val, strlen(o->val));
	PQconninfoFree(opts);
	return r;
}

/*
 * Connect with the DSN file's string.  Defaults a DSN may override come
 * before it, forced settings after it (later keywords win): TLS with the
 * server's certificate and name verified (sslmode=verify-full: a TCP host
 * needs sslrootcert= in the DSN; Unix sockets use no TLS), no password
 * file, no GSS encryption, no client certificate or root certificate from
 * the caller's home folder, TCP keepalives and a user timeout so a node
 * cut off is noticed in seconds; a bounded connect.  Then the per-session
 * timeouts, idle-in-transaction included: a stalled client cannot hold
 * a writer's lock for long.
 */
static int pg_connect_dsn(struct pg_store *s, const char *dsn)
{
	static const char *const keys[] = {
	    "sslmode",         "passfile",       "gssencmode",        "sslcert",
	    "sslkey",          "sslrootcert",    "sslcrl",            "keepalives",
	    "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout",
	    "dbname",          "connect_timeout", "application_name", NULL};
	/* libpq warns on stderr about a passfile that is not a plain file:
	 * name one that cannot exist (only root makes folders in /) */
	const char *values[] = {"verify-full",
	                        "/nonexistent/tokenauth/pgpass",
	                        "disable",
	                        "/nonexistent/tokenauth/client.crt",
	                        "/nonexistent/tokenauth/client.key",
	                        "/nonexistent/tokenauth/root.crt",
	                        "/nonexistent/tokenauth/root.crl",
	                        "1",
	                        "10",
	                        "5",
	                        "3",
	                        "10000",
	                        dsn,
	                        "3",
	                        "tokenauth",
	                        NULL};
	static const char *const timeouts[] = {"statement_timeout", "lock_timeout",
	                                       "idle_in_transaction_session_timeout"};
	int r;

	if ((r = dsn_ok(s, dsn)) != TA_OK) {
		ta_wipe(s->secret, sizeof(s->secret));
		return r;
	}
	s->conn = PQconnectdbParams(keys, values, 1);
	s->conn_pid = ta_getpid();
	if (s->conn != NULL) /* library code never prints: no NOTICEs on stderr */
		PQsetNoticeProcessor(s->conn, quiet, NULL);
	if (s->conn == NULL || PQstatus(s->conn) != CONNECTION_OK) {
		const char *why = s->conn ? PQerrorMessage(s->conn) : "out of memory";
		/* a backstop: libpq quotes values it refuses */
		if (s->secret[0] != '\0' && strstr(why, s->secret) != NULL)
			why = "(libpq's message withheld: it quotes the DSN)";
		set_msg(s, "connect failed", why);
		ta_wipe(s->secret, sizeof(s->secret));
		drop_conn(s);
		return TA_ERR_UNAVAILABLE;
	}
	ta_wipe(s->secret, sizeof(s->secret));
	for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
		const struct param t[2] = {P_TEXT(timeouts[i]), P_TEXT(PG_TIMEOUT_MS)};
		if ((r = run_cmd(s, "SELECT set_config($1, $2, false)", t, 2, NULL)) != TA_OK) {
			drop_conn(s); /* never a session without its timeouts */
			return r;
		}
	}
	/* a copy's source: the server refuses any write of this session */
	if (s->ro &&
	    (r = run_cmd(s, "SELECT set_config('default_transaction_read_only', 'on', false)", NULL,
	                 0, NULL)) != TA_OK) {
		drop_conn(s);
		return r;
	}
	return TA_OK;
}

/* Read the DSN file (a secret), connect, wipe the string. */
static int pg_connect(struct pg_store *s, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char *p;
	int r;

	r = ta_file_read(s->dsn_file, TA_FILE_SECRET, PG_DSN_MAX, &buf, &len, err, errlen);
	if (r != TA_OK) {
		set_msg(s, "cannot read the DSN file", err);
		return r;
	}
	for (p = (char *)buf; len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'); len--)
		p[len - 1] = '\0';
	if (len == 0 || memchr(p, '\0', len) != NULL || strchr(p, '\n') != NULL) {
		snprintf(err, errlen, "%s: expected one line with a connection string",
		         s->dsn_file);
		set_msg(s, "bad DSN file", err);
		r = TA_ERR_CONFIG;
	} else if ((r = pg_connect_dsn(s, p)) != TA_OK) {
		snprintf(err, errlen, "%s", s->msg);
	}
	ta_wipe(buf, len);
	free(buf);
	return r;
}

static int read_version(struct pg_store *s, int *exists, int64_t *app, int64_t *version);

/* Whether fd has something to read (data, end of file, an error) now. */
static int readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLHUP | POLLERR));
}

/*
 * Whether an idle connection of ours is still up.  libpq learns that the
 * server ended a session (a restart, pg_terminate_backend) only when it
 * reads from the socket: without this read, the first statement after the
 * server's return would fail, once per connection, while it is up again.
 * An idle session has nothing to read; one the server ended has its
 * farewell message and then the end of the file, two reads.  Never
 * blocks; a few reads at most.
 */
static int conn_up(struct pg_store *s)
{
	if (s->conn == NULL || s->conn_pid != ta_getpid() || PQstatus(s->conn) != CONNECTION_OK)
		return 0;
	if (!s->txn && PQtransactionStatus(s->conn) != PQTRANS_IDLE)
		return 0; /* a transaction we do not know of: never reused */
	for (int i = 0; !s->txn && i < 4 && readable(PQsocket(s->conn)); i++)
		if (!PQconsumeInput(s->conn) || PQstatus(s->conn) != CONNECTION_OK)
			return 0;
	return 1;
}

/*
 * Before each operation: a connection of this process that is up.  One
 * that went away (or a parent's, after fork) is replaced once, here; if
 * that happened inside a transaction, the transaction is lost and every
 * call fails until rollback.
 */
static int ready(struct pg_store *s)
{
	char err[512];
	int64_t app = 0, version = 0;
	int exists = 0, r;

	if (s->lost)
		return TA_ERR_UNAVAILABLE;
	if (conn_up(s))
		return TA_OK;
	drop_conn(s);
	if (s->txn) {
		s->lost = 1;
		set_msg(s, "connection lost inside a transaction", NULL);
		return TA_ERR_UNAVAILABLE;
	}
	if ((r = pg_connect(s, err, sizeof(err))) != TA_OK)
		return r == TA_ERR_NOMEM ? r : TA_ERR_UNAVAILABLE;
	if ((r = read_version(s, &exists, &app, &version)) == TA_OK &&
	    !(exists && app == PG_APP_ID && version == TA_STORE_SCHEMA))
		r = TA_ERR_CORRUPT;
	if (r != TA_OK)
		drop_conn(s); /* the next call checks afresh */
	return r;
}

/* ---- transactions ---------------------------------------------------------------- */

static const char *pg_errmsg(ta_store *st)
{
	return PG(st)->msg[0] ? PG(st)->msg : "no error";
}

/*
 * After a transaction ends on our side: the server's must have ended
 * too.  A COMMIT or ROLLBACK that never reached it (libpq refused to
 * send, out of memory) leaves the server's open, with its locks and its
 * writes; the next BEGIN would only warn, and the next COMMIT would
 * commit what this one reported lost.  Such a connection is dropped:
 * its transaction ends with it.
 */
static void txn_ended(struct pg_store *s)
{
	s->txn = 0;
	if (s->conn != NULL && s->conn_pid == ta_getpid() &&
	    PQtransactionStatus(s->conn) != PQTRANS_IDLE)
		drop_conn(s);
}

static int pg_begin(ta_store *st)
{
	struct pg_store *s = PG(st);
	int r;

	if ((r = ready(s)) != TA_OK)
		return r;
	if ((r = run_cmd(s, "BEGIN ISOLATION LEVEL READ COMMITTED", NULL, 0, NULL)) != TA_OK)
		return r;
	s->txn = 1;
	/* the store lock, exclusive: SQLite's BEGIN IMMEDIATE, and no
	 * begin_user of any user runs beside it */
	if ((r = run_cmd(s, "SELECT pg_advisory_xact_lock(" PG_LOCK_KEY ")", NULL, 0, NULL)) !=
	    TA_OK) {
		run_cmd(s, "ROLLBACK", NULL, 0, NULL);
		txn_ended(s);
	}
	return r;
}

/*
 * The store lock shared, then the user's: one statement, one round trip,
 * the order fixed by the subquery (OFFSET 0 keeps the planner from
 * merging it).  A statement of its own: READ COMMITTED takes a snapshot
 * per statement, so the reads that follow see every earlier writer of
 * this user committed.
 */
#define PG_USER_LOCK                                                                           \
	"SELECT pg_advisory_xact_lock(" PG_LOCK_KEY ", hashtext($1)) FROM (SELECT "              \
	"pg_advisory_xact_lock_shared(" PG_LOCK_KEY "::bigint) OFFSET 0) store_lock"

static int pg_begin_user(ta_store *st, const char *user, const char *tenant)
{
	struct pg_store *s = PG(st);
	/* length-prefixed: ("ab", "c") and ("a", "bc") are other keys */
	char key[TA_MAX_USER + TA_MAX_TENANT + 24];
	const struct param p[1] = {P_TEXT(key)};
	int r;

	snprintf(key, sizeof(key), "%zu:%s%s", strlen(user), user, tenant);
	if ((r = ready(s)) != TA_OK)
		return r;
	if ((r = run_cmd(s, "BEGIN ISOLATION LEVEL READ COMMITTED", NULL, 0, NULL)) != TA_OK)
		return r;
	s->txn = 1;
	if ((r = run_cmd(s, PG_USER_LOCK, p, 1, NULL)) != TA_OK) {
		run_cmd(s, "ROLLBACK", NULL, 0, NULL);
		txn_ended(s);
	}
	return r;
}

static void pg_rollback(ta_store *st);

/* One snapshot for every read of the transaction, and no writes. */
static int pg_begin_read(ta_store *st)
{
	struct pg_store *s = PG(st);
	int r;

	if ((r = ready(s)) != TA_OK ||
	    (r = run_cmd(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL, 0, NULL)) !=
	        TA_OK)
		return r;
	s->txn = 1;
	/* A copy keeps this snapshot open while it writes the destination,
	 * which may take longer than the 5 s idle limit: a read-only snapshot
	 * holds no lock a writer waits for, so it may idle (this transaction
	 * only).  The snapshot is taken by the first query: now, as SQLite's. */
	if ((r = run_cmd(s, "SET LOCAL idle_in_transaction_session_timeout = 0", NULL, 0,
	                 NULL)) != TA_OK ||
	    (r = run_cmd(s, "SELECT 1", NULL, 0, NULL)) != TA_OK)
		pg_rollback(st);
	return r;
}

static void pg_rollback(ta_store *st)
{
	struct pg_store *s = PG(st);

	if (s->txn && !s->lost && s->conn != NULL && s->conn_pid == ta_getpid())
		run_cmd(s, "ROLLBACK", NULL, 0, NULL);
	txn_ended(s);
	s->lost = 0;
}

static int pg_commit(ta_store *st)
{
	struct pg_store *s = PG(st);
	PGresult *res = NULL;
	int r;

	if (!s->txn)
		return TA_OK;
	if (s->lost || s->conn_pid != ta_getpid()) {
		pg_rollback(st);
		return TA_ERR_UNAVAILABLE;
	}
	/* COMMIT of a failed transaction answers ROLLBACK: that is a failure */
	r = run(s, "COMMIT", NULL, 0, &res);
	if (r == TA_OK && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		set_msg(s, "commit rolled back", NULL);
		r = TA_ERR_UNAVAILABLE;
	}
	PQclear(res);
	txn_ended(s);
	return r;
}

/* ---- opening ------------------------------------------------------------------- */

static int read_version(struct pg_store *s, int *exists, int64_t *app, int64_t *version)
{
	PGresult *res = NULL;
	int r;

	*exists = 0;
	r = run(s, "SELECT (to_regclass('tokenauth_schema') IS NOT NULL)", NULL, 0, &res);
	if (r == TA_OK)
		*exists = PQntuples(res) == 1 && get_int(res, 0, 0) == 1;
	PQclear(res);
	res = NULL;
	if (r != TA_OK || !*exists)
		return r;
	r = run(s, "SELECT app, version FROM tokenauth_schema", NULL, 0, &res);
	if (r == TA_OK && (PQntuples(res) != 1 || !is_int_col(res, 0, 0) || !is_int_col(res, 0, 1)))
		r = TA_ERR_CORRUPT;
	if (r == TA_OK) {
		*app = get_int(res, 0, 0);
		*version = get_int(res, 0, 1);
	}
	PQclear(res);
	return r;
}

static int check_version(int create, int exists, int64_t app, int64_t version, char *err,
                         size_t errlen)
{
	if (create && exists) {
		snprintf(err, errlen, "the database already holds a tokenauth store");
		return TA_ERR_EXISTS;
	}
	if (!create && !exists) {
		snprintf(err, errlen, "the database holds no tokenauth store (does not exist)");
		return TA_ERR_NOT_FOUND;
	}
	if (exists && app != PG_APP_ID) {
		snprintf(err, errlen, "not a tokenauth store (application id %lld)",
		         (long long)app);
		return TA_ERR_CORRUPT;
	}
	if (version > TA_STORE_SCHEMA) {
		snprintf(err, errlen,
		         "store schema %lld is newer than this program's (%d); upgrade tokenauth",
		         (long long)version, TA_STORE_SCHEMA);
		return TA_ERR_CORRUPT;
	}
	return TA_OK;
}

static int apply_migrations(struct pg_store *s, int64_t version)
{
	const struct param v[1] = {P_INT(TA_STORE_SCHEMA)};
	int r = TA_OK;

	for (; version < TA_STORE_SCHEMA && r == TA_OK; version++)
		for (const char *const *q = migrations[version]; *q != NULL && r == TA_OK; q++)
			r = run_cmd(s, *q, NULL, 0, NULL);
	if (r == TA_OK)
		r = run_cmd(s, "UPDATE tokenauth_schema SET version=$1", v, 1, NULL);
	return r;
}

/*
 * Check the schema, and create or migrate it under the writers' lock
 * (re-read there: another node may have done it first).  The common case
 * (current) is two reads and no lock.
 */
static int migrate(struct pg_store *s, int mode, char *err, size_t errlen)
{
	int64_t app = 0, version = 0;
	int exists = 0, r, create = mode == TA_STORE_OPEN_CREATE;

	if ((r = read_version(s, &exists, &app, &version)) != TA_OK)
		goto fail;
	if ((r = check_version(create, exists, app, version, err, errlen)) != TA_OK)
		return r;
	if (exists && version == TA_STORE_SCHEMA)
		goto done;
	if (mode == TA_STORE_OPEN_CURRENT || mode == TA_STORE_OPEN_READONLY) {
		ta_store_old_schema((int)version, err, errlen);
		return TA_ERR_CONFIG;
	}
	if ((r = pg_begin(&s->base)) != TA_OK)
		goto fail;
	if ((r = read_version(s, &exists, &app, &version)) != TA_OK)
		goto fail;
	if ((r = check_version(create, exists, app, version, err, errlen)) != TA_OK) {
		pg_rollback(&s->base);
		return r;
	}
	if ((r = apply_migrations(s, exists ? version : 0)) != TA_OK ||
	    (r = pg_commit(&s->base)) != TA_OK)
		goto fail;
done:
	s->base.schema = TA_STORE_SCHEMA;
	return TA_OK;
fail:
	pg_rollback(&s->base);
	snprintf(err, errlen, "cannot read or update the store: %s", s->msg);
	return r;
}

static void pg_close(ta_store *st);

static int pg_identify(const char *path, struct ta_store_id *id, char *err, size_t errlen);

static int pg_open(const char *path, int create, ta_store **out, char *err, size_t errlen)
{
	struct pg_store *s = NULL;
	const char *file = dsn_path(path);
	char msg[512];
	int r;

	*out = NULL;
	if (file[0] != '/') {
		snprintf(err, errlen,
		         "%s: expected postgresql:/path/of/a/dsn/file "
		         "(store = postgresql: needs store_dsn_file)",
		         path);
		return TA_ERR_CONFIG;
	}
	if ((r = ta_lazy_pq(msg, sizeof(msg))) != TA_OK) {
		snprintf(err, errlen, "%s: the PostgreSQL store needs libpq: %s", path, msg);
		return r;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->dsn_file = strdup(file)) == NULL) {
		r = TA_ERR_NOMEM;
		goto out;
	}
	s->ro = create == TA_STORE_OPEN_READONLY;
	if ((r = pg_identify(path, &s->base.id, err, errlen)) != TA_OK)
		goto out;
	if ((r = pg_connect(s, msg, sizeof(msg))) != TA_OK) {
		snprintf(err, errlen, "%s", r == TA_ERR_UNAVAILABLE ? s->msg : msg);
		goto out;
	}
	if ((r = migrate(s, create, msg, sizeof(msg))) != TA_OK) {
		snprintf(err, errlen, "%s: %s", path, msg);
		goto out;
	}
	*out = &s->base;
	s = NULL;
out:
	pg_close(s ? &s->base : NULL);
	return r;
}

static void pg_close(ta_store *st)
{
	struct pg_store *s = PG(st);

	if (s == NULL)
		return;
	pg_rollback(st);
	drop_conn(s);
	free(s->dsn_file);
	free(s);
}

/* ---- reuse of a pooled handle -------------------------------------------------- */

/* The identity of the DSN file: pooled handles are keyed by it. */
static int pg_identify(const char *path, struct ta_store_id *id, char *err, size_t errlen)
{
	return ta_store_file_id(dsn_path(path), id, err, errlen);
}

/* A live connection (reopened once if it went away) and the current schema. */
static int pg_recheck(ta_store *st, const char *path, const struct ta_store_id *now, char *err,
                      size_t errlen)
{
	struct pg_store *s = PG(st);
	int64_t app = 0, version = 0;
	int exists = 0, r;

	int fd = -1;

	(void)path;
	(void)now; /* the DSN file is opened and checked whole again */
	/* the DSN file as a fresh open would check it (a secret: owner, mode) */
	if ((r = ta_file_open(s->dsn_file, O_PATH, TA_FILE_SECRET, &fd, err, errlen)) != TA_OK)
		return r;
	close(fd);
	if ((r = ready(s)) != TA_OK || (r = read_version(s, &exists, &app, &version)) != TA_OK) {
		snprintf(err, errlen, "%s", s->msg);
		return r;
	}
	return exists && app == PG_APP_ID && version == TA_STORE_SCHEMA ? TA_OK : TA_ERR_CORRUPT;
}

static int pg_idle(ta_store *st)
{
	struct pg_store *s = PG(st);

	pg_rollback(st);
	if (s->conn == NULL || s->conn_pid != ta_getpid() || PQstatus(s->conn) != CONNECTION_OK ||
	    PQtransactionStatus(s->conn) != PQTRANS_IDLE)
		return TA_ERR_UNAVAILABLE;
	return TA_OK;
}

/* ---- tokens ---------------------------------------------------------------------- */

#define TOKEN_COLS "id,\"user\",tenant,kind,created,expires,revoked,params,label,last_used"

/* TA_ERR_NOMEM when the row has params and they could not be copied. */
static int read_token_row(const PGresult *res, int i, struct ta_token_row *row, int with_params)
{
	copy_col(res, i, 0, row->id, sizeof(row->id));
	copy_col(res, i, 1, row->user, sizeof(row->user));
	copy_col(res, i, 2, row->tenant, sizeof(row->tenant));
	row->kind = (int)get_int(res, i, 3);
	row->created = get_int(res, i, 4);
	row->expires = get_int(res, i, 5);
	row->revoked = get_int(res, i, 6);
	copy_col(res, i, 8, row->label, sizeof(row->label));
	row->last_used = get_int(res, i, 9);
	row->params = NULL;
	if (!with_params || PQgetisnull(res, i, 7))
		return TA_OK;
	row->params = strdup(PQgetvalue(res, i, 7));
	return row->params != NULL ? TA_OK : TA_ERR_NOMEM;
}

static int pg_token_find(ta_store *st, const uint8_t hash[TA_SHA256_LEN], int want_params,
                         struct ta_token_row *row)
{
	const struct param p[1] = {P_BLOB(hash, TA_SHA256_LEN)};
	PGresult *res = NULL;
	int r;

	if ((r = ready(PG(st))) != TA_OK ||
	    (r = run(PG(st), "SELECT " TOKEN_COLS " FROM tokens WHERE hash=$1", p, 1, &res)) !=
	        TA_OK)
		return r;
	r = PQntuples(res) == 1 ? read_token_row(res, 0, row, want_params) : TA_ERR_NOT_FOUND;
	PQclear(res);
	return r;
}

static int pg_token_revoke_id(ta_store *st, const char *id, int64_t now)
{
	const struct param p[2] = {P_INT(now), P_TEXT(id)};
	PGresult *res = NULL;
	unsigned n = 0;
	int r;

	if ((r = ready(PG(st))) != TA_OK ||
	    (r = run_cmd(PG(st), "UPDATE tokens SET revoked=$1 WHERE id=$2 AND revoked=0", p, 2,
	                 &n)) != TA_OK ||
	    n > 0)
		return r;
	/* Distinguish "no such id" from "already revoked". */
	if ((r = run(PG(st), "SELECT 1 FROM tokens WHERE id=$1", p + 1, 1, &res)) != TA_OK)
		return r;
	r = PQntuples(res) > 0 ? TA_ERR_REVOKED : TA_ERR_NOT_FOUND;
	PQclear(res);
	return r;
}

static int pg_token_revoke_user(ta_store *st, const char *user, const char *tenant, int64_t now,
                                unsigned *count)
{
	const struct param p[3] = {P_INT(now), P_TEXT(user), P_TEXT(tenant)};
	int r;

	if ((r = ready(PG(st))) != TA_OK)
		return r;
	if (tenant == NULL)
		return run_cmd(PG(st),
		               "UPDATE tokens SET revoked=$1 WHERE \"user\"=$2 AND revoked=0", p, 2,
		               count);
	return run_cmd(PG(st),
	               "UPDATE tokens SET revoked=$1 WHERE \"user\"=$2 AND tenant=$3 AND revoked=0",
	               p, 3, count);
}

static int pg_has_credential(ta_store *st, const char *user, const char *tenant, int *has)
{
	const struct param p[2] = {P_TEXT(user), P_TEXT(tenant)};
	PGresult *res = NULL;
	int r;

	if ((r = ready(PG(st))) != TA_OK ||
	    (r = run(PG(st),
	             "SELECT (EXISTS(SELECT 1 FROM tokens WHERE \"user\"=$1 AND tenant=$2) OR "
	             "EXISTS(SELECT 1 FROM otp WHERE \"user\"=$1 AND tenant=$2))",
	             p, 2, &res)) != TA_OK)
		return r;
	if (PQntuples(res) == 1)
		*has = get_int(res, 0, 0) != 0;
	else
		r = TA_ERR_UNAVAILABLE;
	PQclear(res);
	return r;
}

/* ---- OTP ------------------------------------------------------------------------- */

#define OTP_COLS "type,alg,digits,period,next,created,secret"

/* As in store_sqlite.c: a negative next is a damaged row, never a small counter. */
static int read_otp_row(const PGresult *res, int i, int col, struct ta_otp_row *row)
{
	int64_t next = get_int(res, i, col + 4);
	int n = PQgetlength(res, i, col + 6);

	row->p.type = (ta_otp_type)get_int(res, i, col + 0);
	row->p.alg = (ta_hash_alg)get_int(res, i, col + 1);
	row->p.digits = (unsigned)get_int(res, i, col + 2);
	row->p.period = (unsigned)get_int(res, i, col + 3);
	row->next = next < 0 ? 0 : (uint64_t)next;
	row->created = get_int(res, i, col + 5);
	if (next < 0 || PQgetisnull(res, i, col + 6) || n <= 0 || (size_t)n > sizeof(row->sealed) ||
	    (row->p.type != TA_OTP_HOTP && row->p.type != TA_OTP_TOTP) ||
	    ta_hash_len(row->p.alg) == 0 || row->p.digits < 6 || row->p.digits > 8 ||
	    (row->p.type == TA_OTP_TOTP && row->p.period == 0))
		return TA_ERR_CORRUPT;
	memcpy(row->sealed, PQgetvalue(res, i, col + 6), (size_t)n);
	row->sealed_len = (size_t)n;
	return TA_OK;
}

static int pg_otp_get(ta_store *st, const char *user, const char *tenant, struct ta_otp_row *row)
{
	const struct param p[2] = {P_TEXT(user), P_TEXT(tenant)};
	PGresult *res = NULL;
	int r;

	if ((r = ready(PG(st))) != TA_OK ||
	    (r = run(PG(st), "SELECT " OTP_COLS " FROM otp WHERE \"user\"=$1 AND tenant=$2", p, 2,
	             &res)) != TA_OK)
		return r;
	r = PQntuples(res) == 1 ? read_otp_row(res, 0, 0, row) : TA_ERR_NOT_FOUND;
	if (PQntuples(res) >= 1) /* the sealed secret */
		ta_wipe(PQgetvalue(res, 0, 6), (size_t)PQgetlength(res, 0, 6));
	PQclear(res);
	return r;
}

static int pg_otp_put(ta_store *st, const char *user, const char *tenant,
                      const struct ta_otp_row *row, int replace)
{
	const struct param p[9] = {
	    P_TEXT(user),      P_TEXT(tenant),       P_INT(row->p.type),
	    P_INT(row->p.alg), P_INT(row->p.digits), P_INT(row->p.period),
	    P_INT(row->next),  P_INT(row->created),  P_BLOB(row->sealed, row->sealed_len)};
	unsigned n = 0;
	int r;

	if ((r = ready(PG(st))) != TA_OK)
		return r;
	r = run_cmd(PG(st),
	            replace
	                ? "INSERT INTO otp(\"user\",tenant,type,alg,digits,period,next,created,"
	                  "secret) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT(\"user\",tenant) "
	                  "DO UPDATE SET type=$3,alg=$4,digits=$5,period=$6,next=$7,created=$8,"
	                  "secret=$9"
	                : "INSERT INTO otp(\"user\",tenant,type,alg,digits,period,next,created,"
	                  "secret) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT DO NOTHING",
	            p, 9, &n);
	return r == TA_OK && n != 1 ? TA_ERR_EXISTS : r;
}

/*
 * next is 1..INT64_MAX here (store.c refuses the rest as replays).  One
 * conditional statement: the row moves only if next is past it, and only
 * one of two racing logins can see its row change.
 */
static int pg_otp_advance(ta_store *st, const char *user, const char *tenant, uint64_t next)
{
	const struct param p[3] = {P_TEXT(user), P_TEXT(tenant), P_INT((int64_t)next)};
	unsigned changed = 0;
	int r;

	if ((r = ready(PG(st))) != TA_OK ||
	    (r = run_cmd(PG(st),
	                 "UPDATE otp SET next=$3 WHERE \"user\"=$1 AND tenant=$2 AND next>=0 AND "
	                 "next<$3",
	                 p, 3, &changed)) != TA_OK)
		return r;
	return changed == 1 ? TA_OK : TA_ERR_REPLAY;
}

static int pg_otp_delete(ta_store *st, const char *user, const char *tenant)
{
	const struct param p[2] = {P_TEXT(user), P_TEXT(tenant)};
	unsigned n = 0;
	int r;

	if ((r = ready(PG(st))) != TA_OK ||
	    (r = run_cmd(PG(st), "DELETE FROM otp WHERE \"user\"=$1 AND tenant=$2", p, 2, &n)) !=
	        TA_OK)
		return r;
	return n == 0 ? TA_ERR_NOT_FOUND : TA_OK;
}

/* ---- lists ----------------------------------------------------------------------- */

/* The whole result is fetched at open: a callback may use the store. */
struct pg_cursor {
	PGresult *res;
	int row;
	enum ta_store_list what;
};

static const char *list_sql(enum ta_store_list what, int one_user)
{
	static const char *const sql[4][2] = {
	    {"SELECT " TOKEN_COLS " FROM tokens ORDER BY \"user\",tenant,created,id",
	     "SELECT " TOKEN_COLS " FROM tokens WHERE \"user\"=$1 ORDER BY \"user\",tenant,created,"
	     "id"},
	    {"SELECT \"user\",tenant," OTP_COLS " FROM otp ORDER BY \"user\",tenant",
	     "SELECT \"user\",tenant," OTP_COLS " FROM otp WHERE \"user\"=$1 ORDER BY "
	     "\"user\",tenant"},
	    {"SELECT " TOKEN_COLS ",hash FROM tokens ORDER BY hash", NULL},
	    {"SELECT \"user\",tenant,failures,lockouts,locked_until,updated,capped FROM throttle "
	     "ORDER BY "
	     "\"user\",tenant",
	     NULL},
	};

	return sql[what][one_user];
}

static int pg_list_open(ta_store *st, enum ta_store_list what, const char *user, void **cur)
{
	const char *sql = list_sql(what, user != NULL);
	const struct param p[1] = {P_TEXT(user)};
	struct pg_cursor *c = NULL;
	PGresult *res = NULL;
	int r;

	*cur = NULL;
	if (sql == NULL)
		return TA_ERR_INPUT;
	if ((r = ready(PG(st))) != TA_OK || (r = run(PG(st), sql, p, user != NULL, &res)) != TA_OK)
		return r;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		PQclear(res);
		return TA_ERR_NOMEM;
	}
	c->res = res;
	c->what = what;
	*cur = c;
	return TA_OK;
}

/* A text column that a buffer of cap bytes holds whole. */
static int text_fits(const PGresult *res, int i, int col, size_t cap)
{
	return !PQgetisnull(res, i, col) && (size_t)PQgetlength(res, i, col) < cap &&
	       strlen(PQgetvalue(res, i, col)) == (size_t)PQgetlength(res, i, col);
}

static int ints_ok(const PGresult *res, int i, int from, int to)
{
	for (int col = from; col <= to; col++)
		if (!is_int_col(res, i, col))
			return 0;
	return 1;
}

/* A whole token row (the copy path): nothing cut, the hash exactly. */
static int read_token_all(const PGresult *res, int i, struct ta_store_item *it)
{
	if (!text_fits(res, i, 0, sizeof(it->token.id)) ||
	    !text_fits(res, i, 1, sizeof(it->token.user)) ||
	    !text_fits(res, i, 2, sizeof(it->token.tenant)) || !ints_ok(res, i, 3, 6) ||
	    (!PQgetisnull(res, i, 7) && !text_fits(res, i, 7, TA_MAX_PARAMS + 1)) ||
	    (!PQgetisnull(res, i, 8) && !text_fits(res, i, 8, TA_MAX_LABEL + 1)) ||
	    !ints_ok(res, i, 9, 9) || PQgetisnull(res, i, 10) ||
	    PQgetlength(res, i, 10) != TA_SHA256_LEN)
		return TA_ERR_CORRUPT;
	memcpy(it->hash, PQgetvalue(res, i, 10), TA_SHA256_LEN);
	return read_token_row(res, i, &it->token, 1);
}

static int read_throttle_all(const PGresult *res, int i, struct ta_store_item *it)
{
	int64_t f = get_int(res, i, 2), l = get_int(res, i, 3);

	if (!text_fits(res, i, 0, TA_MAX_USER + 1) || !text_fits(res, i, 1, TA_MAX_TENANT + 1) ||
	    !ints_ok(res, i, 2, 6) || f < 0 || f > INT32_MAX || l < 0 || l > INT32_MAX ||
	    (get_int(res, i, 6) & ~(int64_t)1) != 0)
		return TA_ERR_CORRUPT;
	it->user = PQgetvalue(res, i, 0);
	it->tenant = PQgetvalue(res, i, 1);
	it->thr.t.failures = (unsigned)f;
	it->thr.t.lockouts = (unsigned)l;
	it->thr.t.locked_until = get_int(res, i, 4);
	it->thr.updated = get_int(res, i, 5);
	it->thr.capped = (int)get_int(res, i, 6);
	return TA_OK;
}

static int pg_list_next(void *cur, struct ta_store_item *it)
{
	struct pg_cursor *c = cur;
	int i = c->row, r;

	if (i >= PQntuples(c->res))
		return 0;
	c->row++;
	switch (c->what) {
	case TA_STORE_LIST_TOKENS: r = read_token_row(c->res, i, &it->token, 1); break;
	case TA_STORE_LIST_TOKENS_ALL: r = read_token_all(c->res, i, it); break;
	case TA_STORE_LIST_THROTTLE_ALL: r = read_throttle_all(c->res, i, it); break;
	default:
		it->user = PQgetvalue(c->res, i, 0);
		it->tenant = PQgetvalue(c->res, i, 1);
		r = read_otp_row(c->res, i, 2, &it->otp);
	}
	return r == TA_OK ? 1 : r;
}

static void pg_list_close(void *cur)
{
	struct pg_cursor *c = cur;

	if (c == NULL)
		return;
	if (c->what == TA_STORE_LIST_OTP) /* the sealed secrets */
		for (int i = 0; i < PQntuples(c->res); i++)
			ta_wipe(PQgetvalue(c->res, i, 8), (size_t)PQgetlength(c->res, i, 8));
	PQclear(c->res);
	free(c);
}

/* ---- throttle -------------------------------------------------------------------- */

static int pg_throttle_get(ta_store *st, const char *user, const char *tenant,
                           struct ta_throttle *t)
{
	const struct param p[2] = {P_TEXT(user), P_TEXT(tenant)};
	PGresult *res = NULL;
	int r;

	memset(t, 0, sizeof(*t));
	if ((r = ready(PG(st))) != TA_OK ||
	    (r = run(PG(st),
	             "SELECT failures,lockouts,locked_until FROM throttle WHERE \"user\"=$1 AND "
	             "tenant=$2",
	             p, 2, &res)) != TA_OK)
		return r;
	if (PQntuples(res) == 1) {
		t->failures = (unsigned)get_int(res, 0, 0);
		t->lockouts = (unsigned)get_int(res, 0, 1);
		t->locked_until = get_int(res, 0, 2);
	}
	PQclear(res);
	return TA_OK;
}

/* One query's first value (a count, or whether a row exists). */
static int query_int(struct pg_store *s, const char *sql, const struct param *p, int n, int64_t *v,
                     int *rows)
{
	PGresult *res = NULL;
	int r = run(s, sql, p, n, &res);

	if (r == TA_OK) {
		*rows = PQntuples(res);
		*v = *rows > 0 ? get_int(res, 0, 0) : 0;
	}
	PQclear(res);
	return r;
}

/*
 * The capped rows' bound (as store_sqlite.c's): at the cap a new row of a
 * user not enrolled here takes the place of the unlocked one of theirs
 * whose time to go came first (an hour after its last write, and the hour
 * doubled per lockout held after its lockout's end: PG_EVICT_AT, as
 * store_sqlite.c's Q_THROTTLE_EVICT says why; one seek in
 * throttle_evict), once that time has come; TA_ERR_EXISTS when there is
 * none (every capped row locked or younger).  Enrolled users' rows are
 * neither counted nor given up: made-up names must not push out a real user's streak.  Under
 * PG_CAP_KEY, taken here after the user's lock and before any row lock:
 * every capped insert counts and evicts alone, so the bound holds across
 * nodes.  The victim is one no writer holds (SKIP
 * LOCKED: it is being written, so not the oldest for long).
 */
static int throttle_room(struct pg_store *s, int64_t now)
{
	const struct param p[1] = {P_INT(now)};
	int64_t v = 0;
	unsigned evicted = 0;
	int rows = 0, r;

	if ((r = run_cmd(s, "SELECT pg_advisory_xact_lock(" PG_CAP_KEY ")", NULL, 0, NULL)) !=
	        TA_OK ||
	    (r = query_int(s, "SELECT count(*) FROM throttle WHERE capped=1", NULL, 0, &v,
	                   &rows)) != TA_OK ||
	    (uint64_t)v < s->base.throttle_cap)
		return r;
	if ((r = run_cmd(s,
	                 "DELETE FROM throttle WHERE (\"user\",tenant) IN (SELECT \"user\",tenant "
	                 "FROM throttle WHERE capped=1 AND " PG_EVICT_AT
	                 "<=$1 ORDER BY " PG_EVICT_AT " LIMIT 1 FOR UPDATE SKIP LOCKED)",
	                 p, 1, &evicted)) != TA_OK)
		return r;
	return evicted > 0 ? TA_OK : TA_ERR_EXISTS;
}

/* A whole throttle row, written over the one there ($1..$7 as below). */
#define THROTTLE_UPSERT                                                                            \
	"INSERT INTO throttle(\"user\",tenant,failures,lockouts,locked_until,updated,capped) "     \
	"VALUES($1,$2,$3,$4,$5,$6,$7) ON CONFLICT(\"user\",tenant) DO UPDATE SET "                 \
	"failures=$3,lockouts=$4,locked_until=$5,updated=$6,capped=$7"

/*
 * The row first, then stale streaks forgotten (a few, idle for
 * TA_THROTTLE_IDLE and unlocked).  A capped row that is not there (or went
 * away since the caller read it: an eviction, a sweep, an unlock) is a
 * new row and needs room; an update needs none.  The sweep comes last
 * and skips rows another writer holds: it waits for nobody, so whoever
 * waits for a row it holds waits for a commit, never in a cycle.
 */
/* Forget a few streaks idle for TA_THROTTLE_IDLE and not locked. */
static int throttle_sweep(struct pg_store *s, int64_t now)
{
	const struct param ex[2] = {P_INT(now - TA_THROTTLE_IDLE), P_INT(now)};

	return run_cmd(s,
	               "DELETE FROM throttle WHERE (\"user\",tenant) IN (SELECT \"user\",tenant "
	               "FROM throttle WHERE updated<$1 AND locked_until<=$2 ORDER BY updated "
	               "LIMIT 8 FOR UPDATE SKIP LOCKED)",
	               ex, 2, NULL);
}

/*
 * A new capped row is written after the sweep, as in SQLite: a row the
 * sweep forgets (idle a day, its lockout over) is no longer counted nor
 * kept at the cap.  Before, PostgreSQL swept only after a write, so a full
 * table kept such rows until their eviction rank, up to a day longer than
 * SQLite (helper-54 F1).
 */
static int throttle_write(struct pg_store *s, const char *user, const char *tenant,
                          const struct ta_throttle *t, int64_t now, int capped)
{
	const struct param p[7] = {P_TEXT(user),       P_TEXT(tenant),         P_INT(t->failures),
	                           P_INT(t->lockouts), P_INT(t->locked_until), P_INT(now),
	                           P_INT(capped != 0)};
	unsigned n = 0;
	int r;

	if (capped &&
	    (r = run_cmd(s,
	                 "UPDATE throttle SET failures=$3,lockouts=$4,locked_until=$5,updated=$6,"
	                 "capped=$7 WHERE \"user\"=$1 AND tenant=$2",
	                 p, 7, &n)) != TA_OK)
		return r;
	if (n == 0 && capped)
		return (r = throttle_sweep(s, now)) != TA_OK || (r = throttle_room(s, now)) != TA_OK
		           ? r
		           : run_cmd(s, THROTTLE_UPSERT, p, 7, NULL);
	if (n == 0 && (r = run_cmd(s, THROTTLE_UPSERT, p, 7, NULL)) != TA_OK)
		return r;
	return throttle_sweep(s, now);
}

/* In the caller's transaction, or in one of the user's own. */
static int pg_throttle_put(ta_store *st, const char *user, const char *tenant,
                           const struct ta_throttle *t, int64_t now, int capped)
{
	struct pg_store *s = PG(st);
	int r, own = !s->txn;

	if ((r = ready(s)) != TA_OK || (own && (r = pg_begin_user(st, user, tenant)) != TA_OK))
		return r;
	r = throttle_write(s, user, tenant, t, now, capped);
	if (own) {
		if (r == TA_OK)
			r = pg_commit(st);
		else
			pg_rollback(st);
	}
	return r;
}

static int pg_throttle_clear(ta_store *st, const char *user, const char *tenant, unsigned *count)
{
	const struct param p[2] = {P_TEXT(user), P_TEXT(tenant)};
	int r;

	if ((r = ready(PG(st))) != TA_OK)
		return r;
	if (tenant == NULL)
		return run_cmd(PG(st), "DELETE FROM throttle WHERE \"user\"=$1", p, 1, count);
	return run_cmd(PG(st), "DELETE FROM throttle WHERE \"user\"=$1 AND tenant=$2", p, 2, count);
}

/* ---- the copy path ------------------------------------------------------------- */

static int pg_count(ta_store *st, struct ta_store_count *n)
{
	PGresult *res = NULL;
	int r;

	if ((r = ready(PG(st))) != TA_OK ||
	    (r = run(PG(st),
	             "SELECT (SELECT count(*) FROM tokens),(SELECT count(*) FROM otp),"
	             "(SELECT count(*) FROM throttle),(SELECT count(*) FROM sessions)",
	             NULL, 0, &res)) != TA_OK)
		return r;
	if (PQntuples(res) == 1 && ints_ok(res, 0, 0, 3)) {
		n->tokens = (unsigned long)get_int(res, 0, 0);
		n->otp = (unsigned long)get_int(res, 0, 1);
		n->throttle = (unsigned long)get_int(res, 0, 2);
		n->sessions = (unsigned long)get_int(res, 0, 3);
	} else {
		r = TA_ERR_UNAVAILABLE;
	}
	PQclear(res);
	return r;
}

/* ON CONFLICT: a duplicate must not abort the caller's transaction. */
static int pg_token_put(ta_store *st, const uint8_t hash[TA_SHA256_LEN],
                        const struct ta_token_row *row, int replace)
{
	const struct param p[11] = {
	    P_BLOB(hash, TA_SHA256_LEN), P_TEXT(row->id),      P_TEXT(row->user),
	    P_TEXT(row->tenant),         P_INT(row->kind),     P_INT(row->created),
	    P_INT(row->expires),         P_INT(row->revoked),  P_TEXT(row->params),
	    P_TEXT(row->label[0] ? row->label : NULL), P_INT(row->last_used)};
	unsigned n = 0;
	int r;

	if ((r = ready(PG(st))) != TA_OK ||
	    (replace &&
	     (r = run_cmd(PG(st), "DELETE FROM tokens WHERE hash=$1 OR id=$2", p, 2, NULL)) !=
	         TA_OK) ||
	    (r = run_cmd(PG(st),
	                 "INSERT INTO tokens(hash,id,\"user\",tenant,kind,created,expires,revoked,"
	                 "params,label,last_used) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) "
	                 "ON CONFLICT DO NOTHING",
	                 p, 11, &n)) != TA_OK)
		return r;
	return n == 1 ? TA_OK : TA_ERR_EXISTS;
}

static int pg_throttle_row_put(ta_store *st, const char *user, const char *tenant,
                               const struct ta_throttle_row *t, int replace)
{
	const struct param p[7] = {
	    P_TEXT(user),         P_TEXT(tenant),           P_INT(t->t.failures),
	    P_INT(t->t.lockouts), P_INT(t->t.locked_until), P_INT(t->updated),
	    P_INT(t->capped != 0)};
	unsigned n = 0;
	int r;

	if ((r = ready(PG(st))) != TA_OK)
		return r;
	r = run_cmd(PG(st),
	            replace ? THROTTLE_UPSERT
	                    : "INSERT INTO throttle(\"user\",tenant,failures,lockouts,locked_until,"
	                      "updated,capped) VALUES($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING",
	            p, 7, &n);
	return r == TA_OK && n != 1 ? TA_ERR_EXISTS : r;
}

/* ---- schema 4: last use, sessions ------------------------------------------------ */

static int pg_token_touch(ta_store *st, const char *id, int64_t now)
{
	const struct param p[3] = {P_INT(now), P_TEXT(id), P_INT(TA_LAST_USED_STEP)};
	int r;

	if ((r = ready(PG(st))) != TA_OK)
		return r;
	return run_cmd(PG(st), "UPDATE tokens SET last_used=$1 WHERE id=$2 AND last_used<=$1-$3",
	               p, 3, NULL);
}

static int pg_session_put(ta_store *st, const uint8_t hash[TA_SHA256_LEN], const char *user,
                          const char *tenant, int64_t now)
{
	const struct param p[4] = {P_BLOB(hash, TA_SHA256_LEN), P_TEXT(user), P_TEXT(tenant),
	                           P_INT(now)};
	unsigned n = 0;
	int r;

	if ((r = ready(PG(st))) != TA_OK ||
	    (r = run_cmd(PG(st),
	                 "INSERT INTO sessions(hash,\"user\",tenant,created,seen) "
	                 "VALUES($1,$2,$3,$4,$4) ON CONFLICT DO NOTHING",
	                 p, 4, &n)) != TA_OK)
		return r;
	return n == 1 ? TA_OK : TA_ERR_EXISTS;
}

static int pg_session_get(ta_store *st, const uint8_t hash[TA_SHA256_LEN],
                          struct ta_session_row *row)
{
	const struct param p[1] = {P_BLOB(hash, TA_SHA256_LEN)};
	PGresult *res = NULL;
	int r;

	if ((r = ready(PG(st))) != TA_OK ||
	    (r = run(PG(st), "SELECT \"user\",tenant,created,seen FROM sessions WHERE hash=$1", p,
	             1, &res)) != TA_OK)
		return r;
	if (PQntuples(res) != 1)
		r = TA_ERR_NOT_FOUND;
	else if (!text_fits(res, 0, 0, sizeof(row->user)) ||
	         !text_fits(res, 0, 1, sizeof(row->tenant)) || !ints_ok(res, 0, 2, 3))
		r = TA_ERR_CORRUPT;
	else {
		copy_col(res, 0, 0, row->user, sizeof(row->user));
		copy_col(res, 0, 1, row->tenant, sizeof(row->tenant));
		row->created = get_int(res, 0, 2);
		row->seen = get_int(res, 0, 3);
	}
	PQclear(res);
	return r;
}

static int pg_session_touch(ta_store *st, const uint8_t hash[TA_SHA256_LEN], int64_t now)
{
	const struct param p[2] = {P_BLOB(hash, TA_SHA256_LEN), P_INT(now)};
	int r;

	if ((r = ready(PG(st))) != TA_OK)
		return r;
	return run_cmd(PG(st), "UPDATE sessions SET seen=$2 WHERE hash=$1", p, 2, NULL);
}

static int pg_session_delete(ta_store *st, const uint8_t hash[TA_SHA256_LEN])
{
	const struct param p[1] = {P_BLOB(hash, TA_SHA256_LEN)};
	int r;

	if ((r = ready(PG(st))) != TA_OK)
		return r;
	return run_cmd(PG(st), "DELETE FROM sessions WHERE hash=$1", p, 1, NULL);
}

static int pg_session_purge(ta_store *st, int64_t seen_before, int64_t created_before,
                            unsigned *count)
{
	const struct param p[2] = {P_INT(seen_before), P_INT(created_before)};
	int r;

	if ((r = ready(PG(st))) != TA_OK)
		return r;
	return run_cmd(PG(st), "DELETE FROM sessions WHERE seen<$1 OR created<$2", p, 2, count);
}

const struct ta_store_ops ta_store_postgresql = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .identify = pg_identify,
    .recheck = pg_recheck,
    .idle = pg_idle,
    .errmsg = pg_errmsg,
    .begin = pg_begin,
    .begin_user = pg_begin_user,
    .begin_read = pg_begin_read,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .count = pg_count,
    .token_put = pg_token_put,
    .token_find = pg_token_find,
    .token_revoke_id = pg_token_revoke_id,
    .token_revoke_user = pg_token_revoke_user,
    .has_credential = pg_has_credential,
    .list_open = pg_list_open,
    .list_next = pg_list_next,
    .list_close = pg_list_close,
    .otp_get = pg_otp_get,
    .otp_put = pg_otp_put,
    .otp_advance = pg_otp_advance,
    .otp_delete = pg_otp_delete,
    .throttle_get = pg_throttle_get,
    .throttle_put = pg_throttle_put,
    .throttle_row_put = pg_throttle_row_put,
    .throttle_clear = pg_throttle_clear,
    .token_touch = pg_token_touch,
    .session_put = pg_session_put,
    .session_get = pg_session_get,
    .session_touch = pg_session_touch,
    .session_delete = pg_session_delete,
    .session_purge = pg_session_purge,
};
